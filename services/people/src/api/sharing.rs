//! One person, several trusts of an ICS: partners who consent to sharing can be found by the
//! other trusts of their ICS and added there without re-entering their details.

use sea_orm::sea_query::{Alias, Expr, Query};

use super::*;
use crate::consent;

/// Who may look across the ICS and add a shared partner.
pub(super) const SHARING_ROLES: &[Role] = &[Role::EngagementLead];

impl PeopleApi {
    /// Active partners of the caller's ICS, at other trusts, whose latest `sharing` consent is a
    /// grant. Nothing at all when the caller's trust belongs to no ICS.
    fn shared(&self, caller: &Caller) -> Result<sea_orm::Select<partner::Entity>, ServiceError> {
        let Some(ics) = caller.ics.as_ref() else {
            return Err(ServiceError::invalid(
                "ics",
                "your trust belongs to no integrated care system, so no partners are shared with it",
            ));
        };
        use consent::Column as C;
        let (c, d) = (Alias::new("c"), Alias::new("d"));
        let later = Query::select()
            .expr(Expr::val(1))
            .from_as(consent::Entity, d.clone())
            .and_where(Expr::col((d.clone(), C::TenantId)).equals((c.clone(), C::TenantId)))
            .and_where(Expr::col((d.clone(), C::PartnerId)).equals((c.clone(), C::PartnerId)))
            .and_where(Expr::col((d.clone(), C::Purpose)).equals((c.clone(), C::Purpose)))
            .and_where(Expr::col((d, C::Id)).gt(Expr::col((c.clone(), C::Id))))
            .to_owned();
        let consenting = Query::select()
            .column((c.clone(), C::PartnerId))
            .from_as(consent::Entity, c.clone())
            .and_where(Expr::col((c.clone(), C::Purpose)).eq("sharing"))
            .and_where(Expr::col((c, C::Granted)).eq(true))
            .and_where(Expr::exists(later).not())
            .to_owned();
        Ok(partner::Entity::find()
            .filter(partner::Column::IcsId.eq(ics.as_str()))
            .filter(partner::Column::TenantId.ne(caller.tenant.as_str()))
            .filter(partner::Column::Status.eq(Stage::Active.as_str()))
            .filter(partner::Column::Id.in_subquery(consenting)))
    }

    pub(super) async fn list_shared(
        &self,
        caller: &Caller,
        request: ListSharedPartnersRequest,
    ) -> Result<ListPartnersResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let mut query = self.shared(caller)?;
        let search = request.search.trim();
        if !search.is_empty() {
            query = query.filter(Expr::col(partner::Column::SearchText).like(contains(search)));
        }
        let total = alongside_platform::paging::count(query.clone(), &self.db).await?;
        let rows = query
            .order_by_asc(partner::Column::FamilyName)
            .order_by_asc(partner::Column::GivenName)
            .order_by_asc(partner::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        audit::record(
            &self.db,
            caller,
            "list",
            "shared_partner",
            &format!("{} rows", rows.len()),
        )
        .await?;
        Ok(ListPartnersResponse {
            // Contact details stay with their trust until the partner is added.
            partners: rows
                .into_iter()
                .map(|m| partner::Model {
                    email: String::new(),
                    phone: String::new(),
                    ..m
                })
                .map(Into::into)
                .collect(),
            page: Some(page.info(total)),
        })
    }

    pub(super) async fn adopt_shared(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Partner, ServiceError> {
        let source = self
            .shared(caller)?
            .filter(partner::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("shared partner", id))?;
        let source_tenant = alongside_platform::OdsCode::parse(&source.tenant_id)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let already = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::Email.eq(&source.email))
            .count(&self.db)
            .await?;
        if already > 0 {
            return Err(ServiceError::Conflict(
                "this partner is already in your People Bank".into(),
            ));
        }
        let now = self.clock.now_rfc3339();
        // Every record of the person points at the first, so a withdrawal reaches them all.
        let (first, first_tenant) = if source.shared_from.is_empty() {
            (source.id.clone(), source.tenant_id.clone())
        } else {
            (
                source.shared_from.clone(),
                source.shared_from_tenant.clone(),
            )
        };
        let row = partner::Model {
            id: ids::new_id(PARTNER),
            tenant_id: caller.tenant.to_string(),
            status: Stage::Active.to_string(),
            registered_at: now.clone(),
            registered_by: caller.subject.clone(),
            shared_from: first,
            shared_from_tenant: first_tenant,
            ..source.clone()
        };
        let consents = consent::of_partner(&source_tenant, &source.id)
            .order_by_desc(consent::Column::Id)
            .all(&self.db)
            .await?;
        let profile = crate::profile::of_partner(&source_tenant, &source.id)
            .one(&self.db)
            .await?;
        let txn = self.db.begin().await?;
        partner::Entity::insert(to_active(&row))
            .exec_without_returning(&txn)
            .await?;
        let why = format!(
            "Joined from {} with their consent to be offered across the ICS",
            source.tenant_id
        );
        self.created(&txn, caller, &row, &why).await?;
        // What they agreed to comes with them (the latest of each purpose).
        for held in consent::current(&consents) {
            let mut copied = sea_orm::ActiveModelTrait::reset_all(
                sea_orm::IntoActiveModel::into_active_model(held),
            );
            copied.id = sea_orm::ActiveValue::NotSet;
            copied.tenant_id = Set(caller.tenant.to_string());
            copied.partner_id = Set(row.id.clone());
            consent::Entity::insert(copied)
                .exec_without_returning(&txn)
                .await?;
        }
        // Their profile too, but not bank details: those are sealed to the first trust's record,
        // and the partner gives them to each trust that pays them.
        if let Some(p) = profile {
            let copied = crate::profile::Model {
                partner_id: row.id.clone(),
                tenant_id: caller.tenant.to_string(),
                bank_sealed: String::new(),
                bank_masked: String::new(),
                bank_updated_at: String::new(),
                updated_at: now.clone(),
                updated_by: caller.subject.clone(),
                ..p
            };
            crate::profile::Entity::insert(sea_orm::ActiveModelTrait::reset_all(
                sea_orm::IntoActiveModel::into_active_model(copied.clone()),
            ))
            .exec_without_returning(&txn)
            .await?;
            // This trust's payments pays them as they asked the first.
            let terms = crate::profile::payment_terms(&copied);
            self.outbox
                .enqueue(&txn, PEOPLE_PARTNERS, &row.id, &caller.tenant, &terms)
                .await?;
        }
        // Their first trust's log shows who took the record across.
        let at_source = Caller {
            tenant: source_tenant,
            ..caller.clone()
        };
        audit::record(&txn, &at_source, "share", "partner", &source.id).await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %row.id, from = %source.tenant_id, "shared partner added");
        Ok(row.into())
    }
}
