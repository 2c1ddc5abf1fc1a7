//! The partner read model, built from `people.partners.v1`: who exists, in which trust, in which
//! state. No contact details ever reach this service.

use alongside_events::{Envelope, Handler, HandlerError};
use alongside_proto::people::events::v1::PartnerRegistered;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};

use crate::store::known_partner;

pub struct PartnerReadModel;

#[async_trait::async_trait]
impl Handler for PartnerReadModel {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        if !event.is::<PartnerRegistered>() {
            // Other partner events are not needed by engagement yet.
            return Ok(());
        }
        let registered: PartnerRegistered = event.payload()?;
        if registered.partner_id.is_empty() {
            return Err(HandlerError::Poison(
                "PartnerRegistered without partner_id".into(),
            ));
        }
        let row = known_partner::ActiveModel {
            partner_id: Set(registered.partner_id),
            tenant_id: Set(event.tenant().to_string()),
            status: Set(registered.status),
            locality: Set(registered.locality),
            updated_at: Set(event.inner.occurred_at.clone()),
        };
        known_partner::Entity::insert(row)
            .on_conflict(
                OnConflict::column(known_partner::Column::PartnerId)
                    .update_columns([
                        known_partner::Column::Status,
                        known_partner::Column::Locality,
                        known_partner::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        Ok(())
    }
}
