//! `processed_events(consumer, event_id)`: committed in the same transaction as an event's effect,
//! so a redelivered event is a no-op.

use alongside_platform::clock::{Clock, SystemClock};
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
        processed_at: Set(SystemClock.now_rfc3339()),
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
/// processed before (in the order given, each once). One statement that writes first: SQLite
/// refuses a transaction that reads and then writes while another connection writes.
pub async fn claim_many(
    txn: &DatabaseTransaction,
    consumer: &str,
    event_ids: &[&str],
) -> Result<Vec<String>, DbErr> {
    use sea_orm::{ConnectionTrait, Statement, Value};
    let mut unique: Vec<&str> = Vec::new();
    for id in event_ids {
        if !unique.contains(id) {
            unique.push(id);
        }
    }
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let at = SystemClock.now_rfc3339();
    let backend = txn.get_database_backend();
    let mut inserted = std::collections::HashSet::new();
    // Bounded statements: SQLite takes at most 32,766 parameters in one.
    for chunk in unique.chunks(1_000) {
        let mut values: Vec<Value> = vec![consumer.into(), at.clone().into()];
        let rows: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                values.push((*id).into());
                format!("($1, ${}, $2)", i + 3)
            })
            .collect();
        let sql = format!(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES {} \
             ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
            rows.join(", ")
        );
        inserted.extend(
            txn.query_all(Statement::from_sql_and_values(backend, sql, values))
                .await?
                .iter()
                .filter_map(|row| row.try_get::<String>("", "event_id").ok()),
        );
    }
    Ok(unique
        .into_iter()
        .filter(|id| inserted.contains(*id))
        .map(str::to_owned)
        .collect())
}
