//! casebridge's schema, as append-only migrations written once with sea-orm's schema builder so
//! that SQLite and PostgreSQL both run them. Backend-specific SQL is isolated and named.
//!
//! Times are stored as microseconds since the Unix epoch (UTC) in 64-bit integers: one
//! representation that orders, compares and indexes the same on both backends.

pub use sea_orm_migration::prelude::*;

pub mod keyword;

mod m20261121_000001_create_domains_and_users;
mod m20261121_000002_create_customers_and_audit;
mod m20261121_000003_create_cases;
mod m20261121_000004_create_attachments_and_outbox;
mod m20261121_000005_create_legacy_records;
mod m20261121_000006_create_case_counts;
mod m20261121_000007_scope_keyword_index;
mod m20261121_000008_cover_case_counts;
mod m20261130_000001_strike_ended_tenures;
mod m20261130_000002_create_shared_state;
mod m20261130_000003_add_service_levels;
mod m20261130_000004_qualify_keyword_index;
mod m20261130_000005_order_events;
mod m20261130_000006_create_webhooks;
mod m20261130_000007_cover_customers_seen_by_reseller;
mod m20261130_000008_count_seen_cases;
mod m20261130_000009_number_case_access;
mod m20261201_000001_defer_keyword_merges;
mod m20261201_000002_count_cases_at_commit;
mod m20261202_000001_cover_keyword_matches;
mod m20261202_000002_index_partner_matches_on_postgres;
mod m20261202_000003_bound_keyword_pending_list;
mod m20261203_000001_count_seen_cases_on_postgres;
mod m20261203_000002_cover_classification_names;

/// Every migration, in the order it is applied.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_domains_and_users::Migration),
            Box::new(m20261121_000002_create_customers_and_audit::Migration),
            Box::new(m20261121_000003_create_cases::Migration),
            Box::new(m20261121_000004_create_attachments_and_outbox::Migration),
            Box::new(m20261121_000005_create_legacy_records::Migration),
            Box::new(m20261121_000006_create_case_counts::Migration),
            Box::new(m20261121_000007_scope_keyword_index::Migration),
            Box::new(m20261121_000008_cover_case_counts::Migration),
            Box::new(m20261130_000001_strike_ended_tenures::Migration),
            Box::new(m20261130_000002_create_shared_state::Migration),
            Box::new(m20261130_000003_add_service_levels::Migration),
            Box::new(m20261130_000004_qualify_keyword_index::Migration),
            Box::new(m20261130_000005_order_events::Migration),
            Box::new(m20261130_000006_create_webhooks::Migration),
            Box::new(m20261130_000007_cover_customers_seen_by_reseller::Migration),
            Box::new(m20261130_000008_count_seen_cases::Migration),
            Box::new(m20261130_000009_number_case_access::Migration),
            Box::new(m20261201_000001_defer_keyword_merges::Migration),
            Box::new(m20261201_000002_count_cases_at_commit::Migration),
            Box::new(m20261202_000001_cover_keyword_matches::Migration),
            Box::new(m20261202_000002_index_partner_matches_on_postgres::Migration),
            Box::new(m20261202_000003_bound_keyword_pending_list::Migration),
            Box::new(m20261203_000001_count_seen_cases_on_postgres::Migration),
            Box::new(m20261203_000002_cover_classification_names::Migration),
        ]
    }
}
