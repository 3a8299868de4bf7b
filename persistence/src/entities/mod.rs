//! One file per table, and nothing else.

// The ORM derives generate items (Column, Entity, ActiveModel…) that carry no docs of their own.
#![allow(missing_docs)]

pub mod attachment_chunks;
pub mod attachments;
pub mod audit_events;
pub mod case_access;
pub mod case_classifications;
pub mod case_comments;
pub mod cases;
pub mod customer_resellers;
pub mod customers;
pub mod domains;
pub mod event_audiences;
pub mod idempotency_keys;
pub mod legacy_records;
pub mod outbox;
pub mod revoked_tokens;
pub mod roles;
pub mod service_level_policies;
pub mod sign_in_failures;
pub mod support_partners;
pub mod user_roles;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;
