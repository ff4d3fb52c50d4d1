//! Attachments in S3 under a per-tenant prefix (`t/{tenant}/{path}`). Phones upload and
//! download through presigned URLs the API hands out; the signature covers the content type
//! and the exact length, so a URL issued for a 2 MB JPEG cannot carry 2 GB of anything else.

use crate::table::backend;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use fieldline_domain::TenantId;
use fieldline_store::error::StoreResult;
use fieldline_store::{BlobKey, BlobMeta, BlobStore, PresignedRequest, StoreError};
use std::time::Duration;

/// Presigned URLs live at most this long, whatever the caller asks for.
pub const MAX_PRESIGN: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// A client from an already loaded configuration (see [`crate::sdk_config`]).
    /// `path_style` addresses the bucket in the path, as local servers need.
    pub fn from_config(config: &aws_config::SdkConfig, bucket: &str, path_style: bool) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        Self::new(Client::from_conf(s3), bucket)
    }

    /// A client for a local S3-protocol server (moto in the tests) with dummy credentials.
    pub async fn connect_local(endpoint: &str, bucket: &str) -> Self {
        Self::from_config(&crate::local_sdk_config(endpoint).await, bucket, true)
    }

    /// Creates the bucket (tests and local runs; production buckets come from the template).
    pub async fn create_bucket(&self) -> StoreResult<()> {
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn object_key(key: &BlobKey) -> String {
        object_key(key)
    }

    /// The blob key of an object key (`t/{tenant}/{path}`); `None` outside that layout.
    pub fn blob_key_of(object_key: &str) -> Option<BlobKey> {
        let rest = object_key.strip_prefix("t/")?;
        let (tenant, path) = rest.split_once('/')?;
        BlobKey::parse(TenantId::parse(tenant).ok()?, path)
    }

    /// Size, content type, ETag and the first `head_len` bytes of an object, without
    /// downloading the rest (the upload check needs only the magic bytes).
    pub async fn inspect(
        &self,
        key: &BlobKey,
        head_len: usize,
    ) -> StoreResult<Option<ObjectSummary>> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .range(format!("bytes=0-{}", head_len.max(1) - 1))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        // With a range, Content-Range carries the whole object's size: "bytes 0-15/20480".
        let size = out
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|total| total.parse().ok())
            .or(out.content_length().map(|n| n as u64))
            .unwrap_or_default();
        let content_type = out.content_type().unwrap_or_default().to_owned();
        let etag = out.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        let head = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::backend("reading the object body", e))?
            .to_vec();
        Ok(Some(ObjectSummary {
            size,
            content_type,
            etag,
            head,
        }))
    }

    fn presigning(expires_in: Duration) -> StoreResult<PresigningConfig> {
        PresigningConfig::expires_in(expires_in.min(MAX_PRESIGN))
            .map_err(|e| StoreError::backend("presigning", e))
    }
}

/// What `inspect` learns about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub size: u64,
    pub content_type: String,
    pub etag: String,
    pub head: Vec<u8>,
}

/// Where a blob lives in the bucket: the tenant leads, so IAM conditions and lifecycle
/// rules can be written per tenant prefix.
pub fn object_key(key: &BlobKey) -> String {
    format!("t/{}/{}", key.tenant.as_str(), key.path())
}

fn request(
    req: aws_sdk_s3::presigning::PresignedRequest,
    expires_in: Duration,
) -> PresignedRequest {
    let expires_in = expires_in.min(MAX_PRESIGN);
    PresignedRequest {
        method: req.method().to_owned(),
        url: req.uri().to_owned(),
        headers: req
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        expires_at: chrono::Utc::now() + chrono::Duration::from_std(expires_in).unwrap_or_default(),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    /// One PutObject: S3 makes the object visible only when it is complete.
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> StoreResult<BlobMeta> {
        let meta = BlobMeta::of(&bytes, content_type);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .content_type(content_type)
            .metadata("sha256", &meta.sha256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(backend)?;
        Ok(meta)
    }

    async fn get(&self, key: &BlobKey) -> StoreResult<Option<(Vec<u8>, BlobMeta)>> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let stored_hash = out.metadata().and_then(|m| m.get("sha256")).cloned();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::backend("reading the object body", e))?
            .to_vec();
        // Objects uploaded by phones through presigned URLs carry no stored hash; only those
        // are hashed here.
        let meta = match stored_hash {
            Some(sha256) => BlobMeta {
                size: bytes.len() as u64,
                sha256,
                content_type,
            },
            None => BlobMeta::of(&bytes, &content_type),
        };
        Ok(Some((bytes, meta)))
    }

    async fn delete(&self, key: &BlobKey) -> StoreResult<bool> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .send()
            .await;
        match head {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(false),
            Err(e) => return Err(backend(e)),
        }
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .send()
            .await
            .map_err(backend)?;
        Ok(true)
    }

    async fn presign_put(
        &self,
        key: &BlobKey,
        content_type: &str,
        size: u64,
        expires_in: Duration,
    ) -> StoreResult<Option<PresignedRequest>> {
        let size = i64::try_from(size).map_err(|_| StoreError::backend_msg("size"))?;
        let signed = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .content_type(content_type)
            .content_length(size)
            .presigned(Self::presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(Some(request(signed, expires_in)))
    }

    async fn presign_get(
        &self,
        key: &BlobKey,
        expires_in: Duration,
    ) -> StoreResult<Option<PresignedRequest>> {
        let signed = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .presigned(Self::presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(Some(request(signed, expires_in)))
    }
}
