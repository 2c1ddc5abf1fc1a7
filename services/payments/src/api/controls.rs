//! The money controls: who changed a payee's bank details (from people), and whether the trust
//! has runs confirmed by someone other than who drafted them.

use std::collections::{BTreeSet, HashMap};

use alongside_platform::{audit, Caller, ServiceError};
use alongside_proto::payments::v1::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use super::PaymentsApi;
use crate::controls;
use crate::store::partner;

impl PaymentsApi {
    /// What payments holds of the partners `ids` of the caller's trust, by id.
    pub(super) async fn payees(
        &self,
        caller: &Caller,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<HashMap<String, partner::Model>, ServiceError> {
        let ids: Vec<String> = ids
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut held = HashMap::new();
        // Bounded statements: SQLite takes at most 32,766 parameters in one.
        for chunk in ids.chunks(1_000) {
            for p in partner::for_tenant(&caller.tenant)
                .filter(partner::Column::PartnerId.is_in(chunk.to_vec()))
                .all(&self.db)
                .await?
            {
                held.insert(p.partner_id.clone(), p);
            }
        }
        Ok(held)
    }

    pub(super) async fn controls(
        &self,
        caller: &Caller,
        _: GetPaymentControlsRequest,
    ) -> Result<PaymentControls, ServiceError> {
        Ok(to_proto(
            controls::of_tenant(&self.db, &caller.tenant).await?,
        ))
    }

    pub(super) async fn set_controls(
        &self,
        caller: &Caller,
        r: PaymentControls,
    ) -> Result<PaymentControls, ServiceError> {
        let row = controls::Model {
            tenant_id: caller.tenant.to_string(),
            separate_confirmer: r.separate_confirmer,
            updated_by: caller.subject.clone(),
            updated_at: self.clock.now_rfc3339(),
        };
        let txn = self.db.begin().await?;
        controls::Entity::insert(sea_orm::IntoActiveModel::into_active_model(row.clone()))
            .on_conflict(
                OnConflict::column(controls::Column::TenantId)
                    .update_columns([
                        controls::Column::SeparateConfirmer,
                        controls::Column::UpdatedBy,
                        controls::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        audit::record(
            &txn,
            caller,
            "update",
            "payment_controls",
            caller.tenant.as_str(),
        )
        .await?;
        txn.commit().await?;
        Ok(to_proto(row))
    }
}

fn to_proto(m: controls::Model) -> PaymentControls {
    PaymentControls {
        separate_confirmer: m.separate_confirmer,
        updated_by: m.updated_by,
        updated_at: m.updated_at,
    }
}
