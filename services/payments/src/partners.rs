//! What payments learns of partners from `people.partners.v1`: whether they are still with the
//! trust and how they want to be paid. Erasure drops what payments holds that could identify them
//! or says something about them; claims and the ledger stay under the id, now a pseudonym.

use alongside_events::{Envelope, HandlerError};
use alongside_proto::people::events::v1::{
    PartnerBankDetailsChanged, PartnerErased, PartnerPaymentTermsChanged, PartnerRegistered,
    PartnerStatusChanged,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::claim;
use crate::store::{claim_event, item, partner, receipt};

pub async fn apply(txn: &DatabaseTransaction, event: &Envelope) -> Result<(), HandlerError> {
    let tenant = event.tenant().to_string();
    if event.is::<PartnerRegistered>() {
        let e: PartnerRegistered = event.payload()?;
        upsert(
            txn,
            partner::Model {
                status: e.status,
                updated_at: e.registered_at,
                ..partner::unknown(&tenant, &e.partner_id)
            },
            &[partner::Column::Status],
        )
        .await
    } else if event.is::<PartnerStatusChanged>() {
        let e: PartnerStatusChanged = event.payload()?;
        upsert(
            txn,
            partner::Model {
                status: e.to_status,
                updated_at: e.changed_at,
                ..partner::unknown(&tenant, &e.partner_id)
            },
            &[partner::Column::Status],
        )
        .await
    } else if event.is::<PartnerPaymentTermsChanged>() {
        let e: PartnerPaymentTermsChanged = event.payload()?;
        let row = partner::Model {
            preference: e.preference,
            reduced_amount_pence: e.reduced_amount_pence,
            receives_benefits: e.receives_benefits,
            benefits: e.benefits.join("\n"),
            updated_at: e.changed_at,
            ..partner::unknown(&tenant, &e.partner_id)
        };
        upsert(
            txn,
            row,
            &[
                partner::Column::Preference,
                partner::Column::ReducedAmountPence,
                partner::Column::ReceivesBenefits,
                partner::Column::Benefits,
            ],
        )
        .await
    } else if event.is::<PartnerBankDetailsChanged>() {
        let e: PartnerBankDetailsChanged = event.payload()?;
        let row = partner::Model {
            bank_changed_by: e.changed_by,
            bank_changed_at: e.changed_at.clone(),
            updated_at: e.changed_at,
            ..partner::unknown(&tenant, &e.partner_id)
        };
        upsert(
            txn,
            row,
            &[
                partner::Column::BankChangedBy,
                partner::Column::BankChangedAt,
            ],
        )
        .await
    } else if event.is::<PartnerErased>() {
        let e: PartnerErased = event.payload()?;
        erase(txn, &tenant, &e.partner_id, &e.erased_at).await
    } else {
        Ok(())
    }
}

/// Inserts the partner, or changes only `columns` (and the time) of the one held.
async fn upsert(
    txn: &DatabaseTransaction,
    row: partner::Model,
    columns: &[partner::Column],
) -> Result<(), HandlerError> {
    if let Some(held) = partner::Entity::find_by_id(&row.partner_id)
        .one(txn)
        .await?
    {
        if held.tenant_id != row.tenant_id {
            return Err(HandlerError::Poison(format!(
                "partner {} belongs to another trust",
                row.partner_id
            )));
        }
    }
    let mut update = columns.to_vec();
    update.push(partner::Column::UpdatedAt);
    partner::Entity::insert(sea_orm::ActiveModelTrait::reset_all(
        sea_orm::IntoActiveModel::into_active_model(row),
    ))
    .on_conflict(
        OnConflict::column(partner::Column::PartnerId)
            .update_columns(update)
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Keeps the money (claims, runs, the ledger: finance records are kept) under the pseudonymous
/// id, and drops the rest: receipts, what they wrote about their expenses, rejection reasons
/// and their benefits.
async fn erase(
    txn: &DatabaseTransaction,
    tenant: &str,
    partner_id: &str,
    at: &str,
) -> Result<(), HandlerError> {
    upsert(
        txn,
        partner::Model {
            status: "erased".into(),
            updated_at: at.to_string(),
            ..partner::unknown(tenant, partner_id)
        },
        &[
            partner::Column::Status,
            partner::Column::Preference,
            partner::Column::ReducedAmountPence,
            partner::Column::ReceivesBenefits,
            partner::Column::Benefits,
        ],
    )
    .await?;
    let claims: Vec<String> = claim::for_tenant(
        &alongside_platform::OdsCode::parse(tenant)
            .map_err(|e| HandlerError::Poison(e.to_string()))?,
    )
    .filter(claim::Column::PartnerId.eq(partner_id))
    .all(txn)
    .await?
    .into_iter()
    .map(|c| c.id)
    .collect();
    receipt::Entity::update_many()
        .col_expr(receipt::Column::Content, Expr::value(Vec::<u8>::new()))
        .col_expr(receipt::Column::Filename, Expr::value("erased"))
        .col_expr(receipt::Column::Sha256, Expr::value(""))
        .col_expr(receipt::Column::SizeBytes, Expr::value(0))
        .filter(receipt::Column::TenantId.eq(tenant))
        .filter(receipt::Column::PartnerId.eq(partner_id))
        .exec(txn)
        .await?;
    item::Entity::update_many()
        .col_expr(item::Column::Description, Expr::value(""))
        .filter(item::Column::TenantId.eq(tenant))
        .filter(item::Column::ClaimId.is_in(claims.clone()))
        .exec(txn)
        .await?;
    claim::Entity::update_many()
        .col_expr(
            claim::Column::Description,
            Expr::value("Expenses (details erased)"),
        )
        .filter(claim::Column::TenantId.eq(tenant))
        .filter(claim::Column::PartnerId.eq(partner_id))
        .filter(claim::Column::Kind.eq("expenses"))
        .exec(txn)
        .await?;
    claim::Entity::update_many()
        .col_expr(claim::Column::DecisionReason, Expr::value(""))
        .filter(claim::Column::TenantId.eq(tenant))
        .filter(claim::Column::PartnerId.eq(partner_id))
        .exec(txn)
        .await?;
    let rows: Vec<claim_event::ActiveModel> = claims
        .iter()
        .map(|id| {
            claim_event::row(
                tenant,
                id,
                "erased",
                "people",
                "personal details erased; amounts kept",
                at,
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        claim_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    tracing::info!(
        partner_id,
        "payments: partner erased, finance records kept under the id"
    );
    Ok(())
}
