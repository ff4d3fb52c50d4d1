//! The port-level contract, written once and run against every backend (SQLite in this crate's
//! tests, DynamoDB in fieldline-store-aws's), so the adapters cannot drift apart.

mod assignment;
mod blob;
mod customer;
mod deal;
mod decision;
mod directory;
mod fixture;
mod inbox;
mod lead;
mod order;
mod retail;
mod rule;
mod task;
mod timer;
mod upload;

pub use assignment::*;
pub use blob::*;
pub use customer::*;
pub use deal::*;
pub use decision::*;
pub use directory::*;
pub use fixture::*;
pub use inbox::*;
pub use lead::*;
pub use order::*;
pub use retail::*;
pub use rule::*;
pub use task::*;
pub use timer::*;
pub use upload::*;

use crate::RecordStores;

/// One test per contract scenario for a backend. `$open` is an async fn returning
/// `(guard, store)`: the guard (e.g. a temporary directory) lives as long as the test.
#[macro_export]
macro_rules! backend_contract_tests {
    ($open:path) => {
        $crate::backend_contract_tests!(@each $open;
            idempotent_create_replays_and_refuses_a_different_request,
            concurrent_retries_with_one_key_create_one_lead,
            stale_writes_are_refused_and_leave_nothing_behind,
            listing_is_scoped_filtered_and_paginated,
            tenants_are_isolated,
            leads_are_found_by_their_contacts_phone_and_email,
            retried_activity_is_recorded_once,
            timers_fire_once_even_when_sweepers_overlap,
            rotation_hands_out_each_member_in_turn_under_concurrency,
            rule_versions_are_kept_and_stale_changes_refused,
            listing_follows_pages_past_one_megabyte,
            decisions_and_open_lead_counts,
            inbox_and_deliveries,
            tasks_are_deduplicated_and_ordered,
            uploads_are_idempotent_versioned_and_fire_their_timers,
            conversions_are_atomic_idempotent_and_deals_keep_a_stage_log,
            deal_listings_are_scoped_filtered_and_paged,
            deal_activities_are_logged_once_with_their_deal,
            material_packs_are_found_by_token_and_opened_under_the_version_check,
            board_totals_and_report_facts_follow_every_deal_write,
            pipelines_are_versioned_tenant_data,
            customers_are_deduplicated_scoped_and_paged,
            conversions_join_known_customers,
            renames_move_the_name_key,
            customer_ledger_and_grades_are_kept_once,
            merges_keep_every_record_under_the_survivor,
            merges_carry_the_duplicates_deals,
            contact_edits_move_their_keys,
            visits_are_stored_once_versioned_and_listed_by_time,
            sale_tags_count_once_and_spikes_are_announced_once,
            orders_reserve_stock_atomically_and_never_oversell,
            reservations_keep_the_breakers_floor_and_breakers_are_versioned,
            demand_estimates_keep_each_reps_latest_per_week,
            demand_history_adds_up_per_sku_warehouse_and_week,
            demand_history_is_replaced_before_a_week,
            the_largest_order_relocates_in_one_write,
        );
    };
    (@each $open:path; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_guard, store) = $open().await;
            $crate::testkit::$name(store).await;
        }
    )*};
}

/// Everything a full backend offers; the contracts take one and exercise every port.
pub trait Backend: RecordStores + Clone + Send + Sync {}

impl<T> Backend for T where T: RecordStores + Clone + Send + Sync {}
