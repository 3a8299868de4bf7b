//! One file per table, and nothing else.
#![allow(missing_docs)]

pub mod domains;
pub mod revoked_tokens;
pub mod roles;
pub mod user_roles;
pub mod users;
