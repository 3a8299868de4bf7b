//! The case application layer: what the routes (and the import of the old support center) do
//! to cases, each operation one place. Routes extract and answer; the rules are the domain's;
//! here an operation opens its transaction, locks and loads what the rules read, lets them
//! decide, writes, records the timeline event and queues the mail.

pub mod attach;
pub mod breaches;
pub mod change;
pub mod comment;
pub mod filing;
pub mod listing;
pub mod load;
pub mod once;
pub mod service_level;
pub mod timeline;

pub use attach::{ReceivedFile, attach, check_room};
pub use change::{Decision, change_case, lifecycle_change, record_event};
pub use comment::add_comment;
pub use filing::{Filing, file_case};
pub use listing::{ListRequest, list_for};
pub use load::{
    VisibleCase, locked_case, participants, seen_case, seen_case_carrying, visible_case,
};
pub use once::{Created, Outcome, create_once};
pub use timeline::timeline;
