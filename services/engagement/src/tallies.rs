//! Counts the shortlist reads instead of counting the whole bank for every list: partners by
//! state, and the partners who may be asked (active and contactable) holding each role, by the
//! date the role lapses. They change in the same transaction as the read model they count, from
//! a partner's standing before and after each event; `recount` rebuilds them from it.

use std::collections::BTreeMap;

use alongside_platform::OdsCode;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Statement,
};

use crate::store::{eligibility, known_partner};

pub mod state_count {
    use sea_orm::entity::prelude::*;

    /// How many partners of a trust are in a state, contactable or not.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "partner_state_counts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub status: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contactable: bool,
        pub partners: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod holder_count {
    use sea_orm::entity::prelude::*;

    /// How many partners who may be asked hold a role until a date ('' for no end).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "role_holder_counts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub valid_until: String,
        pub holders: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

/// What the tallies count of one partner: their state and the roles they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Standing {
    status: String,
    contactable: bool,
    /// (role, valid until)
    roles: Vec<(String, String)>,
}

impl Standing {
    /// The partner's standing in the read model, if it knows them.
    pub(crate) async fn of(
        db: &impl ConnectionTrait,
        tenant: &OdsCode,
        partner_id: &str,
    ) -> Result<Option<Self>, DbErr> {
        let Some(partner) = known_partner::Entity::find_by_id(partner_id)
            .filter(known_partner::Column::TenantId.eq(tenant.as_str()))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let roles = eligibility::Entity::find()
            .filter(eligibility::Column::TenantId.eq(tenant.as_str()))
            .filter(eligibility::Column::PartnerId.eq(partner_id))
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.role, e.valid_until))
            .collect();
        Ok(Some(Self {
            status: partner.status,
            contactable: partner.contactable,
            roles,
        }))
    }

    fn reachable(&self) -> bool {
        self.status == "active" && self.contactable
    }
}

/// Moves one partner's counts from their standing before a change to their standing after it.
pub(crate) async fn shift(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    before: Option<&Standing>,
    after: Option<&Standing>,
) -> Result<(), DbErr> {
    let mut states: BTreeMap<(&str, bool), i64> = BTreeMap::new();
    let mut holders: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (standing, delta) in [(before, -1), (after, 1)] {
        let Some(s) = standing else { continue };
        *states.entry((&s.status, s.contactable)).or_default() += delta;
        if s.reachable() {
            for (role, until) in &s.roles {
                *holders.entry((role, until)).or_default() += delta;
            }
        }
    }
    for ((status, contactable), delta) in states.into_iter().filter(|(_, d)| *d != 0) {
        let row = state_count::ActiveModel {
            tenant_id: Set(tenant.to_string()),
            status: Set(status.to_string()),
            contactable: Set(contactable),
            partners: Set(delta.max(0)),
        };
        use state_count::Column as C;
        add(
            db,
            row,
            [C::TenantId, C::Status, C::Contactable],
            C::Partners,
            delta,
        )
        .await?;
    }
    for ((role, until), delta) in holders.into_iter().filter(|(_, d)| *d != 0) {
        let row = holder_count::ActiveModel {
            tenant_id: Set(tenant.to_string()),
            role: Set(role.to_string()),
            valid_until: Set(until.to_string()),
            holders: Set(delta.max(0)),
        };
        use holder_count::Column as C;
        add(
            db,
            row,
            [C::TenantId, C::Role, C::ValidUntil],
            C::Holders,
            delta,
        )
        .await?;
    }
    Ok(())
}

/// Inserts a count's row, or adds `delta` to the row already under its key.
pub(crate) async fn add<A>(
    db: &impl ConnectionTrait,
    row: A,
    key: [<A::Entity as EntityTrait>::Column; 3],
    count: <A::Entity as EntityTrait>::Column,
    delta: impl Into<sea_orm::Value>,
) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    <A::Entity as EntityTrait>::insert(row)
        .on_conflict(
            OnConflict::columns(key)
                .value(count, Expr::col((A::Entity::default(), count)).add(delta))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A trust's active partners: (all of them, those who asked not to be contacted).
pub async fn active(db: &impl ConnectionTrait, tenant: &OdsCode) -> Result<(u64, u64), DbErr> {
    let rows = state_count::Entity::find()
        .filter(state_count::Column::TenantId.eq(tenant.as_str()))
        .filter(state_count::Column::Status.eq("active"))
        .all(db)
        .await?;
    let count = |contactable: bool| {
        rows.iter()
            .filter(|r| r.contactable == contactable)
            .map(|r| r.partners.max(0) as u64)
            .sum::<u64>()
    };
    Ok((count(true) + count(false), count(false)))
}

/// The partners who may be asked and hold `role` on the date `on` (YYYY-MM-DD).
pub async fn holding(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    role: &str,
    on: &str,
) -> Result<u64, DbErr> {
    let rows = holder_count::Entity::find()
        .filter(holder_count::Column::TenantId.eq(tenant.as_str()))
        .filter(holder_count::Column::Role.eq(role))
        .filter(
            holder_count::Column::ValidUntil
                .eq("")
                .or(holder_count::Column::ValidUntil.gte(on)),
        )
        .all(db)
        .await?;
    Ok(rows.iter().map(|r| r.holders.max(0) as u64).sum())
}

/// Rebuilds every trust's tallies from the read model.
pub async fn recount(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    for sql in [
        "DELETE FROM partner_state_counts",
        "DELETE FROM role_holder_counts",
        "INSERT INTO partner_state_counts (tenant_id, status, contactable, partners) \
         SELECT tenant_id, status, contactable, COUNT(*) FROM known_partners \
         GROUP BY tenant_id, status, contactable",
        "INSERT INTO role_holder_counts (tenant_id, role, valid_until, holders) \
         SELECT e.tenant_id, e.role, e.valid_until, COUNT(*) FROM partner_eligibility e \
         JOIN known_partners kp ON kp.partner_id = e.partner_id AND kp.tenant_id = e.tenant_id \
         WHERE kp.status = 'active' AND kp.contactable \
         GROUP BY e.tenant_id, e.role, e.valid_until",
    ] {
        db.execute(Statement::from_string(db.get_database_backend(), sql))
            .await?;
    }
    Ok(())
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300004_shortlist_tallies"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerStateCounts {
        Table,
        TenantId,
        Status,
        Contactable,
        Partners,
    }

    #[derive(DeriveIden)]
    enum RoleHolderCounts {
        Table,
        TenantId,
        Role,
        ValidUntil,
        Holders,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use PartnerStateCounts as S;
            use RoleHolderCounts as H;
            manager
                .create_table(
                    Table::create()
                        .table(S::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(S::TenantId).string().not_null())
                        .col(ColumnDef::new(S::Status).string().not_null())
                        .col(ColumnDef::new(S::Contactable).boolean().not_null())
                        .col(ColumnDef::new(S::Partners).big_integer().not_null())
                        .primary_key(
                            Index::create()
                                .col(S::TenantId)
                                .col(S::Status)
                                .col(S::Contactable),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(H::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(H::TenantId).string().not_null())
                        .col(ColumnDef::new(H::Role).string().not_null())
                        .col(ColumnDef::new(H::ValidUntil).string().not_null())
                        .col(ColumnDef::new(H::Holders).big_integer().not_null())
                        .primary_key(
                            Index::create()
                                .col(H::TenantId)
                                .col(H::Role)
                                .col(H::ValidUntil),
                        )
                        .to_owned(),
                )
                .await?;
            // The partners known before the tallies were kept.
            super::recount(manager.get_connection()).await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(RoleHolderCounts::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(PartnerStateCounts::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use alongside_events::{Envelope, Handler};
    use alongside_platform::testing::{backends, TestDatabase};
    use alongside_proto::people::events::v1::{
        PartnerConsentChanged, PartnerEligibilityChanged, PartnerErased, PartnerRegistered,
        PartnerStatusChanged, RoleEligibility,
    };
    use alongside_proto::EventName;
    use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
    use sea_orm_migration::MigratorTrait;

    use super::*;
    use crate::partners::PartnerReadModel;

    async fn apply<E: EventName>(db: &DatabaseConnection, tenant: &str, event: E) {
        let txn = db.begin().await.unwrap();
        let clock = alongside_platform::testing::clock();
        PartnerReadModel::new(clock.clone())
            .handle(
                &txn,
                &Envelope::new(&OdsCode::parse(tenant).unwrap(), &event, clock.now()),
            )
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }

    type Counts = (
        Vec<(String, String, bool, i64)>,
        Vec<(String, String, String, i64)>,
    );

    async fn counts(db: &DatabaseConnection) -> Counts {
        let mut states: Vec<_> = state_count::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.partners != 0)
            .map(|r| (r.tenant_id, r.status, r.contactable, r.partners))
            .collect();
        let mut holders: Vec<_> = holder_count::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.holders != 0)
            .map(|r| (r.tenant_id, r.role, r.valid_until, r.holders))
            .collect();
        states.sort();
        holders.sort();
        (states, holders)
    }

    fn registered(id: &str, status: &str) -> PartnerRegistered {
        PartnerRegistered {
            partner_id: id.into(),
            locality: "North".into(),
            status: status.into(),
            registered_at: "2026-11-01T10:00:00Z".into(),
        }
    }

    fn eligible(id: &str, roles: &[(&str, &str)]) -> PartnerEligibilityChanged {
        PartnerEligibilityChanged {
            partner_id: id.into(),
            roles: roles
                .iter()
                .map(|(role, until)| RoleEligibility {
                    role: role.to_string(),
                    valid_until: until.to_string(),
                })
                .collect(),
            changed_at: "2026-11-20T09:00:00Z".into(),
        }
    }

    fn contact(id: &str, granted: bool) -> PartnerConsentChanged {
        PartnerConsentChanged {
            partner_id: id.into(),
            purpose: "contact".into(),
            granted,
            changed_at: "2026-11-25T10:00:00Z".into(),
        }
    }

    fn status(id: &str, from: &str, to: &str) -> PartnerStatusChanged {
        PartnerStatusChanged {
            partner_id: id.into(),
            from_status: from.into(),
            to_status: to.into(),
            ..Default::default()
        }
    }

    /// Kept event by event, the tallies always equal a recount of the read model, and say
    /// who may be asked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tallies_follow_the_read_model_event_by_event() {
        for backend in backends() {
            let database = TestDatabase::create(backend, "tallies").await;
            let db = alongside_platform::db::connect(&database.settings())
                .await
                .unwrap();
            crate::Migrator::up(&db, None).await.unwrap();
            let rza = OdsCode::parse("RZA").unwrap();
            let mut check = 0;
            macro_rules! step {
                ($tenant:expr, $event:expr) => {{
                    apply(&db, $tenant, $event).await;
                    let kept = counts(&db).await;
                    recount(&db).await.unwrap();
                    assert_eq!(kept, counts(&db).await, "{backend:?}, after step {check}");
                    check += 1;
                }};
            }
            step!("RZA", registered("ptn_a", "active"));
            step!("RZA", registered("ptn_b", "active"));
            step!("RZA", registered("ptn_c", "active"));
            step!("RZB", registered("ptn_d", "active"));
            step!(
                "RZA",
                eligible("ptn_a", &[("forum_member", ""), ("mdt_seat", "2027-01-31")])
            );
            step!("RZA", eligible("ptn_b", &[("forum_member", "2026-06-30")]));
            step!("RZA", eligible("ptn_c", &[("forum_member", "")]));
            step!("RZB", eligible("ptn_d", &[("forum_member", "")]));
            step!("RZA", contact("ptn_c", false));
            step!("RZA", status("ptn_b", "active", "paused"));
            step!("RZA", eligible("ptn_a", &[("forum_member", "2027-12-31")]));
            // A registration seen again changes nothing.
            step!("RZA", registered("ptn_a", "active"));
            assert_eq!(active(&db, &rza).await.unwrap(), (2, 1), "{backend:?}");
            assert_eq!(
                holding(&db, &rza, "forum_member", "2026-12-10")
                    .await
                    .unwrap(),
                1,
                "{backend:?}: a, not the paused b nor the quiet c"
            );
            step!("RZA", contact("ptn_c", true));
            step!("RZA", status("ptn_b", "paused", "active"));
            assert_eq!(active(&db, &rza).await.unwrap(), (3, 0), "{backend:?}");
            assert_eq!(
                holding(&db, &rza, "forum_member", "2026-12-10")
                    .await
                    .unwrap(),
                2,
                "{backend:?}: a and c; b's training lapsed in June"
            );
            assert_eq!(
                holding(&db, &rza, "forum_member", "2026-06-01")
                    .await
                    .unwrap(),
                3,
                "{backend:?}"
            );
            assert_eq!(
                holding(&db, &rza, "mdt_seat", "2026-12-10").await.unwrap(),
                0,
                "{backend:?}: a no longer holds it"
            );
            step!("RZA", status("ptn_a", "active", "left"));
            step!(
                "RZA",
                PartnerErased {
                    partner_id: "ptn_c".into(),
                    ..Default::default()
                }
            );
            assert_eq!(active(&db, &rza).await.unwrap(), (1, 0), "{backend:?}");
            assert_eq!(
                holding(&db, &rza, "forum_member", "2026-06-01")
                    .await
                    .unwrap(),
                1,
                "{backend:?}: b alone"
            );
            let rzb = OdsCode::parse("RZB").unwrap();
            assert_eq!(
                holding(&db, &rzb, "forum_member", "2026-12-10")
                    .await
                    .unwrap(),
                1,
                "{backend:?}: the other trust's partner, counted there only"
            );
            assert_eq!(check, 16, "every step checked");
        }
    }
}
