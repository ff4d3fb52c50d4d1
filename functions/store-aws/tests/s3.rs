//! The S3 blob adapter against a real S3-protocol server on 127.0.0.1 (moto, started by
//! `scripts/moto.sh`): the shared blob contract, and presigned uploads and downloads made by
//! a real HTTP client, as a phone would.

use fieldline_domain::TenantId;
use fieldline_store::{BlobKey, BlobStore, testkit};
use fieldline_store_aws::S3BlobStore;
use std::time::Duration;

async fn store() -> S3BlobStore {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_DYNAMODB"))
        .expect("AWS_ENDPOINT_URL_S3 is not set: run `bash scripts/test.sh`, which starts moto");
    let bucket = format!("fieldline-test-{}", uuid::Uuid::now_v7().simple());
    let store = S3BlobStore::connect_local(&endpoint, &bucket).await;
    store.create_bucket().await.expect("bucket created");
    store
}

#[tokio::test]
async fn s3_blobs_meet_the_port_contract() {
    testkit::blob_contract(&store().await).await;
}

#[tokio::test]
async fn phones_upload_and_download_through_presigned_urls() {
    let store = store().await;
    let tenant = TenantId::parse("acme").unwrap();
    let key = BlobKey::parse(tenant, "captures/card-0001.jpg").unwrap();
    let photo = vec![0xFFu8, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6];
    let put = store
        .presign_put(
            &key,
            "image/jpeg",
            photo.len() as u64,
            Duration::from_secs(300),
        )
        .await
        .unwrap()
        .expect("S3 issues upload URLs");
    assert_eq!(put.method, "PUT");
    assert!(
        put.url.contains("/t/acme/captures/card-0001.jpg"),
        "per-tenant prefix: {}",
        put.url
    );
    let signed = put
        .url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("a SigV4 query signature");
    for header in ["content-length", "content-type", "host"] {
        assert!(signed.contains(header), "{header} is signed: {signed}");
    }
    assert!(put.url.contains("X-Amz-Expires=300"));
    let asked_for_an_hour = store
        .presign_put(&key, "image/jpeg", 10, Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    assert!(
        asked_for_an_hour.url.contains("X-Amz-Expires=900"),
        "capped at 15 minutes"
    );

    let http = reqwest::Client::new();
    let mut upload = http.put(&put.url).body(photo.clone());
    for (name, value) in &put.headers {
        upload = upload.header(name, value);
    }
    // Phones send the type they declared; moto needs it to store the body.
    let response = upload
        .header("content-type", "image/jpeg")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );

    let (bytes, meta) = store.get(&key).await.unwrap().expect("uploaded");
    assert_eq!(bytes, photo);
    assert_eq!(meta.content_type, "image/jpeg");
    assert_eq!(meta.size, photo.len() as u64);

    let get = store
        .presign_get(&key, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let downloaded = http.get(&get.url).send().await.unwrap();
    assert!(downloaded.status().is_success());
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), photo.as_slice());
}
