//! The gRPC API of the People Bank.

use alongside_events::topics::PEOPLE_PARTNERS;
use alongside_events::Outbox;
use alongside_platform::ids::{self, PARTNER};
use alongside_platform::paging::Page;
use alongside_platform::{audit, grpc, Caller, Role, ServiceError, SharedClock};
use alongside_proto::people::events::v1::{
    PartnerEligibilityChanged, PartnerErased, PartnerRegistered, PartnerStatusChanged,
    RoleEligibility,
};
use alongside_proto::people::v1::people_service_server::PeopleService;
use alongside_proto::people::v1::*;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use tonic::{Request, Response, Status};

mod equality;
mod interest;
mod profile;
mod sharing;
mod support;

use crate::pipeline::{check_move, Status as Stage};
use crate::roles::{self, held_role, training};
use crate::sealed::Sealer;
use crate::{history, partner};

/// Who may see partners' personal data.
const BANK_ROLES: &[Role] = &[Role::EngagementLead, Role::Staff, Role::Admin];
/// Who may move partners along the pipeline and erase them.
const LEAD_ROLES: &[Role] = &[Role::EngagementLead, Role::Admin];
/// Who may download a partner's data: the leads, and the partner themself.
const EXPORT_ROLES: &[Role] = &[Role::EngagementLead, Role::Admin, Role::Partner];

/// A reason for the history: said, and short.
fn reason(value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ServiceError::invalid(
            "reason",
            "say why: it is kept in the partner's history",
        ));
    }
    if value.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "reason",
            "must be 500 characters or fewer",
        ));
    }
    Ok(value.to_string())
}

pub struct PeopleApi {
    db: DatabaseConnection,
    outbox: Outbox,
    sealer: Sealer,
    clock: SharedClock,
}

impl PeopleApi {
    pub fn new(db: DatabaseConnection, outbox: Outbox, sealer: Sealer, clock: SharedClock) -> Self {
        Self {
            db,
            outbox,
            sealer,
            clock,
        }
    }

    async fn register(
        &self,
        caller: &Caller,
        request: RegisterPartnerRequest,
    ) -> Result<Partner, ServiceError> {
        let r = crate::validate::registration(request)?;
        let row = new_partner(
            caller,
            r,
            Stage::Active,
            &caller.subject,
            self.clock.now_rfc3339(),
        );
        let exists = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::Email.eq(&row.email))
            .count(&self.db)
            .await?;
        if exists > 0 {
            return Err(ServiceError::invalid(
                "email",
                "a partner with this email address is already registered",
            ));
        }
        let txn = self.db.begin().await?;
        partner::Entity::insert(to_active(&row))
            .exec_without_returning(&txn)
            .await?;
        self.created(&txn, caller, &row, "registered by an engagement lead")
            .await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %row.id, tenant = %caller.tenant, "partner registered");
        Ok(row.into())
    }

    /// What follows every new partner record, in its transaction: the first line of its history,
    /// its audit entry, and `PartnerRegistered` for the other services.
    async fn created(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        caller: &Caller,
        row: &partner::Model,
        why: &str,
    ) -> Result<(), ServiceError> {
        append_history(
            txn,
            caller,
            &row.id,
            "",
            &row.status,
            why,
            &row.registered_at,
        )
        .await?;
        audit::record(txn, caller, "create", "partner", &row.id).await?;
        let event = PartnerRegistered {
            partner_id: row.id.clone(),
            locality: row.locality.clone(),
            status: row.status.clone(),
            registered_at: row.registered_at.clone(),
        };
        self.outbox
            .enqueue(txn, PEOPLE_PARTNERS, &row.id, &caller.tenant, &event)
            .await?;
        Ok(())
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<Partner, ServiceError> {
        let row = self.find(caller, id).await?;
        audit::record(&self.db, caller, "read", "partner", id).await?;
        Ok(row.into())
    }

    /// The tenant's partner `id`. Another tenant's partner is "not found", never "forbidden":
    /// existence is not disclosed.
    async fn find(&self, caller: &Caller, id: &str) -> Result<partner::Model, ServiceError> {
        partner::for_tenant(&caller.tenant)
            .filter(partner::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("partner", id))
    }

    async fn change_status(
        &self,
        caller: &Caller,
        request: ChangeStatusRequest,
    ) -> Result<Partner, ServiceError> {
        let to = Stage::parse(request.status.trim())
            .filter(|s| *s != Stage::Erased)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "status",
                    "must be one of interest, application, conversation, checks, induction, active, resting, left",
                )
            })?;
        let why = reason(&request.reason)?;
        let row = self.find(caller, &request.id).await?;
        let from = Stage::parse(&row.status)
            .ok_or_else(|| ServiceError::Internal(format!("unknown status {}", row.status)))?;
        check_move(from, to).map_err(|message| ServiceError::invalid("status", message))?;
        let changed_at = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        // Only from the status just read: two leads moving one partner at once cannot both win.
        let moved = partner::Entity::update_many()
            .col_expr(
                partner::Column::Status,
                sea_orm::sea_query::Expr::value(to.as_str()),
            )
            .filter(partner::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(partner::Column::Id.eq(&row.id))
            .filter(partner::Column::Status.eq(from.as_str()))
            .exec(&txn)
            .await?;
        if moved.rows_affected != 1 {
            return Err(ServiceError::Conflict(
                "the partner's status changed meanwhile; reload and try again".into(),
            ));
        }
        append_history(
            &txn,
            caller,
            &row.id,
            from.as_str(),
            to.as_str(),
            &why,
            &changed_at,
        )
        .await?;
        audit::record(&txn, caller, "update", "partner", &row.id).await?;
        let event = PartnerStatusChanged {
            partner_id: row.id.clone(),
            from_status: from.to_string(),
            to_status: to.to_string(),
            changed_at,
        };
        self.outbox
            .enqueue(&txn, PEOPLE_PARTNERS, &row.id, &caller.tenant, &event)
            .await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %row.id, %from, %to, "partner status changed");
        Ok(partner::Model {
            status: to.to_string(),
            ..row
        }
        .into())
    }

    async fn history(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ListStatusHistoryResponse, ServiceError> {
        let row = self.find(caller, id).await?;
        let changes = history::of_partner(&caller.tenant, id)
            .all(&self.db)
            .await?;
        audit::record(&self.db, caller, "read", "partner_history", id).await?;
        let next = Stage::parse(&row.status)
            .map(|s| s.next().iter().map(|n| n.to_string()).collect())
            .unwrap_or_default();
        Ok(ListStatusHistoryResponse {
            changes: changes.into_iter().map(Into::into).collect(),
            next_statuses: next,
        })
    }

    /// Removes the partner's personal data and tells every other service to do the same. The id
    /// stays, as a pseudonym: claims and attendance keep pointing at it, and it leads nowhere.
    async fn erase(
        &self,
        caller: &Caller,
        request: ErasePartnerRequest,
    ) -> Result<Partner, ServiceError> {
        let why = reason(&request.reason)?;
        let row = self.find(caller, &request.id).await?;
        if row.status == Stage::Erased.as_str() {
            return Err(ServiceError::invalid(
                "id",
                "this partner's record has already been erased",
            ));
        }
        let erased_at = self.clock.now_rfc3339();
        let erased = partner::Model {
            given_name: String::new(),
            family_name: String::new(),
            // Unique per tenant, and no longer an address.
            email: format!("erased:{}", row.id),
            phone: String::new(),
            locality: String::new(),
            search_text: String::new(),
            status: Stage::Erased.to_string(),
            ..row.clone()
        };
        let txn = self.db.begin().await?;
        partner::Entity::update(to_active(&erased))
            .exec(&txn)
            .await?;
        // Reasons in the history may name or describe the person: they go too.
        history::Entity::update_many()
            .col_expr(
                history::Column::Reason,
                sea_orm::sea_query::Expr::value("(erased)"),
            )
            .filter(history::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(history::Column::PartnerId.eq(&row.id))
            .exec(&txn)
            .await?;
        equality::forget_equality(&txn, &caller.tenant, &row.id).await?;
        // Support notes and the named supporter go with the person.
        crate::support::note::Entity::delete_many()
            .filter(crate::support::note::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(crate::support::note::Column::PartnerId.eq(&row.id))
            .exec(&txn)
            .await?;
        crate::support::supporter::Entity::delete_many()
            .filter(crate::support::supporter::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(crate::support::supporter::Column::PartnerId.eq(&row.id))
            .exec(&txn)
            .await?;
        // The profile (needs, experience, payment preference, bank details) goes entirely.
        crate::profile::Entity::delete_many()
            .filter(crate::profile::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(crate::profile::Column::PartnerId.eq(&row.id))
            .exec(&txn)
            .await?;
        append_history(
            &txn,
            caller,
            &row.id,
            &row.status,
            Stage::Erased.as_str(),
            &why,
            &erased_at,
        )
        .await?;
        audit::record(&txn, caller, "erase", "partner", &row.id).await?;
        let event = PartnerErased {
            partner_id: row.id.clone(),
            erased_at,
        };
        self.outbox
            .enqueue(&txn, PEOPLE_PARTNERS, &row.id, &caller.tenant, &event)
            .await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %row.id, "partner erased");
        Ok(erased.into())
    }

    async fn roles(&self, caller: &Caller, id: &str) -> Result<PartnerRoles, ServiceError> {
        self.find(caller, id).await?;
        let roles = partner_roles(&self.db, &caller.tenant, id, self.clock.today()).await?;
        audit::record(&self.db, caller, "read", "partner_roles", id).await?;
        Ok(roles)
    }

    async fn grant_or_revoke(
        &self,
        caller: &Caller,
        request: RoleRequest,
        grant: bool,
    ) -> Result<PartnerRoles, ServiceError> {
        let role = request.role.trim();
        if !roles::role_known(role) {
            let known: Vec<&str> = roles::ROLES.iter().map(|(r, _, _)| *r).collect();
            return Err(ServiceError::invalid(
                "role",
                format!("must be one of {}", known.join(", ")),
            ));
        }
        let row = self.find(caller, &request.partner_id).await?;
        if row.status == Stage::Erased.as_str() {
            return Err(ServiceError::invalid(
                "partner_id",
                "this partner's record was erased",
            ));
        }
        let txn = self.db.begin().await?;
        // Each branch writes before it reads: an SQLite transaction that reads first cannot take
        // the write lock once another connection has written (SQLITE_BUSY_SNAPSHOT).
        if grant {
            let inserted = held_role::Entity::insert(held_role::ActiveModel {
                tenant_id: Set(caller.tenant.to_string()),
                partner_id: Set(row.id.clone()),
                role: Set(role.to_string()),
                granted_by: Set(caller.subject.clone()),
                granted_at: Set(self.clock.now_rfc3339()),
                ..Default::default()
            })
            .exec_without_returning(&txn)
            .await;
            match inserted.map_err(ServiceError::from) {
                Ok(_) => {}
                Err(ServiceError::Conflict(_)) => {
                    return Err(ServiceError::invalid(
                        "role",
                        "the partner already holds this role",
                    ))
                }
                Err(err) => return Err(err),
            }
        } else {
            let removed = held_role::Entity::delete_many()
                .filter(held_role::Column::TenantId.eq(caller.tenant.as_str()))
                .filter(held_role::Column::PartnerId.eq(&row.id))
                .filter(held_role::Column::Role.eq(role))
                .exec(&txn)
                .await?;
            if removed.rows_affected == 0 {
                return Err(ServiceError::invalid(
                    "role",
                    "the partner does not hold this role",
                ));
            }
        }
        self.after_roles_change(&txn, caller, &row.id).await?;
        let roles = partner_roles(&txn, &caller.tenant, &row.id, self.clock.today()).await?;
        txn.commit().await?;
        self.outbox.notify();
        Ok(roles)
    }

    async fn record_training(
        &self,
        caller: &Caller,
        request: RecordTrainingRequest,
    ) -> Result<PartnerRoles, ServiceError> {
        let record = crate::validate::training(&request, self.clock.today())?;
        let row = self.find(caller, &request.partner_id).await?;
        if row.status == Stage::Erased.as_str() {
            return Err(ServiceError::invalid(
                "partner_id",
                "this partner's record was erased",
            ));
        }
        let txn = self.db.begin().await?;
        training::Entity::insert(training::ActiveModel {
            tenant_id: Set(caller.tenant.to_string()),
            partner_id: Set(row.id.clone()),
            kind: Set(record.kind),
            completed_on: Set(record.completed_on.to_string()),
            expires_on: Set(record.expires_on.map(|d| d.to_string()).unwrap_or_default()),
            certificate_number: Set(record.certificate_number),
            recorded_by: Set(caller.subject.clone()),
            recorded_at: Set(self.clock.now_rfc3339()),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        self.after_roles_change(&txn, caller, &row.id).await?;
        let roles = partner_roles(&txn, &caller.tenant, &row.id, self.clock.today()).await?;
        txn.commit().await?;
        self.outbox.notify();
        Ok(roles)
    }

    /// Audits the change and publishes the partner's eligibility as it now stands.
    async fn after_roles_change(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        caller: &Caller,
        partner_id: &str,
    ) -> Result<(), ServiceError> {
        audit::record(txn, caller, "update", "partner_roles", partner_id).await?;
        let roles = partner_roles(txn, &caller.tenant, partner_id, self.clock.today()).await?;
        let event = PartnerEligibilityChanged {
            partner_id: partner_id.to_string(),
            roles: roles
                .roles
                .iter()
                .filter(|r| r.eligible)
                .map(|r| RoleEligibility {
                    role: r.role.clone(),
                    valid_until: r.valid_until.clone(),
                })
                .collect(),
            changed_at: self.clock.now_rfc3339(),
        };
        self.outbox
            .enqueue(txn, PEOPLE_PARTNERS, partner_id, &caller.tenant, &event)
            .await?;
        Ok(())
    }

    async fn expiring(
        &self,
        caller: &Caller,
        request: ListExpiringTrainingRequest,
    ) -> Result<ListExpiringTrainingResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let days = match request.within_days {
            0 => 60,
            d @ 1..=366 => d,
            _ => {
                return Err(ServiceError::invalid(
                    "within_days",
                    "must be between 1 and 366",
                ))
            }
        };
        let today = self.clock.today();
        let until = today + time::Duration::days(i64::from(days));
        let records = training::of_tenant(&caller.tenant)
            .filter(training::Column::ExpiresOn.ne(""))
            .filter(training::Column::ExpiresOn.gte(today.to_string()))
            .filter(training::Column::ExpiresOn.lte(until.to_string()))
            .all(&self.db)
            .await?;
        let mut items = Vec::new();
        for record in records {
            // Only a partner's latest record of a kind counts: one superseded by a renewal is not
            // "expiring".
            let latest = training::of_tenant(&caller.tenant)
                .filter(training::Column::PartnerId.eq(&record.partner_id))
                .filter(training::Column::Kind.eq(&record.kind))
                .order_by_desc(training::Column::CompletedOn)
                .order_by_desc(training::Column::Id)
                .one(&self.db)
                .await?;
            if latest.as_ref().map(|l| l.id) != Some(record.id) {
                continue;
            }
            let Some(who) = partner::for_tenant(&caller.tenant)
                .filter(partner::Column::Id.eq(&record.partner_id))
                .filter(
                    partner::Column::Status
                        .is_not_in([Stage::Erased.as_str(), Stage::Left.as_str()]),
                )
                .one(&self.db)
                .await?
            else {
                continue;
            };
            items.push(ExpiringTraining {
                partner_id: who.id,
                given_name: who.given_name,
                family_name: who.family_name,
                kind: record.kind,
                expires_on: record.expires_on,
            });
        }
        items.sort_by(|a, b| {
            (a.expires_on.as_str(), a.family_name.as_str())
                .cmp(&(b.expires_on.as_str(), b.family_name.as_str()))
        });
        let total = items.len() as u64;
        let items: Vec<_> = items
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.limit() as usize)
            .collect();
        audit::record(
            &self.db,
            caller,
            "list",
            "training",
            &format!("{} rows", items.len()),
        )
        .await?;
        Ok(ListExpiringTrainingResponse {
            items,
            page: Some(page.info(total)),
        })
    }

    async fn export(&self, caller: &Caller, id: &str) -> Result<PartnerDataExport, ServiceError> {
        if caller.role == Role::Partner && caller.subject != id {
            // A partner's own record only; another's is "not found".
            return Err(ServiceError::not_found("partner", id));
        }
        let row = self.find(caller, id).await?;
        let changes = history::of_partner(&caller.tenant, id)
            .all(&self.db)
            .await?;
        let accesses = audit::Entity::find()
            .filter(audit::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(audit::Column::SubjectId.eq(id))
            .order_by_asc(audit::Column::Id)
            .all(&self.db)
            .await?;
        let held = self.stored_profile(caller, id).await?;
        let notes = crate::support::note::of_partner(&caller.tenant, id)
            .order_by_desc(crate::support::note::Column::Id)
            .all(&self.db)
            .await?;
        let roles = partner_roles(&self.db, &caller.tenant, id, self.clock.today()).await?;
        let equality = if caller.role == Role::Partner {
            crate::equality::of_partner(&caller.tenant, id)
                .one(&self.db)
                .await?
                .map(equality::to_answers)
        } else {
            None
        };
        audit::record(&self.db, caller, "export", "partner", id).await?;
        Ok(PartnerDataExport {
            roles: Some(roles),
            equality,
            profile: Some(crate::profile::view(&held, caller.role)),
            // Debrief and wellbeing notes are for the supporter and the leads: an export by the
            // partner or an administrator says how many there are, not what they say.
            support_notes: if caller.role == Role::EngagementLead {
                notes.clone().into_iter().map(Into::into).collect()
            } else {
                Vec::new()
            },
            support_notes_held: notes.len() as u32,
            consents: crate::consent::of_partner(&caller.tenant, id)
                .order_by_desc(crate::consent::Column::Id)
                .all(&self.db)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
            partner: Some(row.into()),
            status_history: changes.into_iter().map(Into::into).collect(),
            access_log: accesses
                .into_iter()
                .map(|a| AccessRecord {
                    at: a.at,
                    actor_role: a.actor_role,
                    action: a.action,
                })
                .collect(),
            generated_at: self.clock.now_rfc3339(),
        })
    }

    async fn list(
        &self,
        caller: &Caller,
        request: ListPartnersRequest,
    ) -> Result<ListPartnersResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let mut query = partner::for_tenant(&caller.tenant);
        query = match request.status.trim() {
            "" => query.filter(partner::Column::Status.ne(Stage::Erased.as_str())),
            status => {
                let status = Stage::parse(status).ok_or_else(|| {
                    ServiceError::invalid(
                        "status",
                        "must be one of interest, application, conversation, checks, induction, active, resting, left, erased",
                    )
                })?;
                query.filter(partner::Column::Status.eq(status.as_str()))
            }
        };
        let search = request.search.trim();
        if !search.is_empty() {
            // One lower-cased column (name and locality).
            query = query.filter(
                sea_orm::sea_query::Expr::col(partner::Column::SearchText).like(contains(search)),
            );
        }
        query = filters(query, caller, &request, self.clock.today())?;
        use partner::Column::{FamilyName, GivenName, Id, RegisteredAt};
        // The id breaks ties in the same direction, so each order is one index walk.
        let sorted = match request.sort.as_str() {
            "" | "name" => query
                .clone()
                .order_by_asc(FamilyName)
                .order_by_asc(GivenName)
                .order_by_asc(Id),
            "-name" => query
                .clone()
                .order_by_desc(FamilyName)
                .order_by_desc(GivenName)
                .order_by_desc(Id),
            "registered_at" => query.clone().order_by_asc(RegisteredAt).order_by_asc(Id),
            "-registered_at" => query.clone().order_by_desc(RegisteredAt).order_by_desc(Id),
            _ => {
                return Err(ServiceError::invalid(
                    "sort",
                    "must be one of name, -name, registered_at, -registered_at",
                ))
            }
        };
        // The total (without the ordering: sorting rows only to count them is wasted work) and
        // the page are each one pass over the index; run side by side on two pooled connections.
        let (total, rows) = tokio::try_join!(
            alongside_platform::paging::count(query, &self.db),
            sorted
                .offset(page.offset())
                .limit(page.limit())
                .all(&self.db)
        )?;
        audit::record(
            &self.db,
            caller,
            if request.export { "export" } else { "list" },
            "partner",
            &format!("{} rows", rows.len()),
        )
        .await?;
        Ok(ListPartnersResponse {
            partners: rows.into_iter().map(Into::into).collect(),
            page: Some(page.info(total)),
        })
    }
}

/// A LIKE pattern matching `text` anywhere, lower-cased, with LIKE's wildcards escaped.
fn contains(text: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// The list's filters beyond status and search: role held, locality, lived experience, and
/// training expiring soon. Each is a subquery on the tenant's own rows.
fn filters(
    mut query: sea_orm::Select<partner::Entity>,
    caller: &Caller,
    request: &ListPartnersRequest,
    today: time::Date,
) -> Result<sea_orm::Select<partner::Entity>, ServiceError> {
    use sea_orm::sea_query::{Expr, Func, Query};
    let mut v = alongside_platform::error::Violations::default();
    let tenant = caller.tenant.as_str();
    let role = request.role.trim();
    if !role.is_empty() {
        if roles::role_known(role) {
            query = query.filter(
                partner::Column::Id.in_subquery(
                    Query::select()
                        .column(held_role::Column::PartnerId)
                        .from(held_role::Entity)
                        .and_where(held_role::Column::TenantId.eq(tenant))
                        .and_where(held_role::Column::Role.eq(role))
                        .to_owned(),
                ),
            );
        } else {
            v.push(
                "role",
                format!(
                    "must be one of {}",
                    alongside_proto::PARTNER_ROLES.join(", ")
                ),
            );
        }
    }
    let locality = request.locality.trim();
    if !locality.is_empty() {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(partner::Column::Locality)))
                .eq(locality.to_lowercase()),
        );
    }
    let pathway = request.pathway.trim();
    if !pathway.is_empty() {
        query = query.filter(
            partner::Column::Id.in_subquery(
                Query::select()
                    .column(crate::profile::Column::PartnerId)
                    .from(crate::profile::Entity)
                    .and_where(crate::profile::Column::TenantId.eq(tenant))
                    .and_where(
                        Expr::expr(Func::lower(Expr::col(
                            crate::profile::Column::LivedExperience,
                        )))
                        .like(contains(pathway)),
                    )
                    .to_owned(),
            ),
        );
    }
    if request.expiring_within_days > 0 {
        if request.expiring_within_days > 366 {
            v.push("expiring_within_days", "must be between 1 and 366");
        } else {
            let from = today;
            let to = from + time::Duration::days(i64::from(request.expiring_within_days));
            use sea_orm::sea_query::Alias;
            use training::Column as T;
            let (t, u) = (Alias::new("t"), Alias::new("u"));
            let renewed = Query::select()
                .expr(Expr::val(1))
                .from_as(training::Entity, u.clone())
                .and_where(Expr::col((u.clone(), T::TenantId)).equals((t.clone(), T::TenantId)))
                .and_where(Expr::col((u.clone(), T::PartnerId)).equals((t.clone(), T::PartnerId)))
                .and_where(Expr::col((u.clone(), T::Kind)).equals((t.clone(), T::Kind)))
                .and_where(Expr::col((u, T::Id)).gt(Expr::col((t.clone(), T::Id))))
                .to_owned();
            query = query.filter(
                partner::Column::Id.in_subquery(
                    Query::select()
                        .column((t.clone(), T::PartnerId))
                        .from_as(training::Entity, t.clone())
                        .and_where(Expr::col((t.clone(), T::TenantId)).eq(tenant))
                        .and_where(Expr::col((t.clone(), T::ExpiresOn)).ne(""))
                        .and_where(Expr::col((t.clone(), T::ExpiresOn)).gte(from.to_string()))
                        .and_where(Expr::col((t, T::ExpiresOn)).lte(to.to_string()))
                        // The latest record of each kind counts: a renewed course is not expiring.
                        .and_where(Expr::exists(renewed).not())
                        .to_owned(),
                ),
            );
        }
    }
    v.finish()?;
    Ok(query)
}

/// The roles a partner holds with their eligibility today, and their latest record of each kind.
async fn partner_roles(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    partner_id: &str,
    today: time::Date,
) -> Result<PartnerRoles, ServiceError> {
    let held = held_role::of_partner(tenant, partner_id)
        .order_by_asc(held_role::Column::Role)
        .all(db)
        .await?;
    let records = training::of_tenant(tenant)
        .filter(training::Column::PartnerId.eq(partner_id))
        .order_by_asc(training::Column::CompletedOn)
        .order_by_asc(training::Column::Id)
        .all(db)
        .await?;
    // Later records of a kind replace earlier ones.
    let mut latest: std::collections::BTreeMap<String, training::Model> = Default::default();
    for record in records {
        latest.insert(record.kind.clone(), record);
    }
    let on_record: roles::Held = latest
        .values()
        .filter_map(|r| {
            let completed = alongside_platform::parse_date(&r.completed_on)?;
            let expires = alongside_platform::parse_date(&r.expires_on);
            Some((r.kind.clone(), (completed, expires)))
        })
        .collect();
    Ok(PartnerRoles {
        partner_id: partner_id.to_string(),
        roles: held
            .iter()
            .map(|h| {
                let e = roles::eligibility(&h.role, &on_record, today);
                RoleStatus {
                    role: h.role.clone(),
                    eligible: e.eligible,
                    missing: e.missing,
                    valid_until: e.valid_until.map(|d| d.to_string()).unwrap_or_default(),
                    requires: roles::requirements(&h.role)
                        .iter()
                        .map(|r| r.to_string())
                        .collect(),
                }
            })
            .collect(),
        training: latest
            .into_values()
            .map(|r| TrainingRecord {
                kind: r.kind,
                completed_on: r.completed_on,
                expires_on: r.expires_on,
                certificate_number: r.certificate_number,
                recorded_at: r.recorded_at,
            })
            .collect(),
    })
}

/// Appends one move to the partner's history.
async fn append_history(
    db: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    partner_id: &str,
    from: &str,
    to: &str,
    why: &str,
    at: &str,
) -> Result<(), ServiceError> {
    history::Entity::insert(history::ActiveModel {
        tenant_id: Set(caller.tenant.to_string()),
        partner_id: Set(partner_id.to_string()),
        from_status: Set(from.to_string()),
        to_status: Set(to.to_string()),
        reason: Set(why.to_string()),
        changed_by: Set(caller.subject.clone()),
        changed_at: Set(at.to_string()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A new record of the caller's trust (and ICS) from checked registration details.
fn new_partner(
    caller: &Caller,
    r: RegisterPartnerRequest,
    status: Stage,
    registered_by: &str,
    registered_at: String,
) -> partner::Model {
    partner::Model {
        search_text: partner::search_text(&r.given_name, &r.family_name, &r.locality),
        id: ids::new_id(PARTNER),
        tenant_id: caller.tenant.to_string(),
        given_name: r.given_name,
        family_name: r.family_name,
        email: r.email,
        phone: r.phone,
        locality: r.locality,
        status: status.to_string(),
        registered_at,
        registered_by: registered_by.to_string(),
        ics_id: caller
            .ics
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        shared_from: String::new(),
        shared_from_tenant: String::new(),
    }
}

fn to_active(m: &partner::Model) -> partner::ActiveModel {
    partner::ActiveModel {
        id: Set(m.id.clone()),
        tenant_id: Set(m.tenant_id.clone()),
        given_name: Set(m.given_name.clone()),
        family_name: Set(m.family_name.clone()),
        email: Set(m.email.clone()),
        phone: Set(m.phone.clone()),
        locality: Set(m.locality.clone()),
        status: Set(m.status.clone()),
        registered_at: Set(m.registered_at.clone()),
        registered_by: Set(m.registered_by.clone()),
        search_text: Set(m.search_text.clone()),
        ics_id: Set(m.ics_id.clone()),
        shared_from: Set(m.shared_from.clone()),
        shared_from_tenant: Set(m.shared_from_tenant.clone()),
    }
}

#[tonic::async_trait]
impl PeopleService for PeopleApi {
    async fn register_partner(
        &self,
        request: Request<RegisterPartnerRequest>,
    ) -> Result<Response<Partner>, Status> {
        let caller = grpc::authorize(&request, &[Role::EngagementLead, Role::Admin])?;
        Ok(Response::new(
            self.register(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_partner(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<Partner>, Status> {
        let caller = grpc::authorize(&request, BANK_ROLES)?;
        Ok(Response::new(
            self.get(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn list_partners(
        &self,
        request: Request<ListPartnersRequest>,
    ) -> Result<Response<ListPartnersResponse>, Status> {
        let caller = grpc::authorize(&request, BANK_ROLES)?;
        Ok(Response::new(
            self.list(&caller, request.into_inner()).await?,
        ))
    }

    async fn change_status(
        &self,
        request: Request<ChangeStatusRequest>,
    ) -> Result<Response<Partner>, Status> {
        let caller = grpc::authorize(&request, LEAD_ROLES)?;
        Ok(Response::new(
            self.change_status(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_status_history(
        &self,
        request: Request<ListStatusHistoryRequest>,
    ) -> Result<Response<ListStatusHistoryResponse>, Status> {
        let caller = grpc::authorize(&request, BANK_ROLES)?;
        Ok(Response::new(
            self.history(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn erase_partner(
        &self,
        request: Request<ErasePartnerRequest>,
    ) -> Result<Response<Partner>, Status> {
        let caller = grpc::authorize(&request, LEAD_ROLES)?;
        Ok(Response::new(
            self.erase(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_partner_roles(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<PartnerRoles>, Status> {
        let caller = grpc::authorize(&request, BANK_ROLES)?;
        Ok(Response::new(
            self.roles(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn grant_role(
        &self,
        request: Request<RoleRequest>,
    ) -> Result<Response<PartnerRoles>, Status> {
        let caller = grpc::authorize(&request, LEAD_ROLES)?;
        Ok(Response::new(
            self.grant_or_revoke(&caller, request.into_inner(), true)
                .await?,
        ))
    }

    async fn revoke_role(
        &self,
        request: Request<RoleRequest>,
    ) -> Result<Response<PartnerRoles>, Status> {
        let caller = grpc::authorize(&request, LEAD_ROLES)?;
        Ok(Response::new(
            self.grant_or_revoke(&caller, request.into_inner(), false)
                .await?,
        ))
    }

    async fn record_training(
        &self,
        request: Request<RecordTrainingRequest>,
    ) -> Result<Response<PartnerRoles>, Status> {
        let caller = grpc::authorize(&request, LEAD_ROLES)?;
        Ok(Response::new(
            self.record_training(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_expiring_training(
        &self,
        request: Request<ListExpiringTrainingRequest>,
    ) -> Result<Response<ListExpiringTrainingResponse>, Status> {
        let caller = grpc::authorize(&request, BANK_ROLES)?;
        Ok(Response::new(
            self.expiring(&caller, request.into_inner()).await?,
        ))
    }

    async fn export_partner_data(
        &self,
        request: Request<ExportPartnerDataRequest>,
    ) -> Result<Response<PartnerDataExport>, Status> {
        let caller = grpc::authorize(&request, EXPORT_ROLES)?;
        Ok(Response::new(
            self.export(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn get_profile(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<Profile>, Status> {
        let caller = grpc::authorize(&request, profile::PROFILE_READERS)?;
        Ok(Response::new(
            self.get_profile(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn update_profile(
        &self,
        request: Request<UpdateProfileRequest>,
    ) -> Result<Response<Profile>, Status> {
        let caller = grpc::authorize(&request, profile::PROFILE_EDITORS)?;
        Ok(Response::new(
            self.update_profile(&caller, request.into_inner()).await?,
        ))
    }

    async fn set_bank_details(
        &self,
        request: Request<SetBankDetailsRequest>,
    ) -> Result<Response<Profile>, Status> {
        let caller = grpc::authorize(&request, profile::BANK_EDITORS)?;
        Ok(Response::new(
            self.set_bank_details(&caller, request.into_inner()).await?,
        ))
    }

    async fn reveal_bank_details(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<BankDetails>, Status> {
        let caller = grpc::authorize(&request, &[Role::Finance])?;
        Ok(Response::new(
            self.reveal_bank_details(&caller, &request.get_ref().id)
                .await?,
        ))
    }

    async fn get_payees(
        &self,
        request: Request<GetPayeesRequest>,
    ) -> Result<Response<GetPayeesResponse>, Status> {
        let caller = grpc::authorize(&request, &[Role::Finance])?;
        Ok(Response::new(
            self.payees(&caller, request.into_inner()).await?,
        ))
    }

    async fn express_interest(
        &self,
        request: Request<ExpressInterestRequest>,
    ) -> Result<Response<ExpressInterestResponse>, Status> {
        let caller = grpc::authorize(&request, &[Role::Public])?;
        Ok(Response::new(
            self.express_interest(&caller, request.into_inner()).await?,
        ))
    }

    async fn record_consent(
        &self,
        request: Request<RecordConsentRequest>,
    ) -> Result<Response<ListConsentsResponse>, Status> {
        let caller = grpc::authorize(&request, interest::CONSENT_EDITORS)?;
        Ok(Response::new(
            self.record_consent(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_consents(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<ListConsentsResponse>, Status> {
        let caller = grpc::authorize(&request, interest::CONSENT_READERS)?;
        Ok(Response::new(
            self.list_consents(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn assign_supporter(
        &self,
        request: Request<AssignSupporterRequest>,
    ) -> Result<Response<Support>, Status> {
        let caller = grpc::authorize(&request, support::SUPPORT_ASSIGNERS)?;
        Ok(Response::new(
            self.assign_supporter(&caller, request.into_inner()).await?,
        ))
    }

    async fn add_support_note(
        &self,
        request: Request<AddSupportNoteRequest>,
    ) -> Result<Response<Support>, Status> {
        let caller = grpc::authorize(&request, support::SUPPORT_READERS)?;
        Ok(Response::new(
            self.add_support_note(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_support(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<Support>, Status> {
        let caller = grpc::authorize(&request, support::SUPPORT_READERS)?;
        Ok(Response::new(
            self.get_support(&caller, &request.get_ref().id).await?,
        ))
    }

    async fn record_equality_answers(
        &self,
        request: Request<EqualityAnswers>,
    ) -> Result<Response<EqualityAnswers>, Status> {
        let caller = grpc::authorize(&request, &[Role::Partner])?;
        Ok(Response::new(
            self.record_equality_answers(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_equality_answers(
        &self,
        request: Request<GetPartnerRequest>,
    ) -> Result<Response<EqualityAnswers>, Status> {
        let caller = grpc::authorize(&request, &[Role::Partner])?;
        Ok(Response::new(
            self.get_equality_answers(&caller, &request.get_ref().id)
                .await?,
        ))
    }

    async fn get_equality_report(
        &self,
        request: Request<EqualityReportRequest>,
    ) -> Result<Response<EqualityReport>, Status> {
        let caller = grpc::authorize(&request, equality::REPORT_READERS)?;
        Ok(Response::new(self.equality_report(&caller).await?))
    }

    async fn list_shared_partners(
        &self,
        request: Request<ListSharedPartnersRequest>,
    ) -> Result<Response<ListPartnersResponse>, Status> {
        let caller = grpc::authorize(&request, sharing::SHARING_ROLES)?;
        Ok(Response::new(
            self.list_shared(&caller, request.into_inner()).await?,
        ))
    }

    async fn adopt_shared_partner(
        &self,
        request: Request<AdoptSharedPartnerRequest>,
    ) -> Result<Response<Partner>, Status> {
        let caller = grpc::authorize(&request, sharing::SHARING_ROLES)?;
        Ok(Response::new(
            self.adopt_shared(&caller, &request.get_ref().partner_id)
                .await?,
        ))
    }

    async fn set_population(
        &self,
        request: Request<SetPopulationRequest>,
    ) -> Result<Response<EqualityReport>, Status> {
        let caller = grpc::authorize(&request, equality::POPULATION_EDITORS)?;
        Ok(Response::new(
            self.set_population(&caller, request.into_inner()).await?,
        ))
    }
}
