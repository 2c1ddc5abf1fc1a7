//! The gRPC API of the People Bank.

use alongside_events::topics::PEOPLE_PARTNERS;
use alongside_events::Outbox;
use alongside_platform::ids::{self, PARTNER};
use alongside_platform::paging::Page;
use alongside_platform::{audit, grpc, Caller, Role, ServiceError};
use alongside_proto::people::events::v1::PartnerRegistered;
use alongside_proto::people::v1::people_service_server::PeopleService;
use alongside_proto::people::v1::*;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tonic::{Request, Response, Status};

use crate::partner;

/// Who may see partners' personal data.
const BANK_ROLES: &[Role] = &[Role::EngagementLead, Role::Staff, Role::Admin];

pub struct PeopleApi {
    db: DatabaseConnection,
    outbox: Outbox,
}

impl PeopleApi {
    pub fn new(db: DatabaseConnection, outbox: Outbox) -> Self {
        Self { db, outbox }
    }

    async fn register(
        &self,
        caller: &Caller,
        request: RegisterPartnerRequest,
    ) -> Result<Partner, ServiceError> {
        let r = crate::validate::registration(request)?;
        let row = partner::Model {
            id: ids::new_id(PARTNER),
            tenant_id: caller.tenant.to_string(),
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            phone: r.phone,
            locality: r.locality,
            status: "active".into(),
            registered_at: alongside_platform::now_rfc3339(),
            registered_by: caller.subject.clone(),
        };
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
        let event = PartnerRegistered {
            partner_id: row.id.clone(),
            locality: row.locality.clone(),
            status: row.status.clone(),
            registered_at: row.registered_at.clone(),
        };
        let txn = self.db.begin().await?;
        partner::Entity::insert(to_active(&row))
            .exec_without_returning(&txn)
            .await?;
        audit::record(&txn, caller, "create", "partner", &row.id).await?;
        self.outbox
            .enqueue(&txn, PEOPLE_PARTNERS, &row.id, &caller.tenant, &event)
            .await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %row.id, tenant = %caller.tenant, "partner registered");
        Ok(row.into())
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<Partner, ServiceError> {
        let found = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::Id.eq(id))
            .one(&self.db)
            .await?;
        // Another tenant's partner is "not found", never "forbidden": existence is not disclosed.
        let row = found.ok_or_else(|| ServiceError::not_found("partner", id))?;
        audit::record(&self.db, caller, "read", "partner", id).await?;
        Ok(row.into())
    }

    async fn list(
        &self,
        caller: &Caller,
        request: ListPartnersRequest,
    ) -> Result<ListPartnersResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let mut query = partner::for_tenant(&caller.tenant);
        let search = request.search.trim();
        if !search.is_empty() {
            let pattern = format!("%{}%", search.to_lowercase());
            query = query.filter(
                Condition::any()
                    .add(
                        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                            sea_orm::sea_query::Expr::col(partner::Column::GivenName),
                        ))
                        .like(&pattern),
                    )
                    .add(
                        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                            sea_orm::sea_query::Expr::col(partner::Column::FamilyName),
                        ))
                        .like(&pattern),
                    )
                    .add(
                        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                            sea_orm::sea_query::Expr::col(partner::Column::Locality),
                        ))
                        .like(&pattern),
                    ),
            );
        }
        query = match request.sort.as_str() {
            "" | "name" => query
                .order_by_asc(partner::Column::FamilyName)
                .order_by_asc(partner::Column::GivenName),
            "-name" => query
                .order_by_desc(partner::Column::FamilyName)
                .order_by_desc(partner::Column::GivenName),
            "registered_at" => query.order_by_asc(partner::Column::RegisteredAt),
            "-registered_at" => query.order_by_desc(partner::Column::RegisteredAt),
            _ => {
                return Err(ServiceError::invalid(
                    "sort",
                    "must be one of name, -name, registered_at, -registered_at",
                ))
            }
        };
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_asc(partner::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        audit::record(
            &self.db,
            caller,
            "list",
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
}
