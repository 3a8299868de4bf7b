//! casebridge's HTTP API: actix-web routes, extractors, authentication, the error model and the
//! generated OpenAPI document; and the `casebridge` binary's commands.

pub mod auth;
pub mod cases;
pub mod clock;
pub mod commands;
pub mod conditions;
pub mod extract;
pub mod feed;
pub mod housekeeping;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod provisioning;
pub mod retry;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod webhooks;
pub mod wire;

pub use clock::{Clock, ShiftedClock, SystemClock};
pub use settings::{LogFormat, Settings, SettingsArgs};
pub use startup::{Application, StartupError};
