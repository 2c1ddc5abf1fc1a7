//! The trust's places — its sites (ODS site codes where they exist), localities, pathways and
//! teams — as reference data kept by its administrators. A response may name only a listed
//! place: every intake path (gRPC batches from JSON, CSV, FHIR and the web form, and
//! `feedback.responses.v1`) checks it here and refuses anything else by field. Figures are
//! published by listed codes only, so nothing a respondent typed becomes a key, a label or a
//! dimension of a figure. A merged place's code is still accepted and counted as the place it
//! was merged into; a retired one is refused.
//!
//! Values held before the lists existed were set aside by the migration (the responses count
//! as "not known" meanwhile) for an administrator to map: see `place_admin`.

use std::collections::HashMap;

use alongside_events::places::{Listed, Unlisted};
use alongside_events::topics::FEEDBACK_PLACES;
use alongside_events::Outbox;
use alongside_platform::OdsCode;
use alongside_proto::feedback::events::v1::PlaceChanged;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, Statement,
};

/// The kinds of place, in the order pages list them, with their plural for messages.
pub use alongside_events::places::KINDS;

pub const ACTIVE: &str = "active";
pub const RETIRED: &str = "retired";
pub const MERGED: &str = "merged";

/// The kind as written, when it is one.
pub fn kind(value: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .map(|(k, _)| *k)
        .find(|k| k.eq_ignore_ascii_case(value.trim()))
}

pub mod place {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "places")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        /// The code in lower case: codes are unique in a kind, case aside.
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_key: String,
        pub code: String,
        pub name: String,
        /// active, retired or merged.
        pub status: String,
        /// The code of the place it was merged into; empty unless merged.
        pub merged_into: String,
        pub changed_at: String,
        /// Whether the other services were told of it as it stands (`feedback.places.v1`):
        /// false only for places listed before the topic existed, until they are announced.
        pub announced: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The trust's places of `kind` as every service publishes figures by them
/// (`alongside_events::places::Listed`), read from feedback's own lists.
pub async fn listed(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    kind: &str,
) -> Result<alongside_events::places::Listed, DbErr> {
    let rows = place::Entity::find()
        .filter(place::Column::TenantId.eq(tenant.as_str()))
        .filter(place::Column::Kind.eq(kind))
        .all(db)
        .await?;
    Ok(alongside_events::places::Listed::of(
        rows.into_iter().map(|p| (p.code, p.status, p.merged_into)),
    ))
}

/// Tells the other services of the places of `kind` with these codes (in lower case) as they
/// now stand, on `feedback.places.v1`, in the transaction that changed them.
pub(crate) async fn announce(
    txn: &impl ConnectionTrait,
    outbox: &Outbox,
    tenant: &OdsCode,
    kind: &str,
    code_keys: &[String],
) -> Result<(), DbErr> {
    let of_these = || {
        Condition::all()
            .add(place::Column::TenantId.eq(tenant.as_str()))
            .add(place::Column::Kind.eq(kind))
            .add(place::Column::CodeKey.is_in(code_keys.iter().cloned()))
    };
    let rows = place::Entity::find().filter(of_these()).all(txn).await?;
    enqueue(txn, outbox, &rows).await?;
    mark_announced(txn, of_these()).await
}

/// Writes each place as it stands to the outbox, for `feedback.places.v1`.
async fn enqueue(
    txn: &impl ConnectionTrait,
    outbox: &Outbox,
    rows: &[place::Model],
) -> Result<(), DbErr> {
    let events: Vec<(String, OdsCode, PlaceChanged)> = rows
        .iter()
        .filter_map(|p| {
            let tenant = OdsCode::parse(&p.tenant_id).ok()?;
            let changed = PlaceChanged {
                tenant: p.tenant_id.clone(),
                kind: p.kind.clone(),
                code: p.code.clone(),
                name: p.name.clone(),
                status: p.status.clone(),
                merged_into: p.merged_into.clone(),
                changed_at: p.changed_at.clone(),
            };
            Some((
                alongside_events::places::key(&p.tenant_id, &p.kind, &p.code),
                tenant,
                changed,
            ))
        })
        .collect();
    let batch: Vec<(&str, &str, &OdsCode, PlaceChanged)> = events
        .iter()
        .map(|(key, tenant, e)| (FEEDBACK_PLACES, key.as_str(), tenant, e.clone()))
        .collect();
    outbox.enqueue_many(txn, &batch).await
}

/// Marks the places `which` selects as announced, in one statement.
async fn mark_announced(txn: &impl ConnectionTrait, which: Condition) -> Result<(), DbErr> {
    place::Entity::update_many()
        .col_expr(place::Column::Announced, Expr::value(true))
        .filter(which.add(place::Column::Announced.eq(false)))
        .exec(txn)
        .await?;
    Ok(())
}

/// Announces the places listed before `feedback.places.v1` existed, once (the migration marks
/// them not announced; every later change is announced as it is made). Starts no writing
/// transaction when there are none, as on every start after the first.
pub async fn announce_earlier(db: &DatabaseConnection, outbox: &Outbox) -> Result<usize, DbErr> {
    let waiting = || place::Entity::find().filter(place::Column::Announced.eq(false));
    if waiting().one(db).await?.is_none() {
        return Ok(0);
    }
    let txn = begin_writing(db).await?;
    let rows = waiting().all(&txn).await?;
    enqueue(&txn, outbox, &rows).await?;
    mark_announced(&txn, Condition::all()).await?;
    txn.commit().await?;
    outbox.notify();
    Ok(rows.len())
}

/// Every change to a trust's places, who made it and when.
pub mod change {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "place_changes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub kind: String,
        pub code: String,
        pub action: String,
        pub detail: String,
        pub by_user: String,
        pub at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A value a stored response carried before the lists existed, set aside until it is mapped.
pub mod held {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "place_held")]
    pub struct Model {
        /// The `fft_responses` row.
        #[sea_orm(primary_key, auto_increment = false)]
        pub response_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        pub tenant_id: String,
        pub value: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Whether `code` may be a place's code; the reason when not. Codes are chosen by an
/// administrator, and still may not look like what identifies a person.
pub fn check_code(code: &str) -> Result<(), &'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " -_.&()'".contains(c);
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    if code.is_empty()
        || code.chars().count() > 40
        || !code.chars().all(allowed)
        || !code.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        Err("must be 1 to 40 letters, digits, spaces or - _ . & ( ) ', starting with a letter or digit")
    } else if digits.len() >= 10 {
        Err("must not hold ten digits or more: it could be an NHS number or a telephone number")
    } else {
        Ok(())
    }
}

/// A trust's places as intake checks them, each kind's by the rule every publication uses
/// (`alongside_events::places::Listed`): loaded once per batch.
#[derive(Clone, Debug, Default)]
pub struct Places {
    kinds: HashMap<String, Listed>,
}

impl Places {
    pub async fn load(db: &impl ConnectionTrait, tenant: &OdsCode) -> Result<Self, DbErr> {
        let rows = place::Entity::find()
            .filter(place::Column::TenantId.eq(tenant.as_str()))
            .all(db)
            .await?;
        let mut by_kind: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        for p in rows {
            by_kind
                .entry(p.kind)
                .or_default()
                .push((p.code, p.status, p.merged_into));
        }
        Ok(Self {
            kinds: by_kind
                .into_iter()
                .map(|(kind, rows)| (kind, Listed::of(rows)))
                .collect(),
        })
    }

    fn lookup(&self, kind: &str, value: &str) -> Result<String, Unlisted> {
        self.kinds
            .get(kind)
            .map_or(Err(Unlisted::NotListed), |listed| listed.lookup(value))
    }

    /// The listed code `value` names in `kind` ("" for none given), or why it is refused.
    pub fn resolve(&self, kind: &str, value: &str) -> Result<String, String> {
        if value.trim().is_empty() {
            return Ok(String::new());
        }
        self.lookup(kind, value).map_err(|why| why.reason(kind))
    }

    /// As `resolve`, but a retired place is taken too: a record about the past (a complaint
    /// about a ward since closed) may name it.
    pub fn resolve_recorded(&self, kind: &str, value: &str) -> Result<String, String> {
        match self.lookup(kind, value) {
            Err(Unlisted::Retired(code)) => Ok(code),
            _ => self.resolve(kind, value),
        }
    }

    /// A list of places, for tests: (kind, code, status, merged into) each.
    #[cfg(test)]
    pub(crate) fn listing(places: &[(&str, &str, &str, &str)]) -> Self {
        let mut by_kind: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        for (kind, code, status, into) in places {
            by_kind.entry(kind.to_string()).or_default().push((
                code.to_string(),
                status.to_string(),
                into.to_string(),
            ));
        }
        Self {
            kinds: by_kind
                .into_iter()
                .map(|(kind, rows)| (kind, Listed::of(rows)))
                .collect(),
        }
    }

    /// Whether a place of `kind` is listed and active under `code`.
    pub fn is_active(&self, kind: &str, code: &str) -> bool {
        self.kinds
            .get(kind)
            .is_some_and(|listed| listed.is_active(code))
    }
}

/// Starts a transaction that changes places by writing: SQLite refuses a transaction that reads
/// and then writes while another connection writes, and waits its turn for one that writes first.
pub(crate) async fn begin_writing(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    txn.execute_unprepared("DELETE FROM place_changes WHERE id < 0")
        .await?;
    Ok(txn)
}

/// A statement with `?` placeholders, numbered for PostgreSQL.
pub(crate) fn statement(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Rebuilds a trust's `fft_cube` from its responses (after their places were rewritten), and
/// re-derives its comments' pathways; marks every month of the trust for the stream.
pub(crate) async fn recount(db: &impl ConnectionTrait, tenant: &OdsCode) -> Result<(), DbErr> {
    let t = || vec![sea_orm::Value::from(tenant.as_str())];
    for sql in [
        "DELETE FROM fft_cube WHERE tenant_id = ?",
        "INSERT INTO fft_cube (tenant_id, month, site, locality, pathway, team, source, answer, n) \
         SELECT tenant_id, month, site, locality, pathway, team, source, answer, COUNT(*) \
         FROM fft_responses WHERE tenant_id = ? \
         GROUP BY tenant_id, month, site, locality, pathway, team, source, answer",
        "UPDATE comments SET pathway = COALESCE((SELECT r.pathway FROM fft_responses r \
         WHERE r.tenant_id = comments.tenant_id AND r.source = comments.source \
         AND r.response_id = comments.response_id), '') WHERE tenant_id = ?",
        "UPDATE comment_themes SET pathway = COALESCE((SELECT c.pathway FROM comments c \
         WHERE c.id = comment_themes.comment_id), '') WHERE tenant_id = ?",
    ] {
        db.execute(statement(db, sql, t())).await?;
    }
    let months: std::collections::BTreeSet<String> = db
        .query_all(statement(
            db,
            "SELECT DISTINCT month FROM fft_monthly WHERE tenant_id = ?",
            t(),
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "month"))
        .collect::<Result<_, _>>()?;
    crate::insights::mark(db, tenant, &months).await
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261207_600011_places"
        }
    }

    #[derive(DeriveIden)]
    enum Places {
        Table,
        TenantId,
        Kind,
        CodeKey,
        Code,
        Name,
        Status,
        MergedInto,
        ChangedAt,
    }

    #[derive(DeriveIden)]
    enum PlaceChanges {
        Table,
        Id,
        TenantId,
        Kind,
        Code,
        Action,
        Detail,
        ByUser,
        At,
    }

    #[derive(DeriveIden)]
    enum PlaceHeld {
        Table,
        ResponseId,
        Kind,
        TenantId,
        Value,
    }

    fn text(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).string().not_null().to_owned()
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Places::Table)
                        .if_not_exists()
                        .col(text(Places::TenantId))
                        .col(text(Places::Kind))
                        .col(text(Places::CodeKey))
                        .col(text(Places::Code))
                        .col(text(Places::Name))
                        .col(text(Places::Status))
                        .col(text(Places::MergedInto))
                        .col(text(Places::ChangedAt))
                        .primary_key(
                            Index::create()
                                .col(Places::TenantId)
                                .col(Places::Kind)
                                .col(Places::CodeKey),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(PlaceChanges::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PlaceChanges::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(text(PlaceChanges::TenantId))
                        .col(text(PlaceChanges::Kind))
                        .col(text(PlaceChanges::Code))
                        .col(text(PlaceChanges::Action))
                        .col(text(PlaceChanges::Detail))
                        .col(text(PlaceChanges::ByUser))
                        .col(text(PlaceChanges::At))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("place_changes_by_tenant")
                        .table(PlaceChanges::Table)
                        .col(PlaceChanges::TenantId)
                        .col(PlaceChanges::Id)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(PlaceHeld::Table)
                        .if_not_exists()
                        .col(text(PlaceHeld::ResponseId))
                        .col(text(PlaceHeld::Kind))
                        .col(text(PlaceHeld::TenantId))
                        .col(text(PlaceHeld::Value))
                        .primary_key(
                            Index::create()
                                .col(PlaceHeld::ResponseId)
                                .col(PlaceHeld::Kind),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("place_held_by_value")
                        .table(PlaceHeld::Table)
                        .col(PlaceHeld::TenantId)
                        .col(PlaceHeld::Kind)
                        .col(PlaceHeld::Value)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            // No list existed: every place a response carried was typed by someone. Set each
            // aside for an administrator to map, and count the responses as "not known" until
            // then, so none of it is published.
            let db = manager.get_connection();
            for kind in ["site", "locality", "pathway", "team"] {
                db.execute_unprepared(&format!(
                    "INSERT INTO place_held (response_id, kind, tenant_id, value) \
                     SELECT id, '{kind}', tenant_id, {kind} FROM fft_responses WHERE {kind} <> ''"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "UPDATE fft_responses SET {kind} = '' WHERE {kind} <> ''"
                ))
                .await?;
            }
            for sql in [
                "UPDATE comments SET pathway = '' WHERE pathway <> ''",
                "UPDATE comment_themes SET pathway = '' WHERE pathway <> ''",
                "DELETE FROM fft_cube",
                "INSERT INTO fft_cube \
                 (tenant_id, month, site, locality, pathway, team, source, answer, n) \
                 SELECT tenant_id, month, site, locality, pathway, team, source, answer, COUNT(*) \
                 FROM fft_responses \
                 GROUP BY tenant_id, month, site, locality, pathway, team, source, answer",
                // The stream republishes every month whose places were set aside.
                "INSERT INTO insight_changes (tenant_id, month, marked_at) \
                 SELECT DISTINCT m.tenant_id, m.month, 'places' FROM fft_monthly m \
                 WHERE EXISTS (SELECT 1 FROM place_held h WHERE h.tenant_id = m.tenant_id) \
                 AND NOT EXISTS (SELECT 1 FROM insight_changes c \
                 WHERE c.tenant_id = m.tenant_id AND c.month = m.month)",
            ] {
                db.execute_unprepared(sql).await?;
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for table in [
                Places::Table.into_iden(),
                PlaceChanges::Table.into_iden(),
                PlaceHeld::Table.into_iden(),
            ] {
                manager
                    .drop_table(Table::drop().table(table).to_owned())
                    .await?;
            }
            Ok(())
        }
    }
}

/// Places listed before `feedback.places.v1` existed are marked not yet announced.
pub mod announce_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261207_700001_places_announced"
        }
    }

    #[derive(DeriveIden)]
    enum Places {
        Table,
        Announced,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Places::Table)
                        .add_column(
                            ColumnDef::new(Places::Announced)
                                .boolean()
                                .not_null()
                                .default(false),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Places::Table)
                        .drop_column(Places::Announced)
                        .to_owned(),
                )
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_plain_and_never_look_like_a_person() {
        for ok in [
            "RGT01",
            "Site A",
            "MSK",
            "Ward 7",
            "Children's (east)",
            "A&E",
        ] {
            assert_eq!(check_code(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            " leading",
            "jo@example.org",
            "a/b",
            "100%",
            "943 476 5919",
            "07700900123",
            &"x".repeat(41),
        ] {
            assert!(check_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn intake_takes_listed_codes_case_aside_and_merged_ones_as_their_target() {
        let places = Places::listing(&[
            ("site", "RGT01", ACTIVE, ""),
            ("site", "OLD", MERGED, "RGT01"),
            ("site", "GONE", RETIRED, ""),
            ("pathway", "MSK", ACTIVE, ""),
        ]);
        assert_eq!(places.resolve("site", " rgt01 "), Ok("RGT01".into()));
        assert_eq!(places.resolve("site", "old"), Ok("RGT01".into()));
        assert_eq!(places.resolve("site", ""), Ok(String::new()));
        assert!(places
            .resolve("site", "GONE")
            .unwrap_err()
            .contains("retired"));
        let unknown = places.resolve("site", "MSK").unwrap_err();
        assert!(
            unknown.contains("not one of the trust's sites"),
            "{unknown}"
        );
        assert!(places.resolve("pathway", "jo@example.org").is_err());
        assert!(places.is_active("pathway", "msk"));
        assert!(!places.is_active("site", "GONE"));
    }
}
