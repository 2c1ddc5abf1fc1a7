//! Everything engagement holds about one partner, for their right of access ("Your data"):
//! offers and places with the attendance recorded against them, interest and its notes,
//! preferences, forum memberships and places given up. Held under the partner's id only.

use alongside_platform::{Caller, Clock, ServiceError};
use alongside_proto::engagement::v1::*;
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, IsolationLevel,
    QueryFilter, QueryOrder, TransactionTrait,
};

use crate::api::{assignment_out, with_sessions};
use crate::schema::{forum, forum_member, interest};
use crate::store::{assignment, attendance, cancellation, opportunity};

pub async fn partner_data(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: ExportPartnerDataRequest,
) -> Result<PartnerEngagementData, ServiceError> {
    // One snapshot: an erasure landing halfway through must not show half of what it took.
    // (SQLite's read transaction is a snapshot already; it takes no isolation level.)
    let db = &if db.get_database_backend() == DbBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?
    } else {
        db.begin().await?
    };
    let id = crate::partner_side::whose(db, caller, &r.partner_id).await?;
    let tenant = &caller.tenant;
    let assignments = assignment::for_tenant(tenant)
        .filter(assignment::Column::PartnerId.eq(&id))
        .order_by_asc(assignment::Column::CreatedAt)
        .all(db)
        .await?;
    let recorded = attendance::for_tenant(tenant)
        .filter(attendance::Column::PartnerId.eq(&id))
        .all(db)
        .await?;
    let interests = interest::for_tenant(tenant)
        .filter(interest::Column::PartnerId.eq(&id))
        .all(db)
        .await?;
    let mut opportunity_ids: Vec<String> = assignments
        .iter()
        .map(|a| a.opportunity_id.clone())
        .chain(interests.iter().map(|i| i.opportunity_id.clone()))
        .collect();
    opportunity_ids.sort();
    opportunity_ids.dedup();
    let opportunities = with_sessions(
        db,
        tenant,
        opportunity::for_tenant(tenant)
            .filter(opportunity::Column::Id.is_in(opportunity_ids))
            .all(db)
            .await?,
    )
    .await?;
    let find = |id: &str| opportunities.iter().find(|o| o.id == id).cloned();
    let memberships = forum_member::for_tenant(tenant)
        .filter(forum_member::Column::PartnerId.eq(&id))
        .all(db)
        .await?;
    let forums = forum::for_tenant(tenant)
        .filter(forum::Column::Id.is_in(memberships.iter().map(|m| m.forum_id.clone())))
        .all(db)
        .await?;
    let preferences = crate::partner_side::get(
        db,
        caller,
        GetPreferencesRequest {
            partner_id: id.clone(),
        },
    )
    .await?;
    Ok(PartnerEngagementData {
        opportunities: assignments
            .into_iter()
            .map(|a| {
                let mine = recorded
                    .iter()
                    .filter(|t| t.assignment_id == a.id)
                    .cloned()
                    .collect();
                PartnerOpportunity {
                    opportunity: find(&a.opportunity_id),
                    assignment: Some(assignment_out(a, mine)),
                }
            })
            .collect(),
        interest: interests
            .into_iter()
            .map(|i| PartnerInterest {
                opportunity_title: find(&i.opportunity_id).map(|o| o.title).unwrap_or_default(),
                opportunity_id: i.opportunity_id,
                note: i.note,
                created_at: i.created_at,
            })
            .collect(),
        preferences: Some(preferences),
        forums: memberships
            .into_iter()
            .map(|m| PartnerForum {
                forum_name: forums
                    .iter()
                    .find(|f| f.id == m.forum_id)
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
                forum_id: m.forum_id,
                membership: Some(ForumMember {
                    partner_id: m.partner_id,
                    role: m.role,
                    joined_on: m.joined_on,
                }),
            })
            .collect(),
        cancellations: cancellation::for_tenant(tenant)
            .filter(cancellation::Column::PartnerId.eq(&id))
            .all(db)
            .await?
            .into_iter()
            .map(|c| PartnerCancellation {
                opportunity_id: c.opportunity_id,
                reason: c.reason,
                cancelled_at: c.cancelled_at,
            })
            .collect(),
        partner_id: id,
        generated_at: clock.now_rfc3339(),
    })
}
