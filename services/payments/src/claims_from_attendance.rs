//! Confirmed attendance becomes a claim, at most once per attendance.

use alongside_events::topics::PAYMENTS_CLAIMS;
use alongside_events::{Envelope, Handler, HandlerError, Outbox};
use alongside_platform::ids::{self, CLAIM};
use alongside_proto::engagement::events::v1::AttendanceRecorded;
use alongside_proto::payments::events::v1::ClaimCreated;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};

use crate::claim;
use crate::rate_card::{in_force, RateCard};

pub struct ClaimsFromAttendance {
    outbox: Outbox,
    cards: Vec<RateCard>,
}

impl ClaimsFromAttendance {
    pub fn new(outbox: Outbox) -> Self {
        Self {
            outbox,
            cards: vec![RateCard::default_card()],
        }
    }
}

#[async_trait::async_trait]
impl Handler for ClaimsFromAttendance {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        if !event.is::<AttendanceRecorded>() {
            return Ok(());
        }
        let attended: AttendanceRecorded = event.payload()?;
        let date = alongside_platform::parse_date(&attended.activity_date).ok_or_else(|| {
            HandlerError::Poison(format!(
                "activity_date {:?} is not a date",
                attended.activity_date
            ))
        })?;
        if attended.attendance_id.is_empty()
            || attended.partner_id.is_empty()
            || attended.minutes == 0
        {
            return Err(HandlerError::Poison(
                "AttendanceRecorded without attendance, partner or minutes".into(),
            ));
        }
        let card = in_force(&self.cards, date)
            .ok_or_else(|| HandlerError::Poison(format!("no rate card in force on {date}")))?;
        let (amount, basis) = card.price(attended.minutes);
        let row = claim::ActiveModel {
            id: Set(ids::new_id(CLAIM)),
            tenant_id: Set(event.tenant().to_string()),
            partner_id: Set(attended.partner_id.clone()),
            attendance_id: Set(attended.attendance_id.clone()),
            opportunity_id: Set(attended.opportunity_id.clone()),
            amount_pence: Set(amount.0),
            rate_basis: Set(basis.as_str().into()),
            status: Set("awaiting_approval".into()),
            activity_date: Set(attended.activity_date.clone()),
            minutes: Set(attended.minutes as i32),
            created_at: Set(alongside_platform::now_rfc3339()),
        };
        let claim_id = row.id.clone().unwrap();
        // The inbox already makes redelivery a no-op; the unique attendance id guards replays
        // that arrive with a new event id.
        let inserted = claim::Entity::insert(row)
            .on_conflict(
                OnConflict::column(claim::Column::AttendanceId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        if inserted == 0 {
            tracing::info!(attendance_id = %attended.attendance_id, "claim already exists for this attendance");
            return Ok(());
        }
        let created = ClaimCreated {
            claim_id,
            partner_id: attended.partner_id.clone(),
            attendance_id: attended.attendance_id,
            amount_pence: amount.0,
            rate_basis: basis.as_str().into(),
            activity_date: attended.activity_date,
        };
        self.outbox
            .enqueue(
                txn,
                PAYMENTS_CLAIMS,
                &attended.partner_id,
                event.tenant(),
                &created,
            )
            .await?;
        // The relay polls too; waking it early is only a speed-up, so before commit is harmless.
        self.outbox.notify();
        Ok(())
    }
}
