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

macro_rules! contracts {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            testkit::$name(store().await).await;
        }
    )*};
}

contracts!(
    idempotent_create_replays_and_refuses_a_different_request,
    concurrent_retries_with_one_key_create_one_lead,
    stale_writes_are_refused_and_leave_nothing_behind,
    listing_is_scoped_filtered_and_paginated,
    tenants_are_isolated,
    retried_activity_is_recorded_once,
    timers_fire_once_even_when_sweepers_overlap,
    rotation_hands_out_each_member_in_turn_under_concurrency,
    rule_versions_are_kept_and_stale_changes_refused,
    listing_follows_pages_past_one_megabyte,
    decisions_and_open_lead_counts,
    inbox_and_deliveries,
    tasks_are_deduplicated_and_ordered,
);
