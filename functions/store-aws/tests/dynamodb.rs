//! The DynamoDB adapter against a real DynamoDB-protocol server on 127.0.0.1 (moto, started by
//! `scripts/moto.sh` from the test script), running the same port contract as SQLite.

use fieldline_store_aws::DynamoStore;

/// A fresh table per test, so tests never see each other's items.
async fn store() -> DynamoStore {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run `bash scripts/test.sh`, which starts moto \
         (or `bash scripts/moto.sh start` and export the printed URL)",
    );
    let table = format!("fieldline-test-{}", uuid::Uuid::now_v7().simple());
    let store = DynamoStore::connect_local(&endpoint, &table).await;
    store.create_table().await.expect("table created");
    store
}

#[tokio::test]
async fn directory_meets_the_port_contract() {
    let store = store().await;
    fieldline_store::testkit::directory_contract(&store).await;
}
