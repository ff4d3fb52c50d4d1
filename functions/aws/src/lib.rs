//! Fieldline's AWS wiring, shared by the Lambda functions and the admin CLI: the AWS
//! configuration loaded once per process, the DynamoDB + S3 stores behind the ports, and the
//! token key read from Secrets Manager. No Lambda runtime here, so the CLI can administer an
//! AWS deployment without linking it.

use anyhow::Context;
use fieldline_app::config::StorageBackend;
use fieldline_app::{Config, Stores};
use fieldline_store_aws::{DynamoStore, S3BlobStore, SdkConfig, sdk_config};
use std::sync::Arc;

/// A configuration resolved against AWS and the stores it names.
pub struct Connected {
    /// With the token key filled in from Secrets Manager when `auth.jwt_secret_arn` names it.
    pub config: Config,
    pub stores: Stores,
    /// The bucket again, typed: the upload check needs its object-level calls.
    pub s3: S3BlobStore,
}

/// Loads the AWS configuration once, reads the token key and builds the stores.
pub async fn connect(mut config: Config) -> anyhow::Result<Connected> {
    let sdk = load_sdk_config(&config).await;
    resolve_jwt_secret(&mut config, &secrets_client(&sdk)).await?;
    let (stores, s3) = aws_stores(&config, &sdk)?;
    Ok(Connected { config, stores, s3 })
}

/// The DynamoDB + S3 stores for `config.storage`, with clients built from `sdk`.
pub fn aws_stores(config: &Config, sdk: &SdkConfig) -> anyhow::Result<(Stores, S3BlobStore)> {
    anyhow::ensure!(
        config.storage.backend == StorageBackend::Aws,
        "storage.backend must be \"aws\" to connect to AWS"
    );
    let dynamo = DynamoStore::from_config(sdk, &config.storage.table);
    let path_style = config.storage.endpoint.is_some();
    let s3 = S3BlobStore::from_config(sdk, &config.storage.bucket, path_style);
    Ok((stores_of(dynamo, s3.clone()), s3))
}

/// The AWS configuration for `config.storage` (its endpoint, if any), loaded once per
/// process: credentials, region and retry settings every client shares.
pub async fn load_sdk_config(config: &Config) -> SdkConfig {
    sdk_config(config.storage.endpoint.as_deref()).await
}

/// Every port on DynamoDB, blobs on S3.
pub fn stores_of(dynamo: DynamoStore, s3: S3BlobStore) -> Stores {
    Stores::single(Arc::new(dynamo), Arc::new(s3), "dynamodb")
}

/// Reads the token key from Secrets Manager when `auth.jwt_secret_arn` names it (once per
/// cold start), so the key is never part of the functions' configuration.
pub async fn resolve_jwt_secret(
    config: &mut Config,
    secrets: &aws_sdk_secretsmanager::Client,
) -> anyhow::Result<()> {
    let Some(arn) = config.auth.jwt_secret_arn.clone() else {
        return Ok(());
    };
    let secret = secrets
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .with_context(|| format!("reading the token key from {arn}"))?;
    let value = secret
        .secret_string()
        .with_context(|| format!("{arn} holds no string"))?;
    config.auth.jwt_secret = Some(value.trim().to_owned());
    Ok(())
}

/// A Secrets Manager client sharing the process's AWS configuration.
pub fn secrets_client(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(sdk)
}
