//! Kindred's database schema as ordered sea-orm-migration steps; `kindred migrate` and
//! `kindred serve` apply the ones a database has not seen. A shipped step is never edited:
//! change the schema with a new `mYYYYMMDD_NNNNNN_what.rs`.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_initial_schema;
mod m20261127_000002_delivery_scheduling;
mod m20261127_000003_fan_out_by_reference;
mod m20261127_000004_accounts;
mod m20261127_000005_notifications_and_group_roles;
mod m20261127_000006_moderation;
mod m20261127_000007_group_bans;
mod m20261127_000008_reports;
mod m20261127_000009_pinned_threads;
mod m20261127_000010_premoderation;
mod m20261206_000011_unique_deliveries;
mod m20261206_000012_canonical_hosts;
mod m20261206_000013_received_activity_digests;
mod m20261206_000014_shares;
mod m20261206_000015_signature_schemes;
mod m20261206_000016_group_history;
mod m20261206_000017_instance_software;
mod m20261206_000018_deleted_content_kept;
mod m20261206_000019_sensitive_groups;
mod m20261206_000020_thread_backfill;
mod m20261206_000021_media;
mod m20261206_000022_uploads;
mod m20261206_000023_post_search;
mod m20261206_000024_thread_reads;
mod m20261206_000025_site_settings_and_health;
mod m20261206_000026_outbox_totals;
mod m20261206_000027_fan_out_done_targets;
mod m20261206_000028_thread_list_indexes;
mod m20261207_000029_member_counts;
mod m20261207_000030_blocked_author_lookups;
mod m20261207_000031_outbox_total_shards;
mod m20261207_000032_membership_versions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_initial_schema::Migration),
            Box::new(m20261127_000002_delivery_scheduling::Migration),
            Box::new(m20261127_000003_fan_out_by_reference::Migration),
            Box::new(m20261127_000004_accounts::Migration),
            Box::new(m20261127_000005_notifications_and_group_roles::Migration),
            Box::new(m20261127_000006_moderation::Migration),
            Box::new(m20261127_000007_group_bans::Migration),
            Box::new(m20261127_000008_reports::Migration),
            Box::new(m20261127_000009_pinned_threads::Migration),
            Box::new(m20261127_000010_premoderation::Migration),
            Box::new(m20261206_000011_unique_deliveries::Migration),
            Box::new(m20261206_000012_canonical_hosts::Migration),
            Box::new(m20261206_000013_received_activity_digests::Migration),
            Box::new(m20261206_000014_shares::Migration),
            Box::new(m20261206_000015_signature_schemes::Migration),
            Box::new(m20261206_000016_group_history::Migration),
            Box::new(m20261206_000017_instance_software::Migration),
            Box::new(m20261206_000018_deleted_content_kept::Migration),
            Box::new(m20261206_000019_sensitive_groups::Migration),
            Box::new(m20261206_000020_thread_backfill::Migration),
            Box::new(m20261206_000021_media::Migration),
            Box::new(m20261206_000022_uploads::Migration),
            Box::new(m20261206_000023_post_search::Migration),
            Box::new(m20261206_000024_thread_reads::Migration),
            Box::new(m20261206_000025_site_settings_and_health::Migration),
            Box::new(m20261206_000026_outbox_totals::Migration),
            Box::new(m20261206_000027_fan_out_done_targets::Migration),
            Box::new(m20261206_000028_thread_list_indexes::Migration),
            Box::new(m20261207_000029_member_counts::Migration),
            Box::new(m20261207_000030_blocked_author_lookups::Migration),
            Box::new(m20261207_000031_outbox_total_shards::Migration),
            Box::new(m20261207_000032_membership_versions::Migration),
        ]
    }
}
