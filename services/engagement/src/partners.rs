//! The partner read model, built from `people.partners.v1`: who exists, in which trust, in which
//! state. No contact details ever reach this service.

use alongside_events::{Envelope, Handler, HandlerError};
use alongside_platform::{Clock, SharedClock};
use alongside_proto::people::events::v1::{
    PartnerConsentChanged, PartnerEligibilityChanged, PartnerErased, PartnerRegistered,
    PartnerStatusChanged,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

use crate::store::{assignment, attendance, cancellation, eligibility, known_partner, opportunity};
use crate::tallies::{self, Standing};

pub struct PartnerReadModel {
    clock: SharedClock,
}

impl PartnerReadModel {
    pub fn new(clock: SharedClock) -> Self {
        Self { clock }
    }
}

#[async_trait::async_trait]
impl Handler for PartnerReadModel {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        if event.is::<PartnerStatusChanged>() {
            let changed: PartnerStatusChanged = event.payload()?;
            let partner_id = changed.partner_id.as_str();
            return tallied(txn, event, partner_id, async {
                set_status(txn, event, partner_id, &changed.to_status).await?;
                if changed.to_status == "left" {
                    cancel_future(
                        txn,
                        &*self.clock,
                        event,
                        partner_id,
                        "the partner left the People Bank",
                    )
                    .await?;
                }
                Ok(())
            })
            .await;
        }
        if event.is::<PartnerEligibilityChanged>() {
            let changed: PartnerEligibilityChanged = event.payload()?;
            let partner_id = changed.partner_id.clone();
            return tallied(
                txn,
                event,
                &partner_id,
                set_eligibility(txn, event, changed),
            )
            .await;
        }
        if event.is::<PartnerConsentChanged>() {
            let changed: PartnerConsentChanged = event.payload()?;
            if changed.purpose != "contact" {
                return Ok(());
            }
            let partner_id = changed.partner_id.as_str();
            return tallied(
                txn,
                event,
                partner_id,
                set_contactable(txn, event, partner_id, changed.granted),
            )
            .await;
        }
        if event.is::<PartnerErased>() {
            // Engagement holds no name or contact of partners: the id is already a pseudonym.
            // What they wrote (notes of interest, reasons for declining) and their preferences
            // go; marked erased, they can be assigned no more; past attendance stays.
            let erased: PartnerErased = event.payload()?;
            let partner_id = erased.partner_id.as_str();
            return tallied(txn, event, partner_id, async {
                set_status(txn, event, partner_id, "erased").await?;
                // What they wrote when declining an offer goes with them.
                assignment::Entity::update_many()
                    .col_expr(assignment::Column::DeclineReason, Expr::value(""))
                    .filter(assignment::Column::TenantId.eq(event.tenant().as_str()))
                    .filter(assignment::Column::PartnerId.eq(partner_id))
                    .exec(txn)
                    .await?;
                cancel_future(
                    txn,
                    &*self.clock,
                    event,
                    partner_id,
                    "the partner was erased",
                )
                .await
            })
            .await;
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
        let partner_id = registered.partner_id.clone();
        let row = known_partner::ActiveModel {
            partner_id: Set(registered.partner_id),
            tenant_id: Set(event.tenant().to_string()),
            status: Set(registered.status),
            locality: Set(registered.locality),
            updated_at: Set(event.inner.occurred_at.clone()),
            contactable: Set(true),
        };
        tallied(txn, event, &partner_id, async {
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
        })
        .await
    }
}

/// Makes a change to one partner and moves the shortlist's tallies of them with it.
async fn tallied(
    txn: &DatabaseTransaction,
    event: &Envelope,
    partner_id: &str,
    change: impl std::future::Future<Output = Result<(), HandlerError>>,
) -> Result<(), HandlerError> {
    let before = Standing::of(txn, event.tenant(), partner_id).await?;
    change.await?;
    let after = Standing::of(txn, event.tenant(), partner_id).await?;
    tallies::shift(txn, event.tenant(), before.as_ref(), after.as_ref()).await?;
    Ok(())
}

/// Frees the places a partner held in opportunities still to come and not yet attended,
/// keeping each cancellation (under the pseudonymous id) with its reason; past attendance stays.
async fn cancel_future(
    txn: &DatabaseTransaction,
    clock: &dyn Clock,
    event: &Envelope,
    partner_id: &str,
    reason: &str,
) -> Result<(), HandlerError> {
    let tenant = event.tenant();
    let today = clock.today().to_string();
    let held = assignment::for_tenant(tenant)
        .filter(assignment::Column::PartnerId.eq(partner_id))
        .all(txn)
        .await?;
    for a in held {
        let attended = attendance::for_tenant(tenant)
            .filter(attendance::Column::AssignmentId.eq(&a.id))
            .count(txn)
            .await?
            > 0;
        let upcoming = opportunity::for_tenant(tenant)
            .filter(opportunity::Column::Id.eq(&a.opportunity_id))
            .filter(opportunity::Column::StartsOn.gte(today.as_str()))
            .count(txn)
            .await?
            > 0;
        if attended || !upcoming {
            continue;
        }
        free_place(txn, tenant, &a, reason, &event.inner.occurred_at).await?;
        tracing::info!(assignment_id = %a.id, reason, "future assignment cancelled");
    }
    // Nothing more is asked of them: their forum places, interest and preferences go too.
    crate::schema::forum_member::Entity::delete_many()
        .filter(crate::schema::forum_member::Column::TenantId.eq(tenant.as_str()))
        .filter(crate::schema::forum_member::Column::PartnerId.eq(partner_id))
        .exec(txn)
        .await?;
    crate::schema::interest::Entity::delete_many()
        .filter(crate::schema::interest::Column::TenantId.eq(tenant.as_str()))
        .filter(crate::schema::interest::Column::PartnerId.eq(partner_id))
        .exec(txn)
        .await?;
    crate::schema::preference::Entity::delete_many()
        .filter(crate::schema::preference::Column::TenantId.eq(tenant.as_str()))
        .filter(crate::schema::preference::Column::PartnerId.eq(partner_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Cancels an assignment, keeping the cancellation with its reason (under the pseudonymous
/// id), and frees its place unless it was declined (a declined offer holds none).
pub(crate) async fn free_place(
    txn: &DatabaseTransaction,
    tenant: &alongside_platform::OdsCode,
    a: &assignment::Model,
    reason: &str,
    at: &str,
) -> Result<(), sea_orm::DbErr> {
    cancellation::Entity::insert(cancellation::ActiveModel {
        assignment_id: Set(a.id.clone()),
        tenant_id: Set(tenant.to_string()),
        opportunity_id: Set(a.opportunity_id.clone()),
        partner_id: Set(a.partner_id.clone()),
        reason: Set(reason.to_string()),
        cancelled_at: Set(at.to_string()),
    })
    .on_conflict(
        OnConflict::column(cancellation::Column::AssignmentId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    assignment::Entity::delete_by_id(a.id.clone())
        .exec(txn)
        .await?;
    if a.status != "declined" {
        opportunity::Entity::update_many()
            .col_expr(
                opportunity::Column::Filled,
                Expr::col(opportunity::Column::Filled).sub(1),
            )
            .filter(opportunity::Column::Id.eq(&a.opportunity_id))
            .filter(opportunity::Column::Filled.gt(0))
            .exec(txn)
            .await?;
    }
    Ok(())
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
