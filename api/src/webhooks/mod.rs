//! Outbound webhooks (issue 18): signing per the Standard Webhooks specification, the rules
//! that keep deliveries from reaching the service's own network, and the HTTP sender.

pub mod guard;
pub mod secret;
pub mod send;
