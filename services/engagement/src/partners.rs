//! The partner read model, built from `people.partners.v1`: who exists, in which trust, in which
//! state. No contact details ever reach this service.

use alongside_events::{Envelope, Handler, HandlerError};
use alongside_proto::people::events::v1::{
    PartnerConsentChanged, PartnerEligibilityChanged, PartnerErased, PartnerRegistered,
    PartnerStatusChanged,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::store::{eligibility, known_partner};

pub struct PartnerReadModel;

#[async_trait::async_trait]
impl Handler for PartnerReadModel {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        if event.is::<PartnerStatusChanged>() {
            let changed: PartnerStatusChanged = event.payload()?;
            return set_status(txn, event, &changed.partner_id, &changed.to_status).await;
        }
        if event.is::<PartnerEligibilityChanged>() {
            let changed: PartnerEligibilityChanged = event.payload()?;
            return set_eligibility(txn, event, changed).await;
        }
        if event.is::<PartnerConsentChanged>() {
            let changed: PartnerConsentChanged = event.payload()?;
            if changed.purpose != "contact" {
                return Ok(());
            }
            return set_contactable(txn, event, &changed.partner_id, changed.granted).await;
        }
        if event.is::<PartnerErased>() {
            // Engagement holds no personal data of partners: the id is already a pseudonym.
            // Marked erased, the partner can be assigned no more; past attendance stays.
            let erased: PartnerErased = event.payload()?;
            return set_status(txn, event, &erased.partner_id, "erased").await;
        }
        if !event.is::<PartnerRegistered>() {
            return Ok(());
        }
        let registered: PartnerRegistered = event.payload()?;
        if registered.partner_id.is_empty() {
            return Err(HandlerError::Poison(
                "PartnerRegistered without partner_id".into(),
            ));
        }
        let row = known_partner::ActiveModel {
            partner_id: Set(registered.partner_id),
            tenant_id: Set(event.tenant().to_string()),
            status: Set(registered.status),
            locality: Set(registered.locality),
            updated_at: Set(event.inner.occurred_at.clone()),
            contactable: Set(true),
        };
        known_partner::Entity::insert(row)
            .on_conflict(
                OnConflict::column(known_partner::Column::PartnerId)
                    .update_columns([
                        known_partner::Column::Status,
                        known_partner::Column::Locality,
                        known_partner::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        Ok(())
    }
}

/// Applies a partner's new status (events of one partner arrive in order: they share a key).
async fn set_status(
    txn: &DatabaseTransaction,
    event: &Envelope,
    partner_id: &str,
    status: &str,
) -> Result<(), HandlerError> {
    if partner_id.is_empty() || status.is_empty() {
        return Err(HandlerError::Poison(format!(
            "{} without partner_id or status",
            event.inner.event_type
        )));
    }
    let updated = known_partner::Entity::update_many()
        .col_expr(known_partner::Column::Status, Expr::value(status))
        .col_expr(
            known_partner::Column::UpdatedAt,
            Expr::value(event.inner.occurred_at.clone()),
        )
        .filter(known_partner::Column::PartnerId.eq(partner_id))
        .filter(known_partner::Column::TenantId.eq(event.tenant().as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        // The registration has not arrived: it shares the partition, so it never will first.
        return Err(HandlerError::Poison(format!(
            "{} for unknown partner {partner_id}",
            event.inner.event_type
        )));
    }
    Ok(())
}

/// Whether the partner may be contacted about opportunities.
async fn set_contactable(
    txn: &DatabaseTransaction,
    event: &Envelope,
    partner_id: &str,
    contactable: bool,
) -> Result<(), HandlerError> {
    if partner_id.is_empty() {
        return Err(HandlerError::Poison(
            "PartnerConsentChanged without partner_id".into(),
        ));
    }
    let updated = known_partner::Entity::update_many()
        .col_expr(known_partner::Column::Contactable, Expr::value(contactable))
        .filter(known_partner::Column::PartnerId.eq(partner_id))
        .filter(known_partner::Column::TenantId.eq(event.tenant().as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(HandlerError::Poison(format!(
            "PartnerConsentChanged for unknown partner {partner_id}"
        )));
    }
    Ok(())
}

/// Replaces what a partner is eligible for with the event's list.
async fn set_eligibility(
    txn: &DatabaseTransaction,
    event: &Envelope,
    changed: PartnerEligibilityChanged,
) -> Result<(), HandlerError> {
    if changed.partner_id.is_empty() {
        return Err(HandlerError::Poison(
            "PartnerEligibilityChanged without partner_id".into(),
        ));
    }
    eligibility::Entity::delete_many()
        .filter(eligibility::Column::TenantId.eq(event.tenant().as_str()))
        .filter(eligibility::Column::PartnerId.eq(&changed.partner_id))
        .exec(txn)
        .await?;
    for role in changed.roles {
        eligibility::Entity::insert(eligibility::ActiveModel {
            tenant_id: Set(event.tenant().to_string()),
            partner_id: Set(changed.partner_id.clone()),
            role: Set(role.role),
            valid_until: Set(role.valid_until),
            ..Default::default()
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}
