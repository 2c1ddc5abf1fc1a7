//! Releases kept: each ICS month's figures released once it is due, stored, and read by every
//! output; revised when its counts change, protected against every earlier release.

use std::collections::BTreeMap;

use alongside_platform::config::PublicationSettings;
use alongside_platform::protection::Figure;
use alongside_platform::{add_months, OdsCode, SharedClock};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{QueryOrder, QuerySelect, Set};

use super::{revise, Basis, Id, Release, BASIS};
use crate::fft::{answer_from_code, Counts};
use crate::protection::Held;
use crate::suppression::Suppression;

/// When months are released, by the service's settings and clock.
#[derive(Clone)]
pub struct Publication {
    pub settings: PublicationSettings,
    pub clock: SharedClock,
}

impl Publication {
    /// The last month released today: a month is released `release_after_days` after it ends.
    pub fn last_released(&self) -> String {
        let day =
            self.clock.today() - time::Duration::days(self.settings.release_after_days.into());
        add_months(&day.to_string()[..7], -1).unwrap_or_default()
    }

    /// The last month released and the day the next one is: what a reader is told.
    pub fn told(&self) -> (String, String) {
        let last = self.last_released();
        let next = add_months(&last, 1)
            .and_then(|m| self.released_on(&m))
            .map(|d| d.to_string())
            .unwrap_or_default();
        (last, next)
    }

    /// The day `month` is (or was) released.
    pub fn released_on(&self, month: &str) -> Option<time::Date> {
        let end = alongside_platform::last_day_of_month(month)?;
        end.checked_add(time::Duration::days(
            1 + i64::from(self.settings.release_after_days),
        ))
    }
}

/// The most releases of one month: each revision is protected against every earlier release,
/// so after this many a month stays as its last release shows it.
pub const MOST_RELEASES: u64 = 24;

pub mod stored {
    use sea_orm::entity::prelude::*;

    /// One release of an ICS's month: its figures and whether each was shown, as every
    /// output showed them until the next release of that month.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fft_releases")]
    pub struct Model {
        /// The trusts published together (their codes, in order, joined by commas).
        #[sea_orm(primary_key, auto_increment = false)]
        pub trusts: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        /// 1 for the month's first release, then one more for each revision.
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i32,
        /// Seconds since 1970.
        pub released_at: i64,
        /// JSON: each cell's id, its six counts and its suppression (0 shown, 1 primary, 2
        /// secondary).
        pub cells: String,
        /// JSON: what it was made from (its basis cells), never published.
        pub basis: String,
        /// SHA-256 of `basis`: whether the month's counts changed since, without reading it.
        pub digest: String,
        /// A fresh id: what a process remembers a release it has read by.
        pub release_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(super) type StoredCell = (Id, [u64; 6], u8);

/// A trust's basis cells as stored: each key and its six counts.
type StoredBasis<T, K> = Vec<(T, Vec<(K, [u64; 6])>)>;

fn parts(c: &Counts) -> [u64; 6] {
    std::array::from_fn(|k| c.part(k))
}

pub(super) fn encode(release: &Release) -> String {
    let cells: Vec<StoredCell> = release
        .cells()
        .into_iter()
        .map(|(id, h)| {
            let state = match h.state {
                Suppression::None => 0,
                Suppression::Primary => 1,
                _ => 2,
            };
            (id, parts(&h.counts), state)
        })
        .collect();
    serde_json::to_string(&cells).expect("cells encode")
}

pub(super) fn encode_basis(basis: &Basis) -> String {
    let cells: StoredBasis<&String, &Vec<String>> = basis
        .iter()
        .map(|(trust, cells)| (trust, cells.iter().map(|(k, c)| (k, parts(c))).collect()))
        .collect();
    serde_json::to_string(&cells).expect("basis encodes")
}

pub(super) fn digest(basis: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(basis.as_bytes()))
}

fn unreadable(row: &stored::Model) -> DbErr {
    DbErr::Custom(format!(
        "release {} of {} for {} cannot be read",
        row.version, row.month, row.trusts
    ))
}

/// A stored release's figures (its basis is read only to revise it: [`decode_basis`]).
pub(super) fn decode(row: &stored::Model) -> Result<Release, DbErr> {
    let cells: Vec<StoredCell> = serde_json::from_str(&row.cells).map_err(|_| unreadable(row))?;
    Release::from_cells(cells.into_iter().map(|(id, parts, state)| {
        let state = match state {
            0 => Suppression::None,
            1 => Suppression::Primary,
            _ => Suppression::Secondary,
        };
        (
            id,
            Held {
                counts: Counts::from_parts(|k| parts[k]),
                state,
            },
        )
    }))
    .ok_or_else(|| unreadable(row))
}

pub(super) fn decode_basis(row: &stored::Model) -> Result<Basis, DbErr> {
    let cells: StoredBasis<String, Vec<String>> =
        serde_json::from_str(&row.basis).map_err(|_| unreadable(row))?;
    Ok(cells
        .into_iter()
        .map(|(trust, cells)| {
            let cells = cells
                .into_iter()
                .filter(|(k, _)| k.len() == BASIS.len())
                .map(|(k, p)| (k, Counts::from_parts(|i| p[i])))
                .collect();
            (trust, cells)
        })
        .collect())
}

type Remembered = std::sync::Mutex<std::collections::HashMap<String, Release>>;

/// Releases read lately, by their ids: a release never changes, and every dashboard request
/// reads the 24 months of its chart.
fn remembered() -> &'static Remembered {
    static KEPT: std::sync::OnceLock<Remembered> = std::sync::OnceLock::new();
    KEPT.get_or_init(Default::default)
}

fn remember(key: String, release: &Release) {
    if let Ok(mut kept) = remembered().lock() {
        if kept.len() >= 1024 {
            kept.clear();
        }
        kept.insert(
            key,
            Release {
                basis: Basis::new(),
                ..release.clone()
            },
        );
    }
}

/// One stored release's figures (`key`: trusts, month, version), from memory when its id is
/// known and it was read lately.
async fn stored_release(
    db: &impl ConnectionTrait,
    key: (String, String, i32),
    id: Option<&str>,
) -> Result<Release, DbErr> {
    let lately = id.and_then(|id| remembered().lock().ok()?.get(id).cloned());
    if let Some(release) = lately {
        return Ok(release);
    }
    let missing = || DbErr::RecordNotFound(format!("release {} of {}", key.2, key.1));
    let row = stored::Entity::find_by_id(key.clone())
        .one(db)
        .await?
        .ok_or_else(missing)?;
    let release = decode(&row)?;
    remember(row.release_id, &release);
    Ok(release)
}

/// Each trust's basis cells of each month `from`–`to`.
async fn bases(
    db: &impl ConnectionTrait,
    trusts: &[OdsCode],
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, Basis>, DbErr> {
    let mut months: BTreeMap<String, Basis> = BTreeMap::new();
    for (trust, month, values, answer, n) in
        crate::rollup::counts_by_month_of(db, trusts, from, to, &BASIS).await?
    {
        months
            .entry(month)
            .or_default()
            .entry(trust)
            .or_default()
            .entry(values)
            .or_default()
            .add(answer_from_code(&answer), n);
    }
    Ok(months)
}

/// The months `from`–`to` of `trusts` as released: in month order, months not yet released
/// (see [`Publication`]) and months without responses left out.
///
/// A month's first release is made at its first reading once it is due, and kept; every
/// output reads the kept release, so what one reader sees of a month does not change from one
/// day to the next. When the month's counts have changed since (late responses, a place
/// merged), a reading at least `revise_after_seconds` after the latest release makes a
/// revision, protected against every earlier release ([`revise`]), up to [`MOST_RELEASES`].
pub(crate) async fn months(
    db: &impl ConnectionTrait,
    trusts: &[OdsCode],
    from: &str,
    to: &str,
    publication: &Publication,
) -> Result<Vec<(String, Release)>, DbErr> {
    let last = publication.last_released();
    let to = to.min(last.as_str());
    if from > to {
        return Ok(Vec::new());
    }
    let group = group(trusts);
    let now = publication.clock.now().unix_timestamp();
    let mut out = Vec::new();
    let mut work = Vec::new();
    for (month, basis) in bases(db, trusts, from, to).await? {
        let encoded = encode_basis(&basis);
        let digest = digest(&encoded);
        let at = Due {
            trusts,
            group: &group,
            month: &month,
            now,
        };
        if let Some(release) = standing(db, &at, &digest, publication).await? {
            out.push((month, release));
            continue;
        }
        let rows = stored::Entity::find()
            .filter(stored::Column::Trusts.eq(&group))
            .filter(stored::Column::Month.eq(&month))
            .order_by_asc(stored::Column::Version)
            .all(db)
            .await?;
        let mut earlier = Vec::new();
        for row in &rows {
            earlier.push(Release {
                basis: decode_basis(row)?,
                ..decode(row)?
            });
        }
        let version = rows.last().map_or(1, |r| r.version + 1);
        work.push((month, version, earlier, basis, encoded, digest));
    }
    // Protecting is CPU work (linear programmes for small figures): off the async workers.
    let made = tokio::task::spawn_blocking(move || {
        work.into_iter()
            .map(|(month, version, earlier, basis, encoded, digest)| {
                let release = revise(&earlier, &basis);
                (month, version, release, encoded, digest)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| DbErr::Custom(format!("protecting figures: {e}")))?;
    for (month, version, release, encoded, digest) in made {
        let kept = keep(db, (&group, &month, version, now), release, encoded, digest).await?;
        out.push((month, kept));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A month of a group of trusts, read at `now` (seconds since 1970).
struct Due<'a> {
    trusts: &'a [OdsCode],
    group: &'a str,
    month: &'a str,
    now: i64,
}

/// The month's latest release, when it stands: its counts have not changed (`digest`), it was
/// released too lately to revise, the month has had its most releases, or responses are still
/// arriving. None when the month is to be released or revised now.
async fn standing(
    db: &impl ConnectionTrait,
    at: &Due<'_>,
    digest: &str,
    publication: &Publication,
) -> Result<Option<Release>, DbErr> {
    use crate::insights::changed;
    let kept: Vec<(i32, i64, String, String)> = stored::Entity::find()
        .select_only()
        .columns([
            stored::Column::Version,
            stored::Column::ReleasedAt,
            stored::Column::Digest,
            stored::Column::ReleaseId,
        ])
        .filter(stored::Column::Trusts.eq(at.group))
        .filter(stored::Column::Month.eq(at.month))
        .order_by_desc(stored::Column::Version)
        .limit(MOST_RELEASES)
        .into_tuple()
        .all(db)
        .await?;
    let Some((version, released_at, latest, id)) = kept.first() else {
        return Ok(None);
    };
    let revise_after = i64::try_from(publication.settings.revise_after_seconds).unwrap_or(i64::MAX);
    let stands = latest == digest
        || at.now.saturating_sub(*released_at) < revise_after
        || kept.len() as u64 >= MOST_RELEASES
        // Responses still arriving: the latest release stands until they stop.
        || changed::Entity::find()
            .filter(changed::Column::TenantId.is_in(at.trusts.iter().map(|t| t.as_str())))
            .filter(changed::Column::Month.eq(at.month))
            .filter(crate::insights::fresh(publication.settings.settle_seconds))
            .count(db)
            .await?
            > 0;
    if !stands {
        return Ok(None);
    }
    let key = (at.group.to_string(), at.month.to_string(), *version);
    Ok(Some(stored_release(db, key, Some(id)).await?))
}

/// Stores `release` as version `version` of the group's month, and answers the version
/// everyone reads: this one, or the one another reader stored first.
async fn keep(
    db: &impl ConnectionTrait,
    (group, month, version, now): (&str, &str, i32, i64),
    release: Release,
    basis: String,
    digest: String,
) -> Result<Release, DbErr> {
    let release_id = alongside_platform::ids::new_id("rel");
    let row = stored::ActiveModel {
        trusts: Set(group.to_string()),
        month: Set(month.to_string()),
        version: Set(version),
        released_at: Set(now),
        cells: Set(encode(&release)),
        basis: Set(basis),
        digest: Set(digest),
        release_id: Set(release_id.clone()),
    };
    let kept = stored::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                stored::Column::Trusts,
                stored::Column::Month,
                stored::Column::Version,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if kept == 1 {
        remember(release_id, &release);
        return Ok(release);
    }
    // Another reader released this version first: theirs is the one everyone reads.
    stored_release(db, (group.to_string(), month.to_string(), version), None).await
}

/// The months `from`–`to` of `trusts` as last released, without releasing or revising any
/// (no protection, so cheap inside a transaction): months never released are left out.
pub(crate) async fn kept(
    db: &impl ConnectionTrait,
    trusts: &[OdsCode],
    from: &str,
    to: &str,
    publication: &Publication,
) -> Result<Vec<(String, Release)>, DbErr> {
    let last = publication.last_released();
    let to = to.min(last.as_str());
    let group = group(trusts);
    let versions: Vec<(String, i32, String)> = stored::Entity::find()
        .select_only()
        .columns([
            stored::Column::Month,
            stored::Column::Version,
            stored::Column::ReleaseId,
        ])
        .filter(stored::Column::Trusts.eq(&group))
        .filter(stored::Column::Month.gte(from))
        .filter(stored::Column::Month.lte(to))
        .order_by_asc(stored::Column::Month)
        .order_by_asc(stored::Column::Version)
        .into_tuple()
        .all(db)
        .await?;
    // In order, so each month's last is its latest.
    let latest: BTreeMap<String, (i32, String)> = versions
        .into_iter()
        .map(|(month, version, id)| (month, (version, id)))
        .collect();
    let mut out = Vec::new();
    for (month, (version, id)) in latest {
        let key = (group.clone(), month.clone(), version);
        out.push((month, stored_release(db, key, Some(&id)).await?));
    }
    Ok(out)
}

/// The key of the trusts published together: their codes in order, joined by commas.
fn group(trusts: &[OdsCode]) -> String {
    trusts
        .iter()
        .map(|t| t.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(",")
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261208_000001_fft_releases"
        }
    }

    #[derive(DeriveIden)]
    enum FftReleases {
        Table,
        Trusts,
        Month,
        Version,
        ReleasedAt,
        Cells,
        Basis,
        Digest,
        ReleaseId,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(FftReleases::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(FftReleases::Trusts).string().not_null())
                        .col(ColumnDef::new(FftReleases::Month).string().not_null())
                        .col(ColumnDef::new(FftReleases::Version).integer().not_null())
                        .col(
                            ColumnDef::new(FftReleases::ReleasedAt)
                                .big_integer()
                                .not_null(),
                        )
                        .col(ColumnDef::new(FftReleases::Cells).text().not_null())
                        .col(ColumnDef::new(FftReleases::Basis).text().not_null())
                        .col(ColumnDef::new(FftReleases::Digest).string().not_null())
                        .col(ColumnDef::new(FftReleases::ReleaseId).string().not_null())
                        .primary_key(
                            Index::create()
                                .col(FftReleases::Trusts)
                                .col(FftReleases::Month)
                                .col(FftReleases::Version),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(FftReleases::Table).to_owned())
                .await
        }
    }
}
