//! The outbox and inbox tables, part of every producing or consuming service's migration history.

pub mod m20261123_000001_outbox_inbox;
