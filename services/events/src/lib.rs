//! How Alongside's services talk to each other: protobuf events in an envelope, on the topics of
//! one registry, produced through a transactional outbox and consumed at least once with an
//! exactly-once effect.

pub mod consumer;
pub mod envelope;
pub mod inbox;
pub mod kafka;
pub mod migration;
pub mod mock;
pub mod outbox;
pub mod places;
pub mod replay;
pub mod runtime;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod topics;

pub use consumer::{Consumer, Handler, HandlerError};
pub use envelope::Envelope;
pub use outbox::{Outbox, OutboxRelay};
