//! The `casebridge` binary's commands other than `serve`: the import of the old support
//! center, the demo and benchmark data sets, and copying a deployment's data to another
//! database. (`bootstrap` is `crate::provisioning::bootstrap`, which the provider's
//! `POST /v1/provider/domains` shares.)

pub mod copy_data;
pub mod import;
pub mod seed;
