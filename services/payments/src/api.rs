//! The gRPC API of payments.

use alongside_platform::paging::Page;
use alongside_platform::{audit, grpc, Caller, Role, ServiceError};
use alongside_proto::payments::v1::payments_service_server::PaymentsService;
use alongside_proto::payments::v1::*;
use sea_orm::{
    ColumnTrait, DatabaseConnection, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use tonic::{Request, Response, Status};

use crate::claim;

/// Finance, the engagement lead and admins see every claim of their trust; a partner sees their own.
const READERS: &[Role] = &[
    Role::Finance,
    Role::EngagementLead,
    Role::Admin,
    Role::Partner,
];

pub struct PaymentsApi {
    db: DatabaseConnection,
}

impl PaymentsApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn visible(caller: &Caller) -> Select<claim::Entity> {
        let query = claim::for_tenant(&caller.tenant);
        if caller.role == Role::Partner {
            query.filter(claim::Column::PartnerId.eq(&caller.subject))
        } else {
            query
        }
    }

    async fn list(
        &self,
        caller: &Caller,
        request: ListClaimsRequest,
    ) -> Result<ListClaimsResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let mut query = Self::visible(caller);
        if !request.partner_id.is_empty() {
            query = query.filter(claim::Column::PartnerId.eq(&request.partner_id));
        }
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(claim::Column::CreatedAt)
            .order_by_asc(claim::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        audit::record(
            &self.db,
            caller,
            "list",
            "claim",
            &format!("{} rows", rows.len()),
        )
        .await?;
        Ok(ListClaimsResponse {
            claims: rows.into_iter().map(Into::into).collect(),
            page: Some(page.info(total)),
        })
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<Claim, ServiceError> {
        let row = Self::visible(caller)
            .filter(claim::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("claim", id))?;
        audit::record(&self.db, caller, "read", "claim", id).await?;
        Ok(row.into())
    }
}

#[tonic::async_trait]
impl PaymentsService for PaymentsApi {
    async fn list_claims(
        &self,
        request: Request<ListClaimsRequest>,
    ) -> Result<Response<ListClaimsResponse>, Status> {
        let caller = grpc::authorize(&request, READERS)?;
        Ok(Response::new(
            self.list(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_claim(
        &self,
        request: Request<GetClaimRequest>,
    ) -> Result<Response<Claim>, Status> {
        let caller = grpc::authorize(&request, READERS)?;
        Ok(Response::new(
            self.get(&caller, &request.get_ref().id).await?,
        ))
    }
}
