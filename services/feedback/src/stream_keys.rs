//! The FFT keys the analytics stream holds for each trust's month, so a key that stops being
//! current — its place merged away, or set aside as not listed — is withdrawn with a tombstone
//! and the compacted topic forgets it, rather than keeping its last figure for ever.

use std::collections::BTreeSet;

use alongside_events::outbox::Outbox;
use alongside_events::topics::FEEDBACK_INSIGHTS;
use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insight_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub tenant_id: String,
    pub month: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The keys a month's FFT figures are published under, from its (site, pathway) cells: the
/// trust, each site, each pathway at a site ("Not known" where responses did not say).
pub fn month_keys<'a>(
    tenant: &str,
    month: &str,
    cells: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeSet<String> {
    let known = |v: &str| {
        if v.is_empty() {
            crate::insights::NOT_KNOWN.to_string()
        } else {
            v.to_string()
        }
    };
    let mut keys = BTreeSet::from([crate::insights::key(tenant, month, "", "")]);
    for (site, pathway) in cells {
        keys.insert(crate::insights::key(tenant, month, &known(site), ""));
        keys.insert(crate::insights::key(
            tenant,
            month,
            &known(site),
            &known(pathway),
        ));
    }
    keys
}

/// Records `current` as the month's keys, and enqueues a tombstone for each key published
/// before that is not among them, in the publisher's transaction.
pub async fn settle(
    db: &impl ConnectionTrait,
    outbox: &Outbox,
    tenant: &OdsCode,
    month: &str,
    current: &BTreeSet<String>,
) -> Result<usize, DbErr> {
    let held: BTreeSet<String> = Entity::find()
        .filter(Column::TenantId.eq(tenant.as_str()))
        .filter(Column::Month.eq(month))
        .all(db)
        .await?
        .into_iter()
        .map(|k| k.key)
        .collect();
    let stale: Vec<&String> = held.difference(current).collect();
    let fresh: Vec<&String> = current.difference(&held).collect();
    if !stale.is_empty() {
        let withdrawn: Vec<(&str, &str, &OdsCode)> = stale
            .iter()
            .map(|k| (FEEDBACK_INSIGHTS, k.as_str(), tenant))
            .collect();
        outbox.tombstones(db, &withdrawn).await?;
        Entity::delete_many()
            .filter(Column::Key.is_in(stale.iter().map(|k| k.to_string())))
            .exec(db)
            .await?;
    }
    for chunk in fresh.chunks(500) {
        Entity::insert_many(chunk.iter().map(|k| ActiveModel {
            key: Set(k.to_string()),
            tenant_id: Set(tenant.to_string()),
            month: Set(month.to_string()),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(stale.len())
}

pub mod migration {
    use std::collections::BTreeMap;

    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261207_600010_insight_keys"
        }
    }

    #[derive(DeriveIden)]
    enum InsightKeys {
        Table,
        Key,
        TenantId,
        Month,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(InsightKeys::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(InsightKeys::Key)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(InsightKeys::TenantId).string().not_null())
                        .col(ColumnDef::new(InsightKeys::Month).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("insight_keys_by_month")
                        .table(InsightKeys::Table)
                        .col(InsightKeys::TenantId)
                        .col(InsightKeys::Month)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            // What the stream holds already: every cell counted so far was published, so the
            // publisher can withdraw what stops being current (the places set aside next).
            let db = manager.get_connection();
            let rows = db
                .query_all(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT DISTINCT tenant_id, month, site, pathway FROM fft_cube",
                ))
                .await?;
            let mut months: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
            for row in rows {
                months
                    .entry((row.try_get("", "tenant_id")?, row.try_get("", "month")?))
                    .or_default()
                    .push((row.try_get("", "site")?, row.try_get("", "pathway")?));
            }
            for ((tenant, month), cells) in months {
                let keys = super::month_keys(
                    &tenant,
                    &month,
                    cells.iter().map(|(s, p)| (s.as_str(), p.as_str())),
                );
                for chunk in keys.into_iter().collect::<Vec<_>>().chunks(500) {
                    let mut insert = Query::insert();
                    insert.into_table(InsightKeys::Table).columns([
                        InsightKeys::Key,
                        InsightKeys::TenantId,
                        InsightKeys::Month,
                    ]);
                    for key in chunk {
                        insert.values_panic([
                            key.clone().into(),
                            tenant.clone().into(),
                            month.clone().into(),
                        ]);
                    }
                    manager.exec_stmt(insert).await?;
                }
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(InsightKeys::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_recorded_are_those_the_publisher_uses() {
        let mut cells = std::collections::BTreeMap::new();
        for (site, pathway, n) in [("RGT01", "MSK", 12), ("", "MSK", 3), ("RGT01", "", 1)] {
            let mut c = crate::fft::Counts::default();
            c.add(alongside_proto::feedback::v1::FftAnswer::Good, n);
            cells.insert((site.to_string(), pathway.to_string()), c);
        }
        // The release's tables of the trust, its sites and its sites' pathways.
        use crate::release::{table, TABLES};
        let mut tables = vec![std::collections::BTreeMap::new(); TABLES.len()];
        for ((site, pathway), c) in &cells {
            for key in [
                vec![],
                vec![site.clone()],
                vec![site.clone(), pathway.clone()],
            ] {
                let held: &mut crate::protection::Held = tables
                    [table(&["site", "pathway"][..key.len()])]
                .entry(key)
                .or_default();
                held.counts.merge(c);
            }
        }
        let published: BTreeSet<String> =
            crate::insights::month_insights("RZA", "2026-11", &tables)
                .into_iter()
                .map(|i| {
                    let site = if i.level == "trust" {
                        ""
                    } else {
                        i.site.as_str()
                    };
                    let pathway = if i.level == "pathway" {
                        i.pathway.as_str()
                    } else {
                        ""
                    };
                    crate::insights::key("RZA", "2026-11", site, pathway)
                })
                .collect();
        let cells = cells.keys().map(|(s, p)| (s.as_str(), p.as_str()));
        assert_eq!(published, month_keys("RZA", "2026-11", cells));
    }

    #[test]
    fn a_months_keys_are_the_trust_its_sites_and_their_pathways() {
        let keys = month_keys(
            "RZA",
            "2026-11",
            [("RGT01", "MSK"), ("", "MSK"), ("RGT01", "")],
        );
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            [
                "RZA/fft/2026-11//",
                "RZA/fft/2026-11/Not known/",
                "RZA/fft/2026-11/Not known/MSK",
                "RZA/fft/2026-11/RGT01/",
                "RZA/fft/2026-11/RGT01/MSK",
                "RZA/fft/2026-11/RGT01/Not known",
            ]
        );
    }
}
