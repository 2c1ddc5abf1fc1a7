//! The partner's side: the opportunities they may take up, saying they are interested,
//! answering offers, their sessions, and their preferences and declared conflicts of interest.
//! A partner calls for themselves: the caller's subject is their partner id.

use alongside_platform::error::Violations;
use alongside_platform::paging::Page;
use alongside_platform::{Caller, Clock, Role, ServiceError};
use alongside_proto::engagement::v1::{
    ExpressInterestRequest, GetPreferencesRequest, Interest, ListMyAssignmentsResponse,
    ListOpenOpportunitiesRequest, ListOpenOpportunitiesResponse, MyAssignment, OpenOpportunity,
    Preferences,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::api::{assignment_out, with_sessions};
use crate::schema::{from_list, interest, preference, to_list};
use crate::store::{assignment, attendance, eligibility, known_partner, opportunity};

pub const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// What the bank knows of the partner, refusing one who may be offered nothing.
async fn me(
    db: &DatabaseConnection,
    caller: &Caller,
) -> Result<known_partner::Model, ServiceError> {
    let found = known_partner::for_tenant(&caller.tenant)
        .filter(known_partner::Column::PartnerId.eq(&caller.subject))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("partner", &caller.subject))?;
    Ok(found)
}

/// Published opportunities with a place left and a session today or later that this partner
/// may take: the role held in date, no declared conflict, not already on it.
async fn open_to(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
) -> Result<Vec<opportunity::Model>, ServiceError> {
    let partner = me(db, caller).await?;
    if partner.status != "active" || !partner.contactable {
        return Ok(Vec::new());
    }
    let today = clock.today().to_string();
    let held: Vec<eligibility::Model> = eligibility::for_tenant(&caller.tenant)
        .filter(eligibility::Column::PartnerId.eq(&caller.subject))
        .all(db)
        .await?;
    let conflicts = preference::for_tenant(&caller.tenant)
        .filter(preference::Column::PartnerId.eq(&caller.subject))
        .one(db)
        .await?
        .map(|p| from_list(&p.conflicts))
        .unwrap_or_default();
    let mine: Vec<String> = assignment::for_tenant(&caller.tenant)
        .filter(assignment::Column::PartnerId.eq(&caller.subject))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.opportunity_id)
        .collect();
    let rows = opportunity::for_tenant(&caller.tenant)
        .filter(opportunity::Column::Status.eq("published"))
        .filter(opportunity::Column::StartsOn.gte(today.as_str()))
        .order_by_asc(opportunity::Column::StartsOn)
        .order_by_asc(opportunity::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|o| o.filled < o.places && !mine.contains(&o.id))
        .filter(|o| {
            o.required_role.is_empty()
                || held.iter().any(|e| {
                    e.role == o.required_role
                        && (e.valid_until.is_empty() || e.valid_until >= o.starts_on)
                })
        })
        .filter(|o| !conflicts.iter().any(|c| c.eq_ignore_ascii_case(&o.pathway)))
        .collect())
}

pub async fn open_opportunities(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: ListOpenOpportunitiesRequest,
) -> Result<ListOpenOpportunitiesResponse, ServiceError> {
    let page = Page::from_request(r.page.as_ref())?;
    let open = open_to(db, clock, caller).await?;
    let total = open.len() as u64;
    let shown: Vec<opportunity::Model> = open
        .into_iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .collect();
    let interested: Vec<String> = interest::for_tenant(&caller.tenant)
        .filter(interest::Column::PartnerId.eq(&caller.subject))
        .all(db)
        .await?
        .into_iter()
        .map(|i| i.opportunity_id)
        .collect();
    let opportunities = with_sessions(db, &caller.tenant, shown)
        .await?
        .into_iter()
        .map(|o| OpenOpportunity {
            interested: interested.contains(&o.id),
            opportunity: Some(o),
        })
        .collect();
    Ok(ListOpenOpportunitiesResponse {
        opportunities,
        page: Some(page.info(total)),
    })
}

pub async fn express_interest(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: ExpressInterestRequest,
) -> Result<Interest, ServiceError> {
    let mut v = Violations::default();
    let note = crate::requests::text(&mut v, "note", &r.note, 500, false);
    v.finish()?;
    if !r.interested {
        interest::Entity::delete_many()
            .filter(interest::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(interest::Column::OpportunityId.eq(&r.opportunity_id))
            .filter(interest::Column::PartnerId.eq(&caller.subject))
            .exec(db)
            .await?;
        return Ok(Interest {
            opportunity_id: r.opportunity_id,
            interested: false,
        });
    }
    if !open_to(db, clock, caller)
        .await?
        .iter()
        .any(|o| o.id == r.opportunity_id)
    {
        return Err(ServiceError::invalid(
            "opportunity_id",
            "is not open to you: it may be full, over, or need a role you do not hold",
        ));
    }
    interest::Entity::insert(interest::ActiveModel {
        opportunity_id: Set(r.opportunity_id.clone()),
        partner_id: Set(caller.subject.clone()),
        tenant_id: Set(caller.tenant.to_string()),
        note: Set(note),
        created_at: Set(clock.now_rfc3339()),
    })
    .on_conflict(
        OnConflict::columns([interest::Column::OpportunityId, interest::Column::PartnerId])
            .update_column(interest::Column::Note)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(Interest {
        opportunity_id: r.opportunity_id,
        interested: true,
    })
}

pub async fn my_assignments(
    db: &DatabaseConnection,
    caller: &Caller,
) -> Result<ListMyAssignmentsResponse, ServiceError> {
    let rows = assignment::for_tenant(&caller.tenant)
        .filter(assignment::Column::PartnerId.eq(&caller.subject))
        .filter(assignment::Column::Status.is_in(["offered", "accepted"]))
        .all(db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|a| a.opportunity_id.clone()).collect();
    let opportunities = opportunity::for_tenant(&caller.tenant)
        .filter(opportunity::Column::Id.is_in(ids))
        .filter(opportunity::Column::Status.ne("cancelled"))
        .all(db)
        .await?;
    let opportunities = with_sessions(db, &caller.tenant, opportunities).await?;
    let recorded = attendance::for_tenant(&caller.tenant)
        .filter(attendance::Column::PartnerId.eq(&caller.subject))
        .all(db)
        .await?;
    let mut assignments: Vec<MyAssignment> = rows
        .into_iter()
        .filter_map(|a| {
            let o = opportunities
                .iter()
                .find(|o| o.id == a.opportunity_id)?
                .clone();
            let mine = recorded
                .iter()
                .filter(|t| t.assignment_id == a.id)
                .cloned()
                .collect();
            Some(MyAssignment {
                assignment: Some(assignment_out(a, mine)),
                opportunity: Some(o),
            })
        })
        .collect();
    assignments.sort_by(|a, b| {
        let on = |m: &MyAssignment| m.opportunity.as_ref().map(|o| o.starts_on.clone());
        on(a).cmp(&on(b))
    });
    Ok(ListMyAssignmentsResponse { assignments })
}

/// Whose preferences: the calling partner's own, or, for a lead, the partner named.
pub(crate) async fn whose(
    db: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    partner_id: &str,
) -> Result<String, ServiceError> {
    let id = match caller.role {
        Role::Partner if partner_id.is_empty() || partner_id == caller.subject => {
            caller.subject.clone()
        }
        Role::Partner => {
            return Err(ServiceError::Forbidden(
                "a partner sees only their own preferences".into(),
            ))
        }
        _ if partner_id.is_empty() => {
            return Err(ServiceError::invalid("partner_id", "is required"))
        }
        _ => partner_id.to_string(),
    };
    known_partner::for_tenant(&caller.tenant)
        .filter(known_partner::Column::PartnerId.eq(&id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("partner", &id))?;
    Ok(id)
}

pub async fn get(
    db: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    r: GetPreferencesRequest,
) -> Result<Preferences, ServiceError> {
    let id = whose(db, caller, &r.partner_id).await?;
    let found = preference::for_tenant(&caller.tenant)
        .filter(preference::Column::PartnerId.eq(&id))
        .one(db)
        .await?;
    Ok(match found {
        Some(p) => Preferences {
            partner_id: p.partner_id,
            kinds: from_list(&p.kinds),
            days: from_list(&p.days),
            conflicts: from_list(&p.conflicts),
            updated_at: p.updated_at,
        },
        None => Preferences {
            partner_id: id,
            ..Default::default()
        },
    })
}

pub async fn set(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: Preferences,
) -> Result<Preferences, ServiceError> {
    let id = whose(db, caller, &r.partner_id).await?;
    let mut v = Violations::default();
    let clean = |values: &[String]| -> Vec<String> {
        let mut out: Vec<String> = values
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let kinds = clean(&r.kinds);
    for k in &kinds {
        if !crate::validate::KINDS.contains(&k.as_str()) {
            v.push(
                "kinds",
                format!(
                    "{k} is not a kind of work: use {}",
                    crate::validate::KINDS.join(", ")
                ),
            );
        }
    }
    let days = clean(&r.days);
    for d in &days {
        if !DAYS.contains(&d.as_str()) {
            v.push("days", format!("{d} is not a day: use {}", DAYS.join(", ")));
        }
    }
    let conflicts = clean(&r.conflicts);
    v.check(
        conflicts.len() <= 20,
        "conflicts",
        "declare at most 20 pathways",
    );
    for c in &conflicts {
        if c.chars().count() > 100 || c.contains('|') || c.chars().any(char::is_control) {
            v.push(
                "conflicts",
                "each pathway must be up to 100 characters on one line, without |",
            );
        }
    }
    v.finish()?;
    let now = clock.now_rfc3339();
    preference::Entity::insert(preference::ActiveModel {
        partner_id: Set(id.clone()),
        tenant_id: Set(caller.tenant.to_string()),
        kinds: Set(to_list(&kinds)),
        days: Set(to_list(&days)),
        conflicts: Set(to_list(&conflicts)),
        updated_at: Set(now.clone()),
    })
    .on_conflict(
        OnConflict::column(preference::Column::PartnerId)
            .update_columns([
                preference::Column::Kinds,
                preference::Column::Days,
                preference::Column::Conflicts,
                preference::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    tracing::info!(by = ?caller.role, "partner preferences saved");
    Ok(Preferences {
        partner_id: id,
        kinds,
        days,
        conflicts,
        updated_at: now,
    })
}
