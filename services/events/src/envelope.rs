//! The envelope on every message: event id (UUID v7), type, tenant, time, schema version.

use alongside_platform::OdsCode;
use alongside_proto::common::v1::EventEnvelope;
use alongside_proto::EventName;
use prost::Message;

use crate::consumer::HandlerError;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub inner: EventEnvelope,
    tenant: OdsCode,
}

impl Envelope {
    /// Wraps `event` for `tenant`, stamped with `occurred_at` and a fresh UUID v7.
    pub fn new<E: EventName>(
        tenant: &OdsCode,
        event: &E,
        occurred_at: time::OffsetDateTime,
    ) -> Self {
        let inner = EventEnvelope {
            event_id: uuid::Uuid::now_v7().to_string(),
            event_type: E::EVENT_TYPE.to_string(),
            tenant_id: tenant.to_string(),
            occurred_at: alongside_platform::format_rfc3339(occurred_at),
            schema_version: SCHEMA_VERSION,
            payload: event.encode_to_vec(),
        };
        Self {
            inner,
            tenant: tenant.clone(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        self.inner.encode_to_vec()
    }

    /// Decodes an envelope from a message value; a message that isn't one is poison.
    pub fn decode(bytes: &[u8]) -> Result<Self, HandlerError> {
        let inner = EventEnvelope::decode(bytes)
            .map_err(|e| HandlerError::Poison(format!("not an event envelope: {e}")))?;
        if inner.event_id.is_empty() || inner.event_type.is_empty() {
            return Err(HandlerError::Poison(
                "envelope without event_id or event_type".into(),
            ));
        }
        let tenant = OdsCode::parse(&inner.tenant_id)
            .map_err(|e| HandlerError::Poison(format!("envelope tenant_id: {e}")))?;
        Ok(Self { inner, tenant })
    }

    pub fn event_id(&self) -> &str {
        &self.inner.event_id
    }

    pub fn event_type(&self) -> &str {
        &self.inner.event_type
    }

    pub fn tenant(&self) -> &OdsCode {
        &self.tenant
    }

    pub fn is<E: EventName>(&self) -> bool {
        self.inner.event_type == E::EVENT_TYPE
    }

    /// The payload as `E`; a payload that does not decode is poison.
    pub fn payload<E: EventName>(&self) -> Result<E, HandlerError> {
        E::decode(self.inner.payload.as_slice()).map_err(|e| {
            HandlerError::Poison(format!("{} payload does not decode: {e}", E::EVENT_TYPE))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alongside_proto::people::events::v1::PartnerRegistered;

    #[test]
    fn round_trips_and_checks_type() {
        let tenant = OdsCode::parse("RXH").unwrap();
        let event = PartnerRegistered {
            partner_id: "ptn_1".into(),
            ..Default::default()
        };
        let env = Envelope::new(
            &tenant,
            &event,
            time::macros::datetime!(2026-12-06 10:00 UTC),
        );
        let back = Envelope::decode(&env.encode()).unwrap();
        assert!(back.is::<PartnerRegistered>());
        assert_eq!(back.payload::<PartnerRegistered>().unwrap(), event);
        assert_eq!(back.tenant(), &tenant);
        assert_eq!(
            uuid::Uuid::parse_str(back.event_id())
                .unwrap()
                .get_version_num(),
            7
        );
    }

    #[test]
    fn garbage_is_poison() {
        assert!(matches!(
            Envelope::decode(b"\xff\xff not protobuf"),
            Err(HandlerError::Poison(_))
        ));
    }
}
