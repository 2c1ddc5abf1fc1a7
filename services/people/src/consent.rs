//! Consent per purpose (DOMAIN.md §2, UK GDPR): every grant and withdrawal is kept, with when,
//! by whom and which version of the privacy notice; the latest record of a purpose holds.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

pub use alongside_proto::CONSENT_PURPOSES as PURPOSES;

pub fn purpose_known(purpose: &str) -> bool {
    PURPOSES.iter().any(|(p, _)| *p == purpose)
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_consents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub partner_id: String,
    pub purpose: String,
    pub granted: bool,
    pub notice_version: String,
    pub recorded_at: String,
    pub recorded_by: String,
    pub recorded_by_role: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn of_partner(tenant: &OdsCode, partner_id: &str) -> Select<Entity> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant.as_str()))
        .filter(Column::PartnerId.eq(partner_id))
}

impl From<Model> for alongside_proto::people::v1::Consent {
    fn from(m: Model) -> Self {
        Self {
            purpose: m.purpose,
            granted: m.granted,
            notice_version: m.notice_version,
            recorded_at: m.recorded_at,
            recorded_by_role: m.recorded_by_role,
        }
    }
}

/// The latest record of each purpose, in the order of [`PURPOSES`], from records newest first.
pub fn current(newest_first: &[Model]) -> Vec<Model> {
    PURPOSES
        .iter()
        .filter_map(|(purpose, _)| newest_first.iter().find(|m| m.purpose == *purpose).cloned())
        .collect()
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100005_partner_consents"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerConsents {
        Table,
        Id,
        TenantId,
        PartnerId,
        Purpose,
        Granted,
        NoticeVersion,
        RecordedAt,
        RecordedBy,
        RecordedByRole,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(PartnerConsents::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PartnerConsents::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(PartnerConsents::TenantId)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerConsents::PartnerId)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(PartnerConsents::Purpose).string().not_null())
                        .col(
                            ColumnDef::new(PartnerConsents::Granted)
                                .boolean()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerConsents::NoticeVersion)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerConsents::RecordedAt)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerConsents::RecordedBy)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerConsents::RecordedByRole)
                                .string()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("partner_consents_by_partner")
                        .table(PartnerConsents::Table)
                        .col(PartnerConsents::TenantId)
                        .col(PartnerConsents::PartnerId)
                        .col(PartnerConsents::Id)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PartnerConsents::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, purpose: &str, granted: bool) -> Model {
        Model {
            id,
            tenant_id: "RZA".into(),
            partner_id: "ptn_1".into(),
            purpose: purpose.into(),
            granted,
            notice_version: "2026-11".into(),
            recorded_at: String::new(),
            recorded_by: String::new(),
            recorded_by_role: String::new(),
        }
    }

    #[test]
    fn the_latest_record_of_each_purpose_holds() {
        let newest_first = [
            record(3, "contact", false),
            record(2, "sharing", true),
            record(1, "contact", true),
        ];
        let now: Vec<(String, bool)> = current(&newest_first)
            .into_iter()
            .map(|m| (m.purpose, m.granted))
            .collect();
        assert_eq!(
            now,
            [
                ("contact".to_string(), false),
                ("sharing".to_string(), true)
            ]
        );
    }
}
