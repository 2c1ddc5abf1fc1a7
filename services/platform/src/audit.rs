//! The append-only audit log of reads and changes of personal and payment data.

use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;
use sea_orm_migration::prelude::{ColumnDef, DeriveIden, Index, Table};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};

use crate::auth::Caller;
use crate::clock::{Clock, SystemClock};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub actor: String,
    pub actor_role: String,
    /// read, list, create, update, erase
    pub action: String,
    /// What was touched, e.g. `partner` and its id.
    pub subject_kind: String,
    pub subject_id: String,
    pub at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Appends an entry for `caller` doing `action` to `subject_kind`/`subject_id`.
pub async fn record(
    db: &impl ConnectionTrait,
    caller: &Caller,
    action: &str,
    subject_kind: &str,
    subject_id: &str,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        tenant_id: Set(caller.tenant.to_string()),
        actor: Set(caller.subject.clone()),
        actor_role: Set(caller.role.as_str().to_string()),
        action: Set(action.to_string()),
        subject_kind: Set(subject_kind.to_string()),
        subject_id: Set(subject_id.to_string()),
        at: Set(SystemClock.now_rfc3339()),
        ..Default::default()
    };
    Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Appends one entry per subject, in one statement: the same `action` by `caller` on many records
/// (a list of payees, a payment file).
pub async fn record_each(
    db: &impl ConnectionTrait,
    caller: &Caller,
    action: &str,
    subject_kind: &str,
    subject_ids: &[String],
) -> Result<(), DbErr> {
    if subject_ids.is_empty() {
        return Ok(());
    }
    let at = SystemClock.now_rfc3339();
    let rows = subject_ids.iter().map(|id| ActiveModel {
        tenant_id: Set(caller.tenant.to_string()),
        actor: Set(caller.subject.clone()),
        actor_role: Set(caller.role.as_str().to_string()),
        action: Set(action.to_string()),
        subject_kind: Set(subject_kind.to_string()),
        subject_id: Set(id.clone()),
        at: Set(at.clone()),
        ..Default::default()
    });
    Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// The audit table, in the migration history of every service that holds personal data.
pub struct AuditMigration;

impl MigrationName for AuditMigration {
    fn name(&self) -> &str {
        "m20261123_000002_audit_log"
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    Actor,
    ActorRole,
    Action,
    SubjectKind,
    SubjectId,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for AuditMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditLog::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditLog::TenantId).string().not_null())
                    .col(ColumnDef::new(AuditLog::Actor).string().not_null())
                    .col(ColumnDef::new(AuditLog::ActorRole).string().not_null())
                    .col(ColumnDef::new(AuditLog::Action).string().not_null())
                    .col(ColumnDef::new(AuditLog::SubjectKind).string().not_null())
                    .col(ColumnDef::new(AuditLog::SubjectId).string().not_null())
                    .col(ColumnDef::new(AuditLog::At).string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_subject")
                    .table(AuditLog::Table)
                    .col(AuditLog::TenantId)
                    .col(AuditLog::SubjectId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
