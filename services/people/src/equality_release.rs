//! The equality totals as released: taken once a month, kept, and protected against every
//! earlier release as well as within themselves.
//!
//! Totals read live would give a partner's answers away by difference: two readings either side
//! of one partner joining differ by exactly their answers, and monthly snapshots alone would not
//! settle it (one joiner in a month is the difference of two). So each month's release is
//! protected together with what every earlier release showed: between an earlier release and
//! this one, each answer's count is the partners who kept it (stayed), plus those who came to it
//! (joined, or changed their answer), or minus those who left it (left, were erased, withdrew
//! their consent, or changed). Those flows are never published; a flow of 1 to 4 people is held
//! to the same standard as a small count (`alongside_platform::protection`): what the two releases
//! show together must leave it possibly 0 and possibly 5 or more. An earlier release's figures
//! stay as they were shown; only this month's may be hidden.
//!
//! Each release keeps the answers it counted (its basis), so that later releases can find the
//! flows. A partner erased, or withdrawing their consent, keeps no key in any basis: their rows
//! there are given a random one, so their answers are counted but no longer theirs.

use std::collections::BTreeMap;

use alongside_platform::protection::{Figure, Table};
use alongside_platform::{OdsCode, SharedClock};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{QueryOrder, QuerySelect, Set, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::equality::{PREFER_NOT, QUESTIONS};

/// How many earlier releases each release is protected against (two years of months).
pub const EARLIER: u64 = 24;

/// Each question's answer codes, as counted: its answers, then "prefer not to say".
pub fn codes() -> Vec<Vec<&'static str>> {
    QUESTIONS
        .iter()
        .map(|(_, _, options)| {
            options
                .iter()
                .map(|(code, _)| *code)
                .chain([PREFER_NOT])
                .collect()
        })
        .collect()
}

/// Every answering partner's answers at one moment (one per question, in [`QUESTIONS`]'
/// order), by partner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<String, Vec<String>>);

impl Snapshot {
    /// Each question's count of each answer code.
    fn counts(&self, codes: &[Vec<&str>]) -> Vec<Vec<u64>> {
        let mut counts: Vec<Vec<u64>> = codes.iter().map(|c| vec![0; c.len()]).collect();
        for answers in self.0.values() {
            for (q, codes) in codes.iter().enumerate() {
                if let Some(c) = position(codes, answers.get(q)) {
                    counts[q][c] += 1;
                }
            }
        }
        counts
    }
}

/// Where `answer` stands among a question's `codes`.
fn position(codes: &[&str], answer: Option<&String>) -> Option<usize> {
    let answer = answer?;
    codes.iter().position(|c| c == answer)
}

/// What one release shows: each question's count of each answer, absent when hidden, and the
/// number who answered (every question's total).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub questions: BTreeMap<String, BTreeMap<String, Option<u64>>>,
    pub answered: Option<u64>,
}

impl Published {
    /// The count shown for `question`'s `answer`; `None` when hidden or never released.
    pub fn count(&self, question: &str, answer: &str) -> Option<u64> {
        self.questions.get(question)?.get(answer).copied().flatten()
    }
}

/// A figure of a release's tables.
#[derive(Clone, Copy, Debug)]
struct Cell {
    n: u64,
    /// Whether 1 to 4 of it is to be protected (a count of people by answer, or a flow of
    /// them); a flow's total (how many joined or left) is not about anyone's answers.
    guarded: bool,
    settled: Option<bool>,
}

impl Cell {
    fn new(n: u64) -> Self {
        Self {
            n,
            guarded: true,
            settled: None,
        }
    }
    fn earlier(n: u64, hidden: bool) -> Self {
        Self {
            n,
            guarded: true,
            settled: Some(hidden),
        }
    }
    fn flow(n: u64, guarded: bool) -> Self {
        Self {
            n,
            guarded,
            settled: Some(true),
        }
    }
}

impl Figure for Cell {
    const PARTS: usize = 1;
    fn part(&self, _: usize) -> u64 {
        self.n
    }
    fn is_small(&self) -> bool {
        self.guarded && (1..alongside_platform::protection::THRESHOLD).contains(&self.n)
    }
    fn settled(&self) -> Option<bool> {
        self.settled
    }
}

/// This month's release of `now`, protected within itself and against each `earlier` release
/// (its basis, and what it showed).
pub fn release(earlier: &[(Snapshot, Published)], now: &Snapshot) -> Published {
    let codes = codes();
    let counts = now.counts(&codes);
    let mut t: Table<Cell> = Table::default();
    let answered = t.term(Cell::new(now.0.len() as u64));
    let cells: Vec<Vec<usize>> = counts
        .iter()
        .map(|question| {
            let parts: Vec<usize> = question.iter().map(|&n| t.term(Cell::new(n))).collect();
            t.sum(answered, parts.clone());
            parts
        })
        .collect();
    for (basis, shown) in earlier {
        let then = basis.counts(&codes);
        let answered_then = t.term(Cell::earlier(
            basis.0.len() as u64,
            shown.answered.is_none(),
        ));
        for (q, codes) in codes.iter().enumerate() {
            let question = QUESTIONS[q].0;
            let was: Vec<usize> = codes
                .iter()
                .zip(&then[q])
                .map(|(code, &n)| t.term(Cell::earlier(n, shown.count(question, code).is_none())))
                .collect();
            t.sum(answered_then, was.clone());
            let mut stayed = vec![0u64; codes.len()];
            for (key, answers) in &now.0 {
                let kept = basis.0.get(key).and_then(|before| before.get(q)) == answers.get(q);
                if let Some(c) = position(codes, answers.get(q)).filter(|_| kept) {
                    stayed[c] += 1;
                }
            }
            let mut flows: [Vec<usize>; 3] = Default::default();
            for c in 0..codes.len() {
                let s = t.term(Cell::flow(stayed[c], true));
                let joined = t.term(Cell::flow(counts[q][c] - stayed[c], true));
                let left = t.term(Cell::flow(then[q][c] - stayed[c], true));
                t.sum(was[c], [s, left]);
                t.sum(cells[q][c], [s, joined]);
                for (k, term) in [s, joined, left].into_iter().enumerate() {
                    flows[k].push(term);
                }
            }
            let totals: Vec<usize> = flows
                .iter()
                .map(|terms| {
                    let n = terms.iter().map(|&i| t.figures[i].n).sum();
                    let total = t.term(Cell::flow(n, false));
                    t.sum(total, terms.iter().copied());
                    total
                })
                .collect();
            t.sum(answered_then, [totals[0], totals[2]]);
            t.sum(answered, [totals[0], totals[1]]);
        }
    }
    let shown = t.shown(true);
    let show = |i: usize| (!shown[i].hidden).then_some(shown[i].figure.n);
    Published {
        questions: QUESTIONS
            .iter()
            .zip(&codes)
            .zip(&cells)
            .map(|(((question, _, _), codes), terms)| {
                let counts = codes
                    .iter()
                    .zip(terms)
                    .map(|(code, &i)| ((*code).to_owned(), show(i)))
                    .collect();
                ((*question).to_owned(), counts)
            })
            .collect(),
        answered: show(answered),
    }
}

/// `equality_releases`: what each month's release showed.
pub mod stored {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "equality_releases")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        /// YYYY-MM: the month it was taken in.
        pub month: String,
        pub taken_on: String,
        pub active_partners: i64,
        /// [`Published`] as JSON.
        pub published: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `equality_basis`: the answers each release counted, by partner (or a random key, once the
/// partner is erased or withdraws their consent).
pub mod basis {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "equality_basis")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub month: String,
        pub partner_key: String,
        /// The answers, one per question in order, separated by `|`.
        pub answers: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A release as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub month: String,
    pub taken_on: String,
    pub active_partners: u64,
    pub published: Published,
}

impl Release {
    fn of(row: stored::Model) -> Result<Self, DbErr> {
        Ok(Self {
            published: serde_json::from_str(&row.published)
                .map_err(|e| DbErr::Custom(format!("equality release {}: {e}", row.id)))?,
            month: row.month,
            taken_on: row.taken_on,
            active_partners: row.active_partners.max(0) as u64,
        })
    }
}

/// This month's release for `tenant`, taken now from `current` (the active partners' answers,
/// and how many partners are active) when it is the month's first.
pub async fn this_month<C, F>(
    db: &C,
    tenant: &OdsCode,
    clock: &SharedClock,
    current: F,
) -> Result<Release, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
    F: std::future::Future<Output = Result<(Snapshot, u64), DbErr>>,
{
    let today = clock.today();
    let month = alongside_platform::month_of(today);
    let find = || {
        stored::Entity::find()
            .filter(stored::Column::TenantId.eq(tenant.as_str()))
            .filter(stored::Column::Month.eq(month.as_str()))
    };
    if let Some(row) = find().one(db).await? {
        return Release::of(row);
    }
    let (now, active_partners) = current.await?;
    let earlier_rows = stored::Entity::find()
        .filter(stored::Column::TenantId.eq(tenant.as_str()))
        .filter(stored::Column::Month.lt(month.as_str()))
        .order_by_desc(stored::Column::Month)
        .limit(EARLIER)
        .all(db)
        .await?;
    let oldest = earlier_rows.last().map(|row| row.month.clone());
    let mut bases: BTreeMap<String, Snapshot> = BTreeMap::new();
    for b in basis::Entity::find()
        .filter(basis::Column::TenantId.eq(tenant.as_str()))
        .filter(basis::Column::Month.is_in(earlier_rows.iter().map(|r| r.month.clone())))
        .all(db)
        .await?
    {
        let answers = b.answers.split('|').map(str::to_owned).collect();
        bases
            .entry(b.month)
            .or_default()
            .0
            .insert(b.partner_key, answers);
    }
    let earlier = earlier_rows
        .into_iter()
        .map(|row| {
            let basis = bases.remove(&row.month).unwrap_or_default();
            Ok((basis, Release::of(row)?.published))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let kept = earlier.len() as u64;
    // Protecting is CPU work (linear programmes for small figures): off the async workers.
    let (now, published) = tokio::task::spawn_blocking(move || {
        let published = release(&earlier, &now);
        (now, published)
    })
    .await
    .map_err(|e| DbErr::Custom(format!("protecting equality totals: {e}")))?;
    let txn = db.begin().await?;
    let inserted =
        stored::Entity::insert(stored::ActiveModel {
            tenant_id: Set(tenant.to_string()),
            month: Set(month.clone()),
            taken_on: Set(today.to_string()),
            active_partners: Set(active_partners as i64),
            published: Set(
                serde_json::to_string(&published).map_err(|e| DbErr::Custom(e.to_string()))?
            ),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([stored::Column::TenantId, stored::Column::Month])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    if inserted == 1 {
        for chunk in now.0.iter().collect::<Vec<_>>().chunks(500) {
            basis::Entity::insert_many(chunk.iter().map(|(key, answers)| basis::ActiveModel {
                tenant_id: Set(tenant.to_string()),
                month: Set(month.clone()),
                partner_key: Set((*key).clone()),
                answers: Set(answers.join("|")),
                ..Default::default()
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        // Bases no later release is protected against are not kept.
        if let Some(oldest) = oldest.filter(|_| kept == EARLIER) {
            basis::Entity::delete_many()
                .filter(basis::Column::TenantId.eq(tenant.as_str()))
                .filter(basis::Column::Month.lt(oldest.as_str()))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    // Taken by another reader at the same moment, theirs stands.
    find()
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("equality release {month}")))
        .and_then(Release::of)
}

/// Gives the partner's rows in every basis a random key: their answers stay counted, as they
/// were, but are no longer theirs.
pub async fn unlink(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    partner_id: &str,
) -> Result<(), DbErr> {
    basis::Entity::update_many()
        .col_expr(
            basis::Column::PartnerKey,
            Expr::value(alongside_platform::ids::new_id("gone")),
        )
        .filter(basis::Column::TenantId.eq(tenant.as_str()))
        .filter(basis::Column::PartnerKey.eq(partner_id))
        .exec(db)
        .await?;
    Ok(())
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261207_100001_equality_releases"
        }
    }

    #[derive(DeriveIden)]
    enum EqualityReleases {
        Table,
        Id,
        TenantId,
        Month,
        TakenOn,
        ActivePartners,
        Published,
    }

    #[derive(DeriveIden)]
    enum EqualityBasis {
        Table,
        Id,
        TenantId,
        Month,
        PartnerKey,
        Answers,
    }

    fn id<T: Iden + 'static>(c: T) -> ColumnDef {
        ColumnDef::new(c)
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key()
            .to_owned()
    }

    fn text<T: Iden + 'static>(c: T) -> ColumnDef {
        ColumnDef::new(c).string().not_null().to_owned()
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(EqualityReleases::Table)
                        .if_not_exists()
                        .col(id(EqualityReleases::Id))
                        .col(text(EqualityReleases::TenantId))
                        .col(text(EqualityReleases::Month))
                        .col(text(EqualityReleases::TakenOn))
                        .col(
                            ColumnDef::new(EqualityReleases::ActivePartners)
                                .big_integer()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(EqualityReleases::Published)
                                .text()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("equality_releases_one_a_month")
                        .table(EqualityReleases::Table)
                        .col(EqualityReleases::TenantId)
                        .col(EqualityReleases::Month)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(EqualityBasis::Table)
                        .if_not_exists()
                        .col(id(EqualityBasis::Id))
                        .col(text(EqualityBasis::TenantId))
                        .col(text(EqualityBasis::Month))
                        .col(text(EqualityBasis::PartnerKey))
                        .col(text(EqualityBasis::Answers))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("equality_basis_by_month")
                        .table(EqualityBasis::Table)
                        .col(EqualityBasis::TenantId)
                        .col(EqualityBasis::Month)
                        .col(EqualityBasis::PartnerKey)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(EqualityBasis::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(EqualityReleases::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alongside_platform::protection::attacker::{seeded, Attacker};

    fn snapshot(people: &[(&str, [usize; 5])]) -> Snapshot {
        let codes = codes();
        Snapshot(
            people
                .iter()
                .map(|(key, answers)| {
                    let given = answers
                        .iter()
                        .enumerate()
                        .map(|(q, &a)| codes[q][a].to_owned());
                    ((*key).to_owned(), given.collect())
                })
                .collect(),
        )
    }

    fn sex(p: &Published) -> Vec<Option<u64>> {
        codes()[1].iter().map(|c| p.count("sex", c)).collect()
    }

    #[test]
    fn one_partner_joining_is_not_given_away_by_the_next_release() {
        // Twelve partners, six female and six male by the first answer of "sex".
        let mut people: Vec<(String, [usize; 5])> = (0..12)
            .map(|i| (format!("p{i}"), [0, i % 2, 0, 0, 0]))
            .collect();
        let as_pairs = |people: &[(String, [usize; 5])]| {
            snapshot(
                &people
                    .iter()
                    .map(|(k, a)| (k.as_str(), *a))
                    .collect::<Vec<_>>(),
            )
        };
        let first = as_pairs(&people);
        let shown = release(&[], &first);
        assert_eq!(shown.answered, Some(12));
        assert_eq!(sex(&shown)[..2], [Some(6), Some(6)]);
        // One more, female: alone, the next release would show 7 and 13.
        people.push(("p12".into(), [0, 0, 0, 0, 0]));
        let second = as_pairs(&people);
        let alone = release(&[], &second);
        assert_eq!(sex(&alone)[..2], [Some(7), Some(6)], "protected on its own");
        let next = release(&[(first.clone(), shown.clone())], &second);
        assert!(
            sex(&next)[0].is_none() && next.answered.is_none(),
            "the count that moved by one, and the total, are hidden: {next:?}"
        );
        // Five more join, in both answers: the release moves on.
        for i in 13..18 {
            people.push((format!("p{i}"), [0, i % 2, 0, 0, 0]));
        }
        let third = as_pairs(&people);
        let later = release(&[(first, shown), (second, next)], &third);
        assert_eq!(later.answered, Some(18), "{later:?}");
    }

    /// An analyst who keeps every month's release and reads them together, as a linear
    /// programme over every path a partner can take through them (absent, or each answer, in
    /// each month), can narrow no count of 1 to 4, and no number of partners who came to or
    /// left an answer between any two releases, below the standard; and releases protected
    /// only within themselves fail the same test.
    #[test]
    fn no_release_gives_away_who_joined_or_left_between_releases() {
        const MONTHS: usize = 4;
        let mut next = seeded(11);
        let (mut bounded, mut live_narrowed) = (0, 0);
        for round in 0..8 {
            // A bank of 10 to 30, a few joining, leaving or changing an answer each month;
            // answers skewed so that some are rare.
            let mut people: BTreeMap<String, [usize; 5]> = BTreeMap::new();
            let mut person = 0;
            let answer = |next: &mut dyn FnMut(u64) -> u64| {
                let mut a = [0usize; 5];
                for x in a.iter_mut() {
                    *x = match next(10) {
                        0 => 1,
                        1..=2 => 2,
                        _ => 0,
                    };
                }
                a
            };
            let mut join = |people: &mut BTreeMap<String, [usize; 5]>,
                            next: &mut dyn FnMut(u64) -> u64| {
                people.insert(format!("p{person}"), answer(next));
                person += 1;
            };
            for _ in 0..10 + next(20) {
                join(&mut people, &mut next);
            }
            let mut months: Vec<BTreeMap<String, [usize; 5]>> = Vec::new();
            for month in 0..MONTHS {
                if month > 0 {
                    for _ in 0..next(4) {
                        join(&mut people, &mut next);
                    }
                    for _ in 0..next(3) {
                        let keys: Vec<String> = people.keys().cloned().collect();
                        people.remove(&keys[next(keys.len() as u64) as usize]);
                    }
                    if next(2) == 0 {
                        let keys: Vec<String> = people.keys().cloned().collect();
                        let who = &keys[next(keys.len() as u64) as usize];
                        let q = next(5) as usize;
                        people.get_mut(who).unwrap()[q] = next(3) as usize;
                    }
                }
                months.push(people.clone());
            }
            let snapshots: Vec<Snapshot> = months
                .iter()
                .map(|m| snapshot(&m.iter().map(|(k, a)| (k.as_str(), *a)).collect::<Vec<_>>()))
                .collect();
            let mut kept: Vec<(Snapshot, Published)> = Vec::new();
            let mut live: Vec<Published> = Vec::new();
            for s in &snapshots {
                let earlier: Vec<(Snapshot, Published)> = kept.iter().rev().cloned().collect();
                let shown = release(&earlier, s);
                kept.push((s.clone(), shown));
                live.push(release(&[], s));
            }
            let releases: Vec<Published> = kept.iter().map(|(_, p)| p.clone()).collect();
            for (q, codes) in codes().iter().enumerate() {
                // Paths: a state per month, 0 absent, 1 + a for answer a (three used here).
                let paths: Vec<Vec<usize>> = (0..4usize.pow(MONTHS as u32))
                    .map(|n| (0..MONTHS).map(|m| n / 4usize.pow(m as u32) % 4).collect())
                    .collect();
                let of = |test: &dyn Fn(&[usize]) -> bool| -> Vec<Vec<usize>> {
                    paths.iter().filter(|p| test(p)).cloned().collect()
                };
                let actual = people_paths(&months, q);
                let count = |test: &dyn Fn(&[usize]) -> bool| -> u64 {
                    actual.iter().filter(|p| test(p)).count() as u64
                };
                let mut small: Vec<(String, Vec<Vec<usize>>)> = Vec::new();
                for m in 0..MONTHS {
                    for a in 1..4 {
                        let test = move |p: &[usize]| p[m] == a;
                        if (1..5).contains(&count(&test)) {
                            small.push((
                                format!("round {round} q{q} month {m} answer {a}"),
                                of(&test),
                            ));
                        }
                    }
                    for r in 0..m {
                        for a in 1..4 {
                            let came = move |p: &[usize]| p[r] != a && p[m] == a;
                            let went = move |p: &[usize]| p[r] == a && p[m] != a;
                            for (what, test) in [
                                ("came to", &came as &dyn Fn(&[usize]) -> bool),
                                ("left", &went),
                            ] {
                                if (1..5).contains(&count(test)) {
                                    small.push((
                                        format!(
                                            "round {round} q{q} months {r}–{m}: {what} answer {a}"
                                        ),
                                        of(test),
                                    ));
                                }
                            }
                        }
                    }
                }
                let question = QUESTIONS[q].0;
                let attack = |shown: &[Published]| {
                    let mut attacker: Attacker<Vec<usize>> = Attacker::default();
                    for (m, p) in shown.iter().enumerate() {
                        if let Some(n) = p.answered {
                            attacker.know(&of(&|path: &[usize]| path[m] != 0), n as f64);
                        }
                        for a in 1..4 {
                            if let Some(n) = p.count(question, codes[a - 1]) {
                                attacker.know(&of(&|path: &[usize]| path[m] == a), n as f64);
                            }
                        }
                    }
                    attacker.narrowed(&small)
                };
                assert_eq!(attack(&releases), Vec::<String>::new());
                live_narrowed += attack(&live).len();
                bounded += small.len();
            }
        }
        assert!(bounded >= 50, "small figures bounded: {bounded}");
        assert!(
            live_narrowed > 0,
            "protected month by month alone, some are narrowed"
        );
    }

    /// Kept releases: one a month, the same all month whatever changes, the next protected
    /// against it; an erased partner's answers stay counted in the basis under a random key.
    #[tokio::test]
    async fn a_release_is_taken_once_a_month_and_the_next_is_protected_against_it() {
        use sea_orm_migration::MigratorTrait;
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        crate::Migrator::up(&db, None).await.unwrap();
        let clock = std::sync::Arc::new(alongside_platform::clock::ManualClock::on(
            time::macros::date!(2026 - 11 - 10),
        ));
        let shared: SharedClock = clock.clone();
        let tenant = OdsCode::parse("RZA").unwrap();
        let bank = |n: usize| {
            let people: Vec<(String, [usize; 5])> = (0..n)
                .map(|i| (format!("p{i}"), [0, i % 2, 0, 0, 0]))
                .collect();
            snapshot(
                &people
                    .iter()
                    .map(|(k, a)| (k.as_str(), *a))
                    .collect::<Vec<_>>(),
            )
        };
        let take = |n: usize| {
            let clock = shared.clone();
            let db = &db;
            let tenant = &tenant;
            async move {
                this_month(
                    db,
                    tenant,
                    &clock,
                    async move { Ok((bank(n), n as u64 + 3)) },
                )
                .await
                .unwrap()
            }
        };
        let november = take(12).await;
        assert_eq!(
            (
                november.month.as_str(),
                november.taken_on.as_str(),
                november.active_partners
            ),
            ("2026-11", "2026-11-10", 15)
        );
        assert_eq!(november.published.answered, Some(12));
        assert_eq!(take(13).await, november, "the same all month");
        unlink(&db, &tenant, "p0").await.unwrap();
        let keys: Vec<String> = basis::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.partner_key)
            .collect();
        assert_eq!(keys.len(), 12, "still counted");
        assert!(!keys.contains(&"p0".to_string()) && keys.iter().any(|k| k.starts_with("gone")));
        // December: one more partner than November's twelve (p0 now under its random key, so
        // a leaver, and two joiners): the counts that moved by 1 are hidden.
        clock.advance(time::Duration::days(30));
        let december = take(13).await;
        assert_eq!(december.month, "2026-12");
        assert_eq!(december.published.answered, None, "{december:?}");
        assert_eq!(
            release(&[], &bank(13)).answered,
            Some(13),
            "alone it would be shown"
        );
    }

    /// Each partner's state in each month for question `q`: 0 absent, 1 + their answer.
    fn people_paths(months: &[BTreeMap<String, [usize; 5]>], q: usize) -> Vec<Vec<usize>> {
        let everyone: std::collections::BTreeSet<&String> =
            months.iter().flat_map(|m| m.keys()).collect();
        everyone
            .into_iter()
            .map(|k| {
                months
                    .iter()
                    .map(|m| m.get(k).map_or(0, |a| a[q] + 1))
                    .collect()
            })
            .collect()
    }
}
