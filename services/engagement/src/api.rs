//! The gRPC API of engagement.

use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
use alongside_events::Outbox;
use alongside_platform::ids::{self, ASSIGNMENT, ATTENDANCE, OPPORTUNITY};
use alongside_platform::paging::Page;
use alongside_platform::{grpc, Caller, Role, ServiceError};
use alongside_proto::engagement::events::v1::{
    AttendanceCorrected, AttendanceRecorded, OpportunityPublished, PartnerAssigned,
};
use alongside_proto::engagement::v1::engagement_service_server::EngagementService;
use alongside_proto::engagement::v1::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use tonic::{Request, Response, Status};

use crate::store::{assignment, attendance, correction, eligibility, known_partner, opportunity};

const ORGANISERS: &[Role] = &[Role::EngagementLead, Role::Staff, Role::Admin];

pub struct EngagementApi {
    db: DatabaseConnection,
    outbox: Outbox,
}

impl EngagementApi {
    pub fn new(db: DatabaseConnection, outbox: Outbox) -> Self {
        Self { db, outbox }
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
        let r = crate::validate::opportunity(request)?;
        let row = opportunity::ActiveModel {
            id: Set(ids::new_id(OPPORTUNITY)),
            tenant_id: Set(caller.tenant.to_string()),
            title: Set(r.title),
            kind: Set(r.kind.clone()),
            involvement_level: Set(r.involvement_level as i32),
            starts_on: Set(r.starts_on.clone()),
            places: Set(r.places as i32),
            status: Set("published".into()),
            created_at: Set(alongside_platform::now_rfc3339()),
            created_by: Set(caller.subject.clone()),
            required_role: Set(r.required_role.clone()),
            pathway: Set(r.pathway.clone()),
            cost_centre: Set(r.cost_centre.clone()),
            remuneration: Set(r.remuneration.clone()),
            filled: Set(0),
        };
        let txn = self.db.begin().await?;
        let model = opportunity::Entity::insert(row)
            .exec_with_returning(&txn)
            .await?;
        let event = OpportunityPublished {
            opportunity_id: model.id.clone(),
            kind: r.kind,
            involvement_level: r.involvement_level,
            starts_on: r.starts_on,
        };
        self.outbox
            .enqueue(
                &txn,
                ENGAGEMENT_ACTIVITIES,
                &model.id,
                &caller.tenant,
                &event,
            )
            .await?;
        txn.commit().await?;
        self.outbox.notify();
        Ok(model.into())
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
            opportunities: rows.into_iter().map(Into::into).collect(),
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
            created_at: Set(alongside_platform::now_rfc3339()),
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
        let event = PartnerAssigned {
            assignment_id: model.id.clone(),
            opportunity_id: model.opportunity_id.clone(),
            partner_id: model.partner_id.clone(),
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
        txn.commit().await?;
        self.outbox.notify();
        Ok(Assignment {
            id: model.id,
            opportunity_id: model.opportunity_id,
            partner_id: model.partner_id,
            created_at: model.created_at,
            attended_minutes: None,
            attendance_id: String::new(),
        })
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
                let recorded = attended.iter().find(|t| t.assignment_id == a.id);
                Assignment {
                    attended_minutes: recorded.map(|t| t.minutes as u32),
                    attendance_id: recorded.map(|t| t.id.clone()).unwrap_or_default(),
                    id: a.id,
                    opportunity_id: a.opportunity_id,
                    partner_id: a.partner_id,
                    created_at: a.created_at,
                }
            })
            .collect();
        Ok(ListAssignmentsResponse { assignments })
    }

    async fn record_attendance(
        &self,
        caller: &Caller,
        request: RecordAttendanceRequest,
    ) -> Result<Attendance, ServiceError> {
        crate::validate::attendance(&request)?;
        let assignment = assignment::for_tenant(&caller.tenant)
            .filter(assignment::Column::Id.eq(&request.assignment_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("assignment", &request.assignment_id))?;
        let opportunity = self
            .find_opportunity(caller, &assignment.opportunity_id)
            .await?;
        if attendance::for_tenant(&caller.tenant)
            .filter(attendance::Column::AssignmentId.eq(&assignment.id))
            .count(&self.db)
            .await?
            > 0
        {
            return Err(ServiceError::invalid(
                "assignment_id",
                "attendance is already recorded for this assignment",
            ));
        }
        let row = attendance::ActiveModel {
            id: Set(ids::new_id(ATTENDANCE)),
            tenant_id: Set(caller.tenant.to_string()),
            assignment_id: Set(assignment.id.clone()),
            opportunity_id: Set(opportunity.id.clone()),
            partner_id: Set(assignment.partner_id.clone()),
            minutes: Set(request.minutes as i32),
            activity_date: Set(opportunity.starts_on.clone()),
            recorded_at: Set(alongside_platform::now_rfc3339()),
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
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(attendance_id = %model.id, minutes = request.minutes, "attendance recorded");
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
        if current.minutes == request.minutes as i32 {
            return Err(ServiceError::invalid(
                "minutes",
                format!("{} minutes are already recorded", current.minutes),
            ));
        }
        let opportunity = self
            .find_opportunity(caller, &current.opportunity_id)
            .await?;
        let now = alongside_platform::now_rfc3339();
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
        let corrected = attendance::Model {
            minutes: request.minutes as i32,
            revision: current.revision + 1,
            corrected_at: now.clone(),
            correction_reason: reason,
            ..current
        };
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
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(attendance_id = %corrected.id, revision = corrected.revision, "attendance corrected");
        Ok(corrected.into())
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
        let caller = grpc::authorize(&request, &[Role::EngagementLead, Role::Admin])?;
        Ok(Response::new(
            self.create(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_opportunity(
        &self,
        request: Request<GetOpportunityRequest>,
    ) -> Result<Response<Opportunity>, Status> {
        let caller = grpc::authorize(&request, ORGANISERS)?;
        Ok(Response::new(
            self.find_opportunity(&caller, &request.get_ref().id)
                .await?
                .into(),
        ))
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
        let caller = grpc::authorize(&request, &[Role::EngagementLead, Role::Admin])?;
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
            crate::impact::record(&self.db, &caller, request.into_inner()).await?,
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
        let caller = grpc::authorize(&request, &[Role::EngagementLead, Role::Admin])?;
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
}
