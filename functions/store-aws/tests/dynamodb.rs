//! The DynamoDB adapter against a real DynamoDB-protocol server on 127.0.0.1 (moto, started by
//! `scripts/moto.sh` from the test script), running the same port contracts as SQLite.

use fieldline_store::testkit;
use fieldline_store_aws::DynamoStore;

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run `bash scripts/test.sh`, which starts moto \
         (or `bash scripts/moto.sh start` and export the printed URL)",
    )
}

/// A fresh table per test, so tests never see each other's items.
async fn store() -> DynamoStore {
    let table = format!("fieldline-test-{}", uuid::Uuid::now_v7().simple());
    let store = DynamoStore::connect_local(&endpoint(), &table).await;
    store.create_table().await.expect("table created");
    store
}

#[tokio::test]
async fn directory_meets_the_port_contract() {
    testkit::directory_contract(&store().await).await;
}

/// The contract's `(guard, store)` shape; a table needs no guard.
async fn contract_store() -> ((), DynamoStore) {
    ((), store().await)
}

fieldline_store::backend_contract_tests!(contract_store);
