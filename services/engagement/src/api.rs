//! The gRPC API of engagement.

use alongside_events::places::Listed;
use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
use alongside_events::Outbox;
use alongside_platform::ids::{self, ASSIGNMENT, ATTENDANCE, OPPORTUNITY, SESSION};
use alongside_platform::paging::Page;
use alongside_platform::{grpc, Caller, Role, ServiceError, SharedClock};
use alongside_proto::engagement::events::v1::{
    AttendanceCorrected, AttendanceRecorded, OpportunityCancelled, OpportunityPublished,
    PartnerAssigned,
};
use alongside_proto::engagement::v1::engagement_service_server::EngagementService;
use alongside_proto::engagement::v1::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use tonic::{Request, Response, Status};

use crate::schema::{preference, session, staff_request};
use crate::store::{assignment, attendance, correction, eligibility, known_partner, opportunity};

pub(crate) const ORGANISERS: &[Role] = &[Role::EngagementLead, Role::Staff, Role::Admin];
pub(crate) const LEADS: &[Role] = &[Role::EngagementLead, Role::Admin];
/// A partner keeps their own preferences; a lead records them on a partner's behalf.
const PREFERENCE_KEEPERS: &[Role] = &[Role::Partner, Role::EngagementLead, Role::Admin];

/// An opportunity's sessions, first to last.
pub(crate) async fn sessions_of(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    opportunity_ids: &[String],
) -> Result<Vec<session::Model>, sea_orm::DbErr> {
    session::for_tenant(tenant)
        .filter(session::Column::OpportunityId.is_in(opportunity_ids.iter().cloned()))
        .order_by_asc(session::Column::OpportunityId)
        .order_by_asc(session::Column::Number)
        .all(db)
        .await
}

/// Opportunities as published, each with its sessions.
pub(crate) async fn with_sessions(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    rows: Vec<opportunity::Model>,
) -> Result<Vec<Opportunity>, sea_orm::DbErr> {
    let ids: Vec<String> = rows.iter().map(|o| o.id.clone()).collect();
    // Grouped once, each opportunity's in order (they come sorted by number).
    let mut by_opportunity: std::collections::HashMap<String, Vec<session::Model>> =
        std::collections::HashMap::new();
    for s in sessions_of(db, tenant, &ids).await? {
        by_opportunity
            .entry(s.opportunity_id.clone())
            .or_default()
            .push(s);
    }
    Ok(rows
        .into_iter()
        .map(|o| {
            let mine = by_opportunity.remove(&o.id).unwrap_or_default();
            o.into_proto(mine)
        })
        .collect())
}

/// Whether the partner declared a conflict of interest with the opportunity's pathway.
pub(crate) async fn conflicted(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    partner_id: &str,
    pathway: &str,
) -> Result<bool, sea_orm::DbErr> {
    if pathway.is_empty() {
        return Ok(false);
    }
    let declared = preference::for_tenant(tenant)
        .filter(preference::Column::PartnerId.eq(partner_id))
        .one(db)
        .await?;
    Ok(declared.is_some_and(|p| {
        crate::schema::from_list(&p.conflicts)
            .iter()
            .any(|c| c.eq_ignore_ascii_case(pathway))
    }))
}

pub struct EngagementApi {
    db: DatabaseConnection,
    outbox: Outbox,
    clock: SharedClock,
}

impl EngagementApi {
    pub fn new(db: DatabaseConnection, outbox: Outbox, clock: SharedClock) -> Self {
        Self { db, outbox, clock }
    }

    async fn find_opportunity(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<opportunity::Model, ServiceError> {
        opportunity::for_tenant(&caller.tenant)
            .filter(opportunity::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("opportunity", id))
    }

    /// A role-bound opportunity takes only partners eligible for the role on its date.
    async fn check_eligible(
        &self,
        caller: &Caller,
        partner_id: &str,
        opportunity: &opportunity::Model,
    ) -> Result<(), ServiceError> {
        let role = &opportunity.required_role;
        let held = eligibility::for_tenant(&caller.tenant)
            .filter(eligibility::Column::PartnerId.eq(partner_id))
            .filter(eligibility::Column::Role.eq(role))
            .one(&self.db)
            .await?;
        match held {
            None => Err(ServiceError::invalid(
                "partner_id",
                format!("partner is not eligible as {role}: they do not hold the role with its training and checks in date"),
            )),
            Some(e) if !e.valid_until.is_empty() && e.valid_until < opportunity.starts_on => {
                Err(ServiceError::invalid(
                    "partner_id",
                    format!(
                        "partner's eligibility as {role} ends on {}, before this opportunity on {}",
                        e.valid_until, opportunity.starts_on
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    async fn create(
        &self,
        caller: &Caller,
        request: CreateOpportunityRequest,
    ) -> Result<Opportunity, ServiceError> {
        let pathways = Listed::load(&self.db, &caller.tenant, "pathway").await?;
        let (r, planned) =
            crate::validate::opportunity(request, &self.clock.today().to_string(), &pathways)?;
        let status = if r.draft {
            "draft"
        } else if r.held {
            "completed"
        } else {
            "published"
        };
        let id = ids::new_id(OPPORTUNITY);
        let txn = self.db.begin().await?;
        let request_id = r.request_id.trim().to_string();
        if !request_id.is_empty() {
            // Answers an open request of the trust's staff, which it marks converted.
            let converted = staff_request::Entity::update_many()
                .col_expr(staff_request::Column::Status, Expr::value("converted"))
                .col_expr(
                    staff_request::Column::OpportunityId,
                    Expr::value(id.clone()),
                )
                .filter(staff_request::Column::Id.eq(&request_id))
                .filter(staff_request::Column::TenantId.eq(caller.tenant.as_str()))
                .filter(staff_request::Column::Status.eq("open"))
                .exec(&txn)
                .await?
                .rows_affected;
            if converted == 0 {
                return Err(ServiceError::invalid(
                    "request_id",
                    "is not an open staff request of this trust (it may have been answered already)",
                ));
            }
        }
        let row = opportunity::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(caller.tenant.to_string()),
            title: Set(r.title.clone()),
            kind: Set(r.kind.clone()),
            involvement_level: Set(r.involvement_level as i32),
            starts_on: Set(r.starts_on.clone()),
            places: Set(r.places as i32),
            status: Set(status.into()),
            created_at: Set(self.clock.now_rfc3339()),
            created_by: Set(caller.subject.clone()),
            required_role: Set(r.required_role.clone()),
            pathway: Set(r.pathway.clone()),
            cost_centre: Set(r.cost_centre.clone()),
            remuneration: Set(r.remuneration.clone()),
            filled: Set(0),
            description: Set(r.description.clone()),
            locality: Set(r.locality.clone()),
            expected_minutes: Set(r.expected_minutes as i32),
            accessibility: Set(r.accessibility.clone()),
            contact: Set(r.contact.clone()),
            cancel_reason: Set(String::new()),
            request_id: Set(request_id),
        };
        let model = opportunity::Entity::insert(row)
            .exec_with_returning(&txn)
            .await?;
        let sessions: Vec<session::ActiveModel> = planned
            .iter()
            .enumerate()
            .map(|(n, p)| session::ActiveModel {
                id: Set(ids::new_id(SESSION)),
                tenant_id: Set(caller.tenant.to_string()),
                opportunity_id: Set(id.clone()),
                number: Set(n as i32 + 1),
                on_date: Set(p.on.clone()),
                start_time: Set(p.start_time.clone()),
                minutes: Set(p.minutes as i32),
            })
            .collect();
        session::Entity::insert_many(sessions)
            .exec_without_returning(&txn)
            .await?;
        if status == "published" {
            self.published(&txn, caller, &model).await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        let sessions =
            sessions_of(&self.db, &caller.tenant, std::slice::from_ref(&model.id)).await?;
        Ok(model.into_proto(sessions))
    }

    async fn published(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        caller: &Caller,
        model: &opportunity::Model,
    ) -> Result<(), ServiceError> {
        let event = OpportunityPublished {
            opportunity_id: model.id.clone(),
            kind: model.kind.clone(),
            involvement_level: model.involvement_level as u32,
            starts_on: model.starts_on.clone(),
        };
        self.outbox
            .enqueue(
                txn,
                ENGAGEMENT_ACTIVITIES,
                &model.id,
                &caller.tenant,
                &event,
            )
            .await?;
        Ok(())
    }

    /// Moves an opportunity on: publish a draft, complete a published one whose sessions are
    /// over, or cancel one not yet over (with a reason), freeing the places not attended.
    async fn change_status(
        &self,
        caller: &Caller,
        request: OpportunityAction,
        to: &str,
    ) -> Result<Opportunity, ServiceError> {
        let found = self.find_opportunity(caller, &request.id).await?;
        let sessions =
            sessions_of(&self.db, &caller.tenant, std::slice::from_ref(&found.id)).await?;
        let today = self.clock.today().to_string();
        let first = sessions
            .first()
            .map(|s| s.on_date.clone())
            .unwrap_or_default();
        let last = sessions
            .last()
            .map(|s| s.on_date.clone())
            .unwrap_or_default();
        let refuse = |reason: String| Err(ServiceError::invalid("status", reason));
        let reason = request.reason.trim().to_string();
        match (found.status.as_str(), to) {
            ("draft", "published") if first < today => {
                return refuse(format!(
                "its first session is on {first}, before today: change the dates before publishing"
            ))
            }
            ("draft", "published") => {}
            ("published", "completed") if last > today => {
                return refuse(format!(
                    "its last session is on {last}: it can be completed once that has happened"
                ))
            }
            ("published", "completed") => {}
            ("draft" | "published", "cancelled") if reason.is_empty() => {
                return Err(ServiceError::invalid(
                    "reason",
                    "say why it is cancelled: the partners offered places are told",
                ))
            }
            ("draft" | "published", "cancelled") if reason.chars().count() > 500 => {
                return Err(ServiceError::invalid(
                    "reason",
                    "must be 500 characters or fewer",
                ))
            }
            ("draft" | "published", "cancelled") => {}
            (from, _) => {
                return refuse(format!(
                    "a {} opportunity cannot become {to}",
                    if from == "published" {
                        found.status_now()
                    } else {
                        from.to_string()
                    }
                ))
            }
        }
        let txn = self.db.begin().await?;
        let changed = opportunity::Entity::update_many()
            .col_expr(opportunity::Column::Status, Expr::value(to))
            .col_expr(
                opportunity::Column::CancelReason,
                Expr::value(reason.clone()),
            )
            .filter(opportunity::Column::Id.eq(&found.id))
            .filter(opportunity::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(opportunity::Column::Status.eq(found.status.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(ServiceError::Conflict(
                "the opportunity was changed by someone else meanwhile; look again".into(),
            ));
        }
        if to == "published" {
            self.published(&txn, caller, &found).await?;
        }
        if to == "cancelled" {
            let held = assignment::for_tenant(&caller.tenant)
                .filter(assignment::Column::OpportunityId.eq(&found.id))
                .all(&txn)
                .await?;
            let attended: Vec<String> = attendance::for_tenant(&caller.tenant)
                .filter(attendance::Column::OpportunityId.eq(&found.id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|a| a.assignment_id)
                .collect();
            let now = self.clock.now_rfc3339();
            let why = format!("the opportunity was cancelled: {reason}");
            let mut cancelled = 0;
            for a in held.iter().filter(|a| !attended.contains(&a.id)) {
                crate::partners::free_place(&txn, &caller.tenant, a, &why, &now).await?;
                cancelled += u32::from(a.status != "declined");
            }
            let event = OpportunityCancelled {
                opportunity_id: found.id.clone(),
                reason: reason.clone(),
                cancelled_assignments: cancelled,
            };
            self.outbox
                .enqueue(
                    &txn,
                    ENGAGEMENT_ACTIVITIES,
                    &found.id,
                    &caller.tenant,
                    &event,
                )
                .await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(opportunity_id = %found.id, to, "opportunity status changed");
        let now = self.find_opportunity(caller, &found.id).await?;
        Ok(now.into_proto(sessions))
    }

    async fn list(
        &self,
        caller: &Caller,
        request: ListOpportunitiesRequest,
    ) -> Result<ListOpportunitiesResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let mut query = opportunity::for_tenant(&caller.tenant);
        if !request.kind.is_empty() {
            query = query.filter(opportunity::Column::Kind.eq(request.kind));
        }
        if !request.pathway.is_empty() {
            query = query.filter(opportunity::Column::Pathway.eq(request.pathway));
        }
        query = match request.status.as_str() {
            "" => query,
            "filled" => query
                .filter(opportunity::Column::Status.eq("published"))
                .filter(
                    Expr::col(opportunity::Column::Filled)
                        .gte(Expr::col(opportunity::Column::Places)),
                ),
            "published" => query
                .filter(opportunity::Column::Status.eq("published"))
                .filter(
                    Expr::col(opportunity::Column::Filled)
                        .lt(Expr::col(opportunity::Column::Places)),
                ),
            s @ ("draft" | "completed" | "cancelled") => {
                query.filter(opportunity::Column::Status.eq(s))
            }
            _ => {
                return Err(ServiceError::invalid(
                    "status",
                    "must be empty, draft, published, filled, completed or cancelled",
                ))
            }
        };
        query = match request.sort.as_str() {
            "" | "starts_on" => query.order_by_asc(opportunity::Column::StartsOn),
            "-starts_on" => query.order_by_desc(opportunity::Column::StartsOn),
            "title" => query.order_by_asc(opportunity::Column::Title),
            "-title" => query.order_by_desc(opportunity::Column::Title),
            _ => {
                return Err(ServiceError::invalid(
                    "sort",
                    "must be one of starts_on, -starts_on, title, -title",
                ))
            }
        };
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_asc(opportunity::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        Ok(ListOpportunitiesResponse {
            opportunities: with_sessions(&self.db, &caller.tenant, rows).await?,
            page: Some(page.info(total)),
        })
    }

    async fn assign(
        &self,
        caller: &Caller,
        request: AssignPartnerRequest,
    ) -> Result<Assignment, ServiceError> {
        let opportunity = self
            .find_opportunity(caller, &request.opportunity_id)
            .await?;
        match opportunity.status.as_str() {
            "draft" => {
                return Err(ServiceError::invalid(
                    "opportunity_id",
                    "is a draft: publish it before offering places",
                ))
            }
            "cancelled" => return Err(ServiceError::invalid("opportunity_id", "was cancelled")),
            "completed" if request.offer => {
                return Err(ServiceError::invalid(
                    "offer",
                    "the opportunity is over: record who took part by assigning them",
                ))
            }
            _ => {}
        }
        let partner = known_partner::for_tenant(&caller.tenant)
            .filter(known_partner::Column::PartnerId.eq(&request.partner_id))
            .one(&self.db)
            .await?;
        match partner {
            None => {
                return Err(ServiceError::invalid(
                    "partner_id",
                    "is not a partner of this trust known to engagement (a partner registered moments ago may take a few seconds to appear)",
                ))
            }
            Some(p) if p.status != "active" => return Err(ServiceError::invalid("partner_id", format!("partner is {}, not active", p.status))),
            Some(p) if !p.contactable => {
                return Err(ServiceError::invalid(
                    "partner_id",
                    "this partner has withdrawn consent to be contacted about opportunities",
                ))
            }
            Some(_) => {}
        }
        if !opportunity.required_role.is_empty() {
            self.check_eligible(caller, &request.partner_id, &opportunity)
                .await?;
        }
        if conflicted(
            &self.db,
            &caller.tenant,
            &request.partner_id,
            &opportunity.pathway,
        )
        .await?
        {
            return Err(ServiceError::invalid(
                "partner_id",
                format!(
                    "the partner has declared a conflict of interest with the {} pathway",
                    opportunity.pathway
                ),
            ));
        }
        let status = if request.offer { "offered" } else { "accepted" };
        let existing = assignment::for_tenant(&caller.tenant)
            .filter(assignment::Column::OpportunityId.eq(&opportunity.id));
        if existing
            .clone()
            .filter(assignment::Column::PartnerId.eq(&request.partner_id))
            .count(&self.db)
            .await?
            > 0
        {
            return Err(ServiceError::invalid(
                "partner_id",
                "is already assigned to this opportunity",
            ));
        }
        let full = || {
            ServiceError::invalid(
                "opportunity_id",
                format!("all {} places are filled", opportunity.places),
            )
        };
        if existing.count(&self.db).await? >= opportunity.places as u64 {
            return Err(full());
        }
        let row = assignment::ActiveModel {
            id: Set(ids::new_id(ASSIGNMENT)),
            tenant_id: Set(caller.tenant.to_string()),
            opportunity_id: Set(opportunity.id.clone()),
            partner_id: Set(request.partner_id.clone()),
            created_at: Set(self.clock.now_rfc3339()),
            status: Set(status.into()),
            decline_reason: Set(String::new()),
            responded_at: Set(String::new()),
        };
        let txn = self.db.begin().await?;
        // Takes a place only while one is free, in one statement: of two leads assigning the
        // last place at once, the second finds none (PostgreSQL re-reads the row it waited for).
        let taken = opportunity::Entity::update_many()
            .col_expr(
                opportunity::Column::Filled,
                Expr::col(opportunity::Column::Filled).add(1),
            )
            .filter(opportunity::Column::Id.eq(&opportunity.id))
            .filter(opportunity::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(
                Expr::col(opportunity::Column::Filled).lt(Expr::col(opportunity::Column::Places)),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        if taken == 0 {
            txn.rollback().await?;
            return Err(full());
        }
        let model = assignment::Entity::insert(row)
            .exec_with_returning(&txn)
            .await?;
        if model.status == "accepted" {
            self.assigned(&txn, &caller.tenant, &model).await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        Ok(assignment_out(model, Vec::new()))
    }

    pub(crate) async fn assigned(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant: &alongside_platform::OdsCode,
        model: &assignment::Model,
    ) -> Result<(), ServiceError> {
        let event = PartnerAssigned {
            assignment_id: model.id.clone(),
            opportunity_id: model.opportunity_id.clone(),
            partner_id: model.partner_id.clone(),
        };
        self.outbox
            .enqueue(
                txn,
                ENGAGEMENT_ACTIVITIES,
                &model.opportunity_id,
                tenant,
                &event,
            )
            .await?;
        Ok(())
    }

    /// A partner accepts or declines an offer made to them; declining frees the place.
    async fn respond(
        &self,
        caller: &Caller,
        request: RespondToOfferRequest,
    ) -> Result<Assignment, ServiceError> {
        let reason = request.reason.trim().to_string();
        if reason.chars().count() > 500 {
            return Err(ServiceError::invalid(
                "reason",
                "must be 500 characters or fewer",
            ));
        }
        let found = assignment::for_tenant(&caller.tenant)
            .filter(assignment::Column::Id.eq(&request.assignment_id))
            .filter(assignment::Column::PartnerId.eq(&caller.subject))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("offer", &request.assignment_id))?;
        if found.status != "offered" {
            return Err(ServiceError::invalid(
                "assignment_id",
                format!("this place was {} already", found.status),
            ));
        }
        let status = if request.accept {
            "accepted"
        } else {
            "declined"
        };
        let now = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        let changed = assignment::Entity::update_many()
            .col_expr(assignment::Column::Status, Expr::value(status))
            .col_expr(
                assignment::Column::DeclineReason,
                Expr::value(reason.clone()),
            )
            .col_expr(assignment::Column::RespondedAt, Expr::value(now.clone()))
            .filter(assignment::Column::Id.eq(&found.id))
            .filter(assignment::Column::Status.eq("offered"))
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(ServiceError::Conflict(
                "the offer was answered meanwhile; look again".into(),
            ));
        }
        let model = assignment::Model {
            status: status.into(),
            decline_reason: reason,
            responded_at: now,
            ..found
        };
        if request.accept {
            self.assigned(&txn, &caller.tenant, &model).await?;
        } else {
            opportunity::Entity::update_many()
                .col_expr(
                    opportunity::Column::Filled,
                    Expr::col(opportunity::Column::Filled).sub(1),
                )
                .filter(opportunity::Column::Id.eq(&model.opportunity_id))
                .filter(opportunity::Column::Filled.gt(0))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(assignment_id = %model.id, status, "offer answered");
        Ok(assignment_out(model, Vec::new()))
    }

    async fn assignments(
        &self,
        caller: &Caller,
        opportunity_id: &str,
    ) -> Result<ListAssignmentsResponse, ServiceError> {
        let opportunity = self.find_opportunity(caller, opportunity_id).await?;
        let rows = assignment::for_tenant(&caller.tenant)
            .filter(assignment::Column::OpportunityId.eq(&opportunity.id))
            .order_by_asc(assignment::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let attended = attendance::for_tenant(&caller.tenant)
            .filter(attendance::Column::OpportunityId.eq(&opportunity.id))
            .all(&self.db)
            .await?;
        let assignments = rows
            .into_iter()
            .map(|a| {
                let recorded = attended
                    .iter()
                    .filter(|t| t.assignment_id == a.id)
                    .cloned()
                    .collect();
                assignment_out(a, recorded)
            })
            .collect();
        Ok(ListAssignmentsResponse { assignments })
    }

    async fn record_attendance(
        &self,
        caller: &Caller,
        request: RecordAttendanceRequest,
    ) -> Result<Attendance, ServiceError> {
        let assignment = assignment::for_tenant(&caller.tenant)
            .filter(assignment::Column::Id.eq(&request.assignment_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("assignment", &request.assignment_id))?;
        let opportunity = self
            .find_opportunity(caller, &assignment.opportunity_id)
            .await?;
        let sessions = sessions_of(
            &self.db,
            &caller.tenant,
            std::slice::from_ref(&opportunity.id),
        )
        .await?;
        let session = if request.session_id.is_empty() {
            sessions.first()
        } else {
            sessions.iter().find(|s| s.id == request.session_id)
        }
        .ok_or_else(|| ServiceError::invalid("session_id", "is not a session of this opportunity"))?
        .clone();
        crate::validate::attendance(&request, session.minutes.max(0) as u32)?;
        if session.on_date > self.clock.today().to_string() {
            return Err(ServiceError::invalid(
                "session_id",
                format!("the session on {} has not happened yet", session.on_date),
            ));
        }
        match assignment.status.as_str() {
            "accepted" => {}
            "offered" => {
                return Err(ServiceError::invalid(
                    "assignment_id",
                    "the partner has not accepted the offer yet",
                ))
            }
            other => {
                return Err(ServiceError::invalid(
                    "assignment_id",
                    format!("the partner {other} the offer"),
                ))
            }
        }
        if opportunity.status == "cancelled" {
            return Err(ServiceError::invalid(
                "assignment_id",
                "the opportunity was cancelled",
            ));
        }
        if attendance::for_tenant(&caller.tenant)
            .filter(attendance::Column::AssignmentId.eq(&assignment.id))
            .filter(attendance::Column::SessionId.eq(&session.id))
            .count(&self.db)
            .await?
            > 0
        {
            return Err(ServiceError::invalid(
                "assignment_id",
                format!(
                    "attendance is already recorded for the session on {}: correct it instead",
                    session.on_date
                ),
            ));
        }
        let outcome = if request.outcome.is_empty() {
            "attended".to_string()
        } else {
            request.outcome.clone()
        };
        let row = attendance::ActiveModel {
            id: Set(ids::new_id(ATTENDANCE)),
            tenant_id: Set(caller.tenant.to_string()),
            assignment_id: Set(assignment.id.clone()),
            opportunity_id: Set(opportunity.id.clone()),
            partner_id: Set(assignment.partner_id.clone()),
            minutes: Set(request.minutes as i32),
            activity_date: Set(session.on_date.clone()),
            session_id: Set(session.id.clone()),
            outcome: Set(outcome.clone()),
            recorded_at: Set(self.clock.now_rfc3339()),
            recorded_by: Set(caller.subject.clone()),
            revision: Set(1),
            corrected_at: Set(String::new()),
            correction_reason: Set(String::new()),
        };
        let txn = self.db.begin().await?;
        let model = attendance::Entity::insert(row)
            .exec_with_returning(&txn)
            .await?;
        if crate::shortlist::paid(&opportunity, model.minutes) {
            crate::shortlist::count(
                &txn,
                &caller.tenant,
                &model.partner_id,
                &model.activity_date,
                1,
            )
            .await?;
        }
        // Only time given is paid: apologies and no-shows are kept, not sent to payments.
        if outcome == "attended" {
            let event = attendance_event(&opportunity, &model);
            self.outbox
                .enqueue(
                    &txn,
                    ENGAGEMENT_ACTIVITIES,
                    &opportunity.id,
                    &caller.tenant,
                    &event,
                )
                .await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(attendance_id = %model.id, minutes = request.minutes, outcome, "attendance recorded");
        Ok(model.into())
    }
}

impl EngagementApi {
    async fn correct_attendance(
        &self,
        caller: &Caller,
        request: CorrectAttendanceRequest,
    ) -> Result<Attendance, ServiceError> {
        crate::validate::correction(&request)?;
        let current = attendance::for_tenant(&caller.tenant)
            .filter(attendance::Column::Id.eq(&request.attendance_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("attendance", &request.attendance_id))?;
        let outcome = match request.outcome.as_str() {
            "" if request.minutes > 0 => "attended",
            "" => "no_show",
            other => other,
        }
        .to_string();
        if current.minutes == request.minutes as i32 && current.outcome == outcome {
            return Err(ServiceError::invalid(
                "minutes",
                format!("{} minutes are already recorded", current.minutes),
            ));
        }
        let opportunity = self
            .find_opportunity(caller, &current.opportunity_id)
            .await?;
        let session_minutes = session::for_tenant(&caller.tenant)
            .filter(session::Column::Id.eq(&current.session_id))
            .one(&self.db)
            .await?
            .map_or(opportunity.expected_minutes, |s| s.minutes);
        let mut v = alongside_platform::error::Violations::default();
        crate::validate::outcome_minutes(
            &mut v,
            &outcome,
            request.minutes,
            session_minutes.max(0) as u32,
        );
        v.finish()?;
        let now = self.clock.now_rfc3339();
        let reason = request.reason.trim().to_string();
        let txn = self.db.begin().await?;
        // The revision moves only from the one read: a correction made meanwhile is not lost.
        let changed = attendance::Entity::update_many()
            .col_expr(
                attendance::Column::Minutes,
                sea_orm::sea_query::Expr::value(request.minutes as i32),
            )
            .col_expr(
                attendance::Column::Revision,
                sea_orm::sea_query::Expr::value(current.revision + 1),
            )
            .col_expr(
                attendance::Column::CorrectedAt,
                sea_orm::sea_query::Expr::value(now.clone()),
            )
            .col_expr(
                attendance::Column::CorrectionReason,
                sea_orm::sea_query::Expr::value(reason.clone()),
            )
            .col_expr(attendance::Column::Outcome, Expr::value(outcome.clone()))
            .filter(attendance::Column::Id.eq(&current.id))
            .filter(attendance::Column::Revision.eq(current.revision))
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(ServiceError::Conflict(
                "the attendance was corrected by someone else meanwhile; look again".into(),
            ));
        }
        correction::Entity::insert(correction::ActiveModel {
            tenant_id: Set(caller.tenant.to_string()),
            attendance_id: Set(current.id.clone()),
            revision: Set(current.revision + 1),
            from_minutes: Set(current.minutes),
            to_minutes: Set(request.minutes as i32),
            reason: Set(reason.clone()),
            corrected_by: Set(caller.subject.clone()),
            corrected_at: Set(now.clone()),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        // A session becomes paid, or stops being one.
        let (was, now_paid) = (
            crate::shortlist::paid(&opportunity, current.minutes),
            crate::shortlist::paid(&opportunity, request.minutes as i32),
        );
        if was != now_paid {
            crate::shortlist::count(
                &txn,
                &caller.tenant,
                &current.partner_id,
                &current.activity_date,
                if now_paid { 1 } else { -1 },
            )
            .await?;
        }
        let was_attended = current.outcome == "attended";
        let corrected = attendance::Model {
            minutes: request.minutes as i32,
            revision: current.revision + 1,
            corrected_at: now.clone(),
            correction_reason: reason,
            outcome: outcome.clone(),
            ..current
        };
        // Payments hears of it when it was or now is time given (an apology corrected to a
        // no-show changes nothing to pay).
        if was_attended || outcome == "attended" {
            let event = AttendanceCorrected {
                attendance: Some(attendance_event(&opportunity, &corrected)),
                corrected_at: now,
            };
            self.outbox
                .enqueue(
                    &txn,
                    ENGAGEMENT_ACTIVITIES,
                    &opportunity.id,
                    &caller.tenant,
                    &event,
                )
                .await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(attendance_id = %corrected.id, revision = corrected.revision, "attendance corrected");
        Ok(corrected.into())
    }
}

pub(crate) fn assignment_out(a: assignment::Model, recorded: Vec<attendance::Model>) -> Assignment {
    let first = recorded.first();
    Assignment {
        attended_minutes: first.map(|t| t.minutes as u32),
        attendance_id: first.map(|t| t.id.clone()).unwrap_or_default(),
        attendances: recorded.into_iter().map(Into::into).collect(),
        id: a.id,
        opportunity_id: a.opportunity_id,
        partner_id: a.partner_id,
        created_at: a.created_at,
        status: a.status,
        decline_reason: a.decline_reason,
    }
}

/// The whole attendance as it stands, as payments prices it.
fn attendance_event(
    opportunity: &opportunity::Model,
    attended: &attendance::Model,
) -> AttendanceRecorded {
    AttendanceRecorded {
        attendance_id: attended.id.clone(),
        opportunity_id: opportunity.id.clone(),
        partner_id: attended.partner_id.clone(),
        minutes: attended.minutes as u32,
        activity_kind: opportunity.kind.clone(),
        involvement_level: opportunity.involvement_level as u32,
        activity_date: attended.activity_date.clone(),
        pathway: opportunity.pathway.clone(),
        cost_centre: opportunity.cost_centre.clone(),
        expenses_only: opportunity.remuneration == "expenses_only",
        revision: attended.revision as u32,
    }
}

#[tonic::async_trait]
impl EngagementService for EngagementApi {
    async fn create_opportunity(
        &self,
        request: Request<CreateOpportunityRequest>,
    ) -> Result<Response<Opportunity>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            self.create(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_opportunity(
        &self,
        request: Request<GetOpportunityRequest>,
    ) -> Result<Response<Opportunity>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        let found = self
            .find_opportunity(&caller, &request.get_ref().id)
            .await?;
        let sessions = sessions_of(&self.db, &caller.tenant, std::slice::from_ref(&found.id))
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(found.into_proto(sessions)))
    }

    async fn list_opportunities(
        &self,
        request: Request<ListOpportunitiesRequest>,
    ) -> Result<Response<ListOpportunitiesResponse>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            self.list(&caller, request.into_inner()).await?,
        ))
    }

    async fn assign_partner(
        &self,
        request: Request<AssignPartnerRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            self.assign(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_assignments(
        &self,
        request: Request<ListAssignmentsRequest>,
    ) -> Result<Response<ListAssignmentsResponse>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            self.assignments(&caller, &request.get_ref().opportunity_id)
                .await?,
        ))
    }

    async fn record_impact(
        &self,
        request: Request<RecordImpactRequest>,
    ) -> Result<Response<Impact>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::impact::record(&self.db, &*self.clock, &caller, request.into_inner()).await?,
        ))
    }

    async fn list_impact(
        &self,
        request: Request<ListImpactRequest>,
    ) -> Result<Response<ListImpactResponse>, Status> {
        // Written to be shared: the trust's analysts read it too, and its ICS's for the
        // dashboards' highlights (through the gateway, one member trust at a time).
        let caller = grpc::authorize(
            &request,
            &[
                Role::EngagementLead,
                Role::Staff,
                Role::Admin,
                Role::Analyst,
                Role::IcsAnalyst,
            ],
        )?;
        Ok(Response::new(
            crate::impact::list(&self.db, &caller, request.into_inner()).await?,
        ))
    }

    async fn shortlist_partners(
        &self,
        request: Request<ShortlistRequest>,
    ) -> Result<Response<Shortlist>, Status> {
        // Who leads matching: the staff who ask for partners see the opportunity, not the bank.
        let caller = grpc::authorize(&request, LEADS)?;
        let request = request.into_inner();
        let opportunity = self
            .find_opportunity(&caller, &request.opportunity_id)
            .await?;
        Ok(Response::new(
            crate::shortlist::shortlist(&self.db, &caller, &opportunity, &request).await?,
        ))
    }

    async fn record_attendance(
        &self,
        request: Request<RecordAttendanceRequest>,
    ) -> Result<Response<Attendance>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            self.record_attendance(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn correct_attendance(
        &self,
        request: Request<CorrectAttendanceRequest>,
    ) -> Result<Response<Attendance>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            self.correct_attendance(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn publish_opportunity(
        &self,
        request: Request<OpportunityAction>,
    ) -> Result<Response<Opportunity>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            self.change_status(&caller, request.into_inner(), "published")
                .await?,
        ))
    }

    async fn complete_opportunity(
        &self,
        request: Request<OpportunityAction>,
    ) -> Result<Response<Opportunity>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            self.change_status(&caller, request.into_inner(), "completed")
                .await?,
        ))
    }

    async fn cancel_opportunity(
        &self,
        request: Request<OpportunityAction>,
    ) -> Result<Response<Opportunity>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            self.change_status(&caller, request.into_inner(), "cancelled")
                .await?,
        ))
    }

    async fn create_staff_request(
        &self,
        request: Request<CreateStaffRequestRequest>,
    ) -> Result<Response<StaffRequest>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::requests::create(&self.db, &*self.clock, &caller, request.into_inner()).await?,
        ))
    }

    async fn list_staff_requests(
        &self,
        request: Request<ListStaffRequestsRequest>,
    ) -> Result<Response<ListStaffRequestsResponse>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::requests::list(&self.db, &caller, request.into_inner()).await?,
        ))
    }

    async fn decline_staff_request(
        &self,
        request: Request<DeclineStaffRequestRequest>,
    ) -> Result<Response<StaffRequest>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            crate::requests::decline(&self.db, &caller, request.into_inner()).await?,
        ))
    }

    async fn list_open_opportunities(
        &self,
        request: Request<ListOpenOpportunitiesRequest>,
    ) -> Result<Response<ListOpenOpportunitiesResponse>, Status> {
        let caller = grpc::authorize(&request, &[Role::Partner])?;
        Ok(Response::new(
            crate::partner_side::open_opportunities(
                &self.db,
                &*self.clock,
                &caller,
                request.into_inner(),
            )
            .await?,
        ))
    }

    async fn express_interest(
        &self,
        request: Request<ExpressInterestRequest>,
    ) -> Result<Response<Interest>, Status> {
        let caller = grpc::authorize(&request, &[Role::Partner])?;
        Ok(Response::new(
            crate::partner_side::express_interest(
                &self.db,
                &*self.clock,
                &caller,
                request.into_inner(),
            )
            .await?,
        ))
    }

    async fn respond_to_offer(
        &self,
        request: Request<RespondToOfferRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let caller = grpc::authorize(&request, &[Role::Partner])?;
        Ok(Response::new(
            self.respond(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_my_assignments(
        &self,
        request: Request<ListMyAssignmentsRequest>,
    ) -> Result<Response<ListMyAssignmentsResponse>, Status> {
        let caller = grpc::authorize(&request, &[Role::Partner])?;
        Ok(Response::new(
            crate::partner_side::my_assignments(&self.db, &caller).await?,
        ))
    }

    async fn get_preferences(
        &self,
        request: Request<GetPreferencesRequest>,
    ) -> Result<Response<Preferences>, Status> {
        let caller = grpc::authorize(&request, PREFERENCE_KEEPERS)?;
        Ok(Response::new(
            crate::partner_side::get(&self.db, &caller, request.into_inner()).await?,
        ))
    }

    async fn set_preferences(
        &self,
        request: Request<Preferences>,
    ) -> Result<Response<Preferences>, Status> {
        let caller = grpc::authorize(&request, PREFERENCE_KEEPERS)?;
        Ok(Response::new(
            crate::partner_side::set(&self.db, &*self.clock, &caller, request.into_inner()).await?,
        ))
    }

    async fn create_forum(
        &self,
        request: Request<CreateForumRequest>,
    ) -> Result<Response<Forum>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            crate::forums::create(&self.db, &*self.clock, &caller, request.into_inner()).await?,
        ))
    }

    async fn list_forums(
        &self,
        request: Request<ListForumsRequest>,
    ) -> Result<Response<ListForumsResponse>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::forums::list(&self.db, &*self.clock, &caller).await?,
        ))
    }

    async fn get_forum(
        &self,
        request: Request<GetForumRequest>,
    ) -> Result<Response<ForumDetail>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::forums::detail(&self.db, &*self.clock, &caller, &request.get_ref().id).await?,
        ))
    }

    async fn set_forum_member(
        &self,
        request: Request<SetForumMemberRequest>,
    ) -> Result<Response<ForumDetail>, Status> {
        let caller = grpc::authorize(&request, LEADS)?;
        Ok(Response::new(
            crate::forums::set_member(&self.db, &*self.clock, &caller, request.into_inner())
                .await?,
        ))
    }

    async fn save_forum_meeting(
        &self,
        request: Request<SaveForumMeetingRequest>,
    ) -> Result<Response<ForumMeeting>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::forums::save_meeting(&self.db, &*self.clock, &caller, request.into_inner())
                .await?,
        ))
    }

    async fn save_forum_action(
        &self,
        request: Request<SaveForumActionRequest>,
    ) -> Result<Response<ForumAction>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            crate::forums::save_action(&self.db, &*self.clock, &caller, request.into_inner())
                .await?,
        ))
    }

    async fn export_partner_data(
        &self,
        request: Request<ExportPartnerDataRequest>,
    ) -> Result<Response<PartnerEngagementData>, Status> {
        // The partner's own; a lead's or an admin's of their trust.
        let caller = grpc::authorize(&request, PREFERENCE_KEEPERS)?;
        Ok(Response::new(
            crate::export::partner_data(&self.db, &*self.clock, &caller, request.into_inner())
                .await?,
        ))
    }

    async fn engagement_report(
        &self,
        request: Request<EngagementReportRequest>,
    ) -> Result<Response<EngagementReportResponse>, Status> {
        // Figures only: the trust's analysts read them, and its ICS's through the gateway, one
        // member trust at a time.
        let caller = grpc::authorize(
            &request,
            &[
                Role::EngagementLead,
                Role::Admin,
                Role::Analyst,
                Role::IcsAnalyst,
            ],
        )?;
        Ok(Response::new(
            crate::report::report(&self.db, &caller, request.into_inner()).await?,
        ))
    }
}
