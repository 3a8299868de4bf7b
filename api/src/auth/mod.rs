//! Authentication: tokens, passwords, sign-in throttling and the `Actor` extractor.

pub mod actor;
pub mod jwt;
pub mod password;
pub mod throttle;

pub use actor::{Actor, AuthCache};
