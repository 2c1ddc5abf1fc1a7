//! FFT counts kept up to date as responses arrive, so dashboards read a few thousand rows
//! rather than millions of responses:
//!
//! - `fft_monthly`: per tenant, month, source and answer — the trust's headline figures;
//! - `fft_cube`: also per site, locality, pathway and team — breakdowns and filters;
//! - `fft_equity`: per month and who answered (age band, sex, ethnic group, deprivation decile,
//!   given with consent) — the health-equity view, by period only so no combination narrows to
//!   a person.
//!
//! Only responses new to the store are added (the caller knows which), in the same transaction,
//! so a count is never added twice.

use std::collections::BTreeMap;

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};

use crate::fft::answer_code;
use crate::ingest::Valid;

pub mod monthly {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fft_monthly")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub answer: String,
        pub n: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod cube {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fft_cube")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub site: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub locality: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub pathway: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub team: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub answer: String,
        pub n: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod equity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fft_equity")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub age_band: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sex: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub ethnic_group: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub imd_decile: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub answer: String,
        pub n: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Adds `fresh` (responses just stored for the first time) to every rollup.
pub async fn add(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    fresh: &[&Valid],
) -> Result<(), DbErr> {
    if fresh.is_empty() {
        return Ok(());
    }
    let month = |v: &Valid| v.responded_on.to_string()[..7].to_string();
    // Ordered maps: every transaction upserts rollup rows in key order, so two batches stored at
    // once wait for each other on a shared row instead of deadlocking (PostgreSQL aborts one).
    let mut monthly: BTreeMap<[String; 3], i64> = BTreeMap::new();
    let mut cube: BTreeMap<[String; 7], i64> = BTreeMap::new();
    let mut equity: BTreeMap<([String; 5], i32), i64> = BTreeMap::new();
    for v in fresh {
        let (m, answer) = (month(v), answer_code(v.answer).to_string());
        *monthly
            .entry([m.clone(), v.source.clone(), answer.clone()])
            .or_default() += 1;
        let t = &v.tags;
        *cube
            .entry([
                m.clone(),
                t.site.clone(),
                t.locality.clone(),
                t.pathway.clone(),
                t.team.clone(),
                v.source.clone(),
                answer.clone(),
            ])
            .or_default() += 1;
        let w = &v.who;
        if !(w.age_band.is_empty()
            && w.sex.is_empty()
            && w.ethnic_group.is_empty()
            && w.imd_decile == 0)
        {
            *equity
                .entry((
                    [
                        m,
                        w.age_band.clone(),
                        w.sex.clone(),
                        w.ethnic_group.clone(),
                        answer,
                    ],
                    w.imd_decile,
                ))
                .or_default() += 1;
        }
    }
    let t = tenant.as_str();
    upsert(
        db,
        "fft_monthly",
        &["tenant_id", "month", "source", "answer"],
        monthly.into_iter().map(|(k, n)| {
            (
                vec![
                    t.into(),
                    k[0].clone().into(),
                    k[1].clone().into(),
                    k[2].clone().into(),
                ],
                n,
            )
        }),
    )
    .await?;
    upsert(
        db,
        "fft_cube",
        &[
            "tenant_id",
            "month",
            "site",
            "locality",
            "pathway",
            "team",
            "source",
            "answer",
        ],
        cube.into_iter().map(|(k, n)| {
            let mut key: Vec<sea_orm::Value> = vec![t.into()];
            key.extend(k.into_iter().map(Into::into));
            (key, n)
        }),
    )
    .await?;
    upsert(
        db,
        "fft_equity",
        &[
            "tenant_id",
            "month",
            "age_band",
            "sex",
            "ethnic_group",
            "answer",
            "imd_decile",
        ],
        equity.into_iter().map(|(k, n)| {
            let mut key: Vec<sea_orm::Value> = vec![t.into()];
            key.extend(k.0.into_iter().map(Into::into));
            key.push(k.1.into());
            (key, n)
        }),
    )
    .await
}

/// `INSERT … ON CONFLICT (key) DO UPDATE SET n = table.n + excluded.n`, in bounded statements.
async fn upsert(
    db: &impl ConnectionTrait,
    table: &str,
    key: &[&str],
    rows: impl Iterator<Item = (Vec<sea_orm::Value>, i64)>,
) -> Result<(), DbErr> {
    let rows: Vec<(Vec<sea_orm::Value>, i64)> = rows.collect();
    let mut columns: Vec<Alias> = key.iter().map(|c| Alias::new(*c)).collect();
    columns.push(Alias::new("n"));
    for chunk in rows.chunks(500) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(table))
            .columns(columns.clone());
        for (values, n) in chunk {
            let mut row: Vec<sea_orm::sea_query::SimpleExpr> = values
                .iter()
                .cloned()
                .map(|v| Expr::val(v).into())
                .collect();
            row.push(Expr::val(*n).into());
            insert.values_panic(row);
        }
        insert.on_conflict(
            OnConflict::columns(key.iter().map(|c| Alias::new(*c)))
                .value(
                    Alias::new("n"),
                    Expr::col((Alias::new(table), Alias::new("n"))).add(Expr::cust("excluded.n")),
                )
                .to_owned(),
        );
        db.execute(db.get_database_backend().build(&insert)).await?;
    }
    Ok(())
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300006_fft_tags_and_rollups"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum FftResponses {
        Table,
        Site,
        Locality,
        Pathway,
        Team,
        AgeBand,
        Sex,
        EthnicGroup,
        ImdDecile,
    }

    fn text(name: &str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .string()
            .not_null()
            .to_owned()
    }

    async fn rollup(
        manager: &SchemaManager<'_>,
        table: &str,
        key: &[(&str, bool)],
    ) -> Result<(), DbErr> {
        let mut create = Table::create();
        create.table(Alias::new(table)).if_not_exists();
        let mut pk = Index::create();
        for (column, integer) in key {
            if *integer {
                create.col(ColumnDef::new(Alias::new(*column)).integer().not_null());
            } else {
                create.col(text(column));
            }
            pk.col(Alias::new(*column));
        }
        create.col(ColumnDef::new(Alias::new("n")).big_integer().not_null());
        create.primary_key(&mut pk);
        manager.create_table(create.to_owned()).await
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One column per statement: SQLite alters one thing at a time.
            for column in [
                FftResponses::Site,
                FftResponses::Locality,
                FftResponses::Pathway,
                FftResponses::Team,
                FftResponses::AgeBand,
                FftResponses::Sex,
                FftResponses::EthnicGroup,
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(FftResponses::Table)
                            .add_column(ColumnDef::new(column).string().not_null().default(""))
                            .to_owned(),
                    )
                    .await?;
            }
            manager
                .alter_table(
                    Table::alter()
                        .table(FftResponses::Table)
                        .add_column(
                            ColumnDef::new(FftResponses::ImdDecile)
                                .integer()
                                .not_null()
                                .default(0),
                        )
                        .to_owned(),
                )
                .await?;
            let k = |c| (c, false);
            rollup(
                manager,
                "fft_monthly",
                &[k("tenant_id"), k("month"), k("source"), k("answer")],
            )
            .await?;
            rollup(
                manager,
                "fft_cube",
                &[
                    k("tenant_id"),
                    k("month"),
                    k("site"),
                    k("locality"),
                    k("pathway"),
                    k("team"),
                    k("source"),
                    k("answer"),
                ],
            )
            .await?;
            rollup(
                manager,
                "fft_equity",
                &[
                    k("tenant_id"),
                    k("month"),
                    k("age_band"),
                    k("sex"),
                    k("ethnic_group"),
                    ("imd_decile", true),
                    k("answer"),
                ],
            )
            .await?;
            // Responses stored before the rollups are counted into them once, here.
            let db = manager.get_connection();
            db.execute_unprepared(
                "INSERT INTO fft_monthly (tenant_id, month, source, answer, n) \
                 SELECT tenant_id, month, source, answer, COUNT(*) FROM fft_responses \
                 GROUP BY tenant_id, month, source, answer",
            )
            .await?;
            db.execute_unprepared(
                "INSERT INTO fft_cube (tenant_id, month, site, locality, pathway, team, source, answer, n) \
                 SELECT tenant_id, month, '', '', '', '', source, answer, COUNT(*) FROM fft_responses \
                 GROUP BY tenant_id, month, source, answer",
            )
            .await?;
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// What a breakdown is by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Site,
    Locality,
    Pathway,
    Team,
    Source,
    AgeBand,
    Sex,
    EthnicGroup,
    ImdDecile,
}

impl Dim {
    pub const ALL: [Dim; 9] = [
        Dim::Site,
        Dim::Locality,
        Dim::Pathway,
        Dim::Team,
        Dim::Source,
        Dim::AgeBand,
        Dim::Sex,
        Dim::EthnicGroup,
        Dim::ImdDecile,
    ];

    pub fn column(self) -> &'static str {
        match self {
            Dim::Site => "site",
            Dim::Locality => "locality",
            Dim::Pathway => "pathway",
            Dim::Team => "team",
            Dim::Source => "source",
            Dim::AgeBand => "age_band",
            Dim::Sex => "sex",
            Dim::EthnicGroup => "ethnic_group",
            Dim::ImdDecile => "imd_decile",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.column() == value)
    }

    /// Who answered, rather than where: counted from the equity rollup.
    pub fn is_equity(self) -> bool {
        matches!(
            self,
            Dim::AgeBand | Dim::Sex | Dim::EthnicGroup | Dim::ImdDecile
        )
    }
}

/// Responses with these values (empty for any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub site: String,
    pub locality: String,
    pub pathway: String,
    pub team: String,
    pub source: String,
}

impl Filter {
    fn places(&self) -> [(&'static str, &str); 4] {
        [
            ("site", &self.site),
            ("locality", &self.locality),
            ("pathway", &self.pathway),
            ("team", &self.team),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.places().iter().all(|(_, v)| v.is_empty()) && self.source.is_empty()
    }
}

/// Counts of `tenants` by tenant, month and the values of `dims` (each as text), and answer,
/// over `from_month`–`to_month`: (tenant, month, values, answer, n).
pub async fn counts_by_month_of(
    db: &impl ConnectionTrait,
    tenants: &[OdsCode],
    from_month: &str,
    to_month: &str,
    dims: &[&str],
) -> Result<Vec<(String, String, Vec<String>, String, u64)>, DbErr> {
    let mut select = Query::select();
    select
        .column(Alias::new("tenant_id"))
        .column(Alias::new("month"));
    for (i, dim) in dims.iter().enumerate() {
        select.expr_as(
            Expr::cust(format!("CAST({dim} AS TEXT)")),
            Alias::new(format!("g{i}")),
        );
    }
    select
        .column(Alias::new("answer"))
        .expr_as(Expr::cust("CAST(SUM(n) AS BIGINT)"), Alias::new("n"))
        .from(Alias::new("fft_cube"))
        .and_where(Expr::col(Alias::new("tenant_id")).is_in(tenants.iter().map(|t| t.as_str())))
        .and_where(Expr::col(Alias::new("month")).gte(from_month))
        .and_where(Expr::col(Alias::new("month")).lte(to_month));
    let mut group: Vec<sea_orm::sea_query::SimpleExpr> = vec![
        Expr::col(Alias::new("tenant_id")).into(),
        Expr::col(Alias::new("month")).into(),
    ];
    group.extend(dims.iter().map(|d| Expr::col(Alias::new(*d)).into()));
    group.push(Expr::col(Alias::new("answer")).into());
    select.add_group_by(group);
    let rows = db
        .query_all(db.get_database_backend().build(&select))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "tenant_id")?,
                row.try_get::<String>("", "month")?,
                (0..dims.len())
                    .map(|i| row.try_get::<String>("", &format!("g{i}")))
                    .collect::<Result<Vec<_>, _>>()?,
                row.try_get::<String>("", "answer")?,
                row.try_get::<i64>("", "n")?.max(0) as u64,
            ))
        })
        .collect()
}

/// A trust's counts by month and the values of `dims` (of site, locality, pathway, team and
/// source; none for the trust's months): (month, values, answer, n).
pub async fn counts_by_month(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    from_month: &str,
    to_month: &str,
    dims: &[&str],
) -> Result<Vec<(String, Vec<String>, String, u64)>, DbErr> {
    Ok(
        counts_by_month_of(db, std::slice::from_ref(tenant), from_month, to_month, dims)
            .await?
            .into_iter()
            .map(|(_, month, values, answer, n)| (month, values, answer, n))
            .collect(),
    )
}

/// Summed counts grouped by `group` (a column) and answer, from the smallest rollup that can
/// answer: (group value, answer, n).
pub async fn counts(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    from_month: &str,
    to_month: &str,
    filter: &Filter,
    group: &str,
    equity: bool,
) -> Result<Vec<(String, String, u64)>, DbErr> {
    let by_place = filter.places().iter().any(|(_, v)| !v.is_empty())
        || matches!(group, "site" | "locality" | "pathway" | "team");
    let table = if equity {
        "fft_equity"
    } else if by_place {
        "fft_cube"
    } else {
        "fft_monthly"
    };
    let mut select = Query::select();
    select
        .expr_as(
            Expr::cust(format!("CAST({group} AS TEXT)")),
            Alias::new("g"),
        )
        .column(Alias::new("answer"))
        .expr_as(Expr::cust("CAST(SUM(n) AS BIGINT)"), Alias::new("n"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant.as_str()));
    if !from_month.is_empty() {
        select.and_where(Expr::col(Alias::new("month")).gte(from_month));
    }
    if !to_month.is_empty() {
        select.and_where(Expr::col(Alias::new("month")).lte(to_month));
    }
    if !equity {
        for (column, value) in filter.places() {
            if !value.is_empty() {
                select.and_where(Expr::col(Alias::new(column)).eq(value));
            }
        }
        if !filter.source.is_empty() {
            select.and_where(Expr::col(Alias::new("source")).eq(filter.source.as_str()));
        }
    }
    select.add_group_by([
        Expr::col(Alias::new(group)).into(),
        Expr::col(Alias::new("answer")).into(),
    ]);
    let rows = db
        .query_all(db.get_database_backend().build(&select))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "g")?,
                row.try_get::<String>("", "answer")?,
                row.try_get::<i64>("", "n")?.max(0) as u64,
            ))
        })
        .collect()
}

/// The values seen of each place dimension, for choosing filters.
pub async fn values(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    column: &str,
) -> Result<Vec<String>, DbErr> {
    let mut select = Query::select();
    select
        .distinct()
        .column(Alias::new(column))
        .from(Alias::new("fft_cube"))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant.as_str()))
        .and_where(Expr::col(Alias::new(column)).ne(""))
        .order_by(Alias::new(column), sea_orm::sea_query::Order::Asc)
        .limit(500);
    let rows = db
        .query_all(db.get_database_backend().build(&select))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", column))
        .collect()
}
