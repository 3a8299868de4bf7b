//! Outbound webhooks (issue 18): which endpoints receive an event and the deliveries written
//! with it (`publish`), the worker that signs and posts them (`deliver`), signing per the
//! Standard Webhooks specification (`secret`), the rules that keep deliveries from reaching
//! the service's own network (`guard`), and the HTTP sender (`send`).

pub mod deliver;
pub mod guard;
pub mod publish;
pub mod secret;
pub mod send;
