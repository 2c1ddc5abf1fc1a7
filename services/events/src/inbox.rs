//! `processed_events(consumer, event_id)`: committed in the same transaction as an event's effect,
//! so a redelivered event is a no-op.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseTransaction};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "processed_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub consumer: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub processed_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `consumer` has processed `event_id`; false if it already had.
pub async fn claim(
    txn: &DatabaseTransaction,
    consumer: &str,
    event_id: &str,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        consumer: Set(consumer.to_string()),
        event_id: Set(event_id.to_string()),
        processed_at: Set(alongside_platform::now_rfc3339()),
    };
    let inserted = Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Consumer, Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(inserted == 1)
}

/// Records that `consumer` has processed each of `event_ids`, and returns those it had not
/// processed before (in the order given, each once).
pub async fn claim_many(
    txn: &DatabaseTransaction,
    consumer: &str,
    event_ids: &[&str],
) -> Result<Vec<String>, DbErr> {
    let seen: std::collections::HashSet<String> = Entity::find()
        .filter(Column::Consumer.eq(consumer))
        .filter(Column::EventId.is_in(event_ids.iter().copied()))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| row.event_id)
        .collect();
    let mut fresh: Vec<String> = Vec::new();
    for id in event_ids {
        if !seen.contains(*id) && !fresh.iter().any(|f| f == id) {
            fresh.push((*id).to_owned());
        }
    }
    if fresh.is_empty() {
        return Ok(fresh);
    }
    let at = alongside_platform::now_rfc3339();
    // A plain insert: a row another consumer wrote meanwhile fails the batch, which is then
    // applied one event at a time.
    Entity::insert_many(fresh.iter().map(|id| ActiveModel {
        consumer: Set(consumer.to_string()),
        event_id: Set(id.clone()),
        processed_at: Set(at.clone()),
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(fresh)
}
