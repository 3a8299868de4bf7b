//! Authentication: tokens, passwords and the `Actor` extractor.

pub mod jwt;
