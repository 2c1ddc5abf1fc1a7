//! The analytics stream for ICS data teams (`feedback.insights.v1`): the FFT figures of every
//! unit of a trust in a month — the trust, its sites, each pathway at a site — as released
//! together with every other figure of the trust's ICS that month (see [`crate::release`]: a
//! change to one trust can change whether figures of its ICS's other trusts are hidden, so
//! their months are republished too); the month's themes of comments and outcome measures; and the
//! trust's SPC chart of % positive, written to the outbox.
//! The topic is compacted by key: its latest message per key is the current figure.
//!
//! Storing responses marks their trust's months as changed, in the responses' transaction; a
//! publisher republishes each marked month at most about once a second, however many batches
//! arrive, in a transaction that takes the mark and writes the outbox together. So no change is
//! lost (a mark is only taken when its figures are written) and an upload of many batches does
//! not republish a month for each.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alongside_events::outbox::Outbox;
use alongside_events::topics::FEEDBACK_INSIGHTS;
use alongside_platform::OdsCode;
use alongside_proto::feedback::events::v1::{
    FftCounts, FftInsight, PromInsight, SpcInsight, SpcInsightPoint, ThemeFigure, ThemeInsight,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tokio_util::sync::CancellationToken;

use crate::protection::Held;
use crate::release::{table, Cells, Publication};
use crate::suppression::Suppression;

/// Where responses did not say their site or pathway.
pub(crate) const NOT_KNOWN: &str = "Not known";

/// A part of a key: "/" and "%" escaped, so the key splits back into its parts.
fn key_part(value: &str) -> String {
    value.replace('%', "%25").replace('/', "%2F")
}

/// The key of a trust's themes of a month's comments.
pub fn themes_key(tenant: &str, month: &str) -> String {
    format!("{tenant}/themes/{month}")
}

/// The key of a trust's outcome measures of a month.
pub fn proms_key(tenant: &str, month: &str) -> String {
    format!("{tenant}/proms/{month}")
}

/// The key of a trust's SPC chart of % positive.
pub fn spc_key(tenant: &str) -> String {
    format!("{tenant}/spc/fft-positive")
}

/// Months of the chart on the stream, ending with the trust's latest month.
const SPC_MONTHS: i32 = 24;

pub fn key(tenant: &str, month: &str, site: &str, pathway: &str) -> String {
    format!(
        "{tenant}/fft/{month}/{}/{}",
        key_part(site),
        key_part(pathway)
    )
}

/// The insights of one trust's month from its figures as released (see [`crate::release`]):
/// the trust, then each site followed by its pathways; "Not known" where responses did not say.
pub(crate) fn month_insights(tenant: &str, month: &str, tables: &[Cells<Held>]) -> Vec<FftInsight> {
    let known = |v: &str| {
        if v.is_empty() {
            NOT_KNOWN.to_string()
        } else {
            v.to_string()
        }
    };
    let insight = |level: &str, site: String, pathway: String, h: &Held| {
        let shown = h.state == Suppression::None;
        let c = h.counts;
        FftInsight {
            tenant: tenant.into(),
            month: month.into(),
            level: level.into(),
            site,
            pathway,
            total: shown.then_some(c.total()),
            percent_positive: c.percent_positive().filter(|_| shown),
            percent_negative: c.percent_negative().filter(|_| shown),
            counts: shown.then_some(FftCounts {
                very_good: c.very_good,
                good: c.good,
                neither: c.neither,
                poor: c.poor,
                very_poor: c.very_poor,
                dont_know: c.dont_know,
            }),
            suppression: h.state.as_str().into(),
        }
    };
    let mut out = Vec::new();
    if let Some(h) = tables[table(&[])].get(&Vec::new()) {
        out.push(insight("trust", String::new(), String::new(), h));
    }
    let pathways = &tables[table(&["site", "pathway"])];
    for (key, h) in &tables[table(&["site"])] {
        let site = &key[0];
        out.push(insight("site", known(site), String::new(), h));
        for (k, h) in pathways.iter().filter(|(k, _)| &k[0] == site) {
            out.push(insight("pathway", known(site), known(&k[1]), h));
        }
    }
    out
}

pub mod changed {
    use sea_orm::entity::prelude::*;

    /// A trust's month whose figures changed and are not yet republished.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "insight_changes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        /// When it was last marked: a mark taken by the publisher is the one it read.
        pub marked_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The moment, for how long ago a mark was made: elapsed time, not what day it is (which the
/// injected clock says, and tests move), so the machine's clock on both sides.
#[allow(clippy::disallowed_methods)]
fn elapsed_clock() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// A moment as marks begin with it: milliseconds since 1970, zero-padded, so that marks sort
/// by when they were made (marks made otherwise, by migrations, sort after every moment).
fn stamp(at: time::OffsetDateTime) -> String {
    format!("{:015}", (at.unix_timestamp_nanos() / 1_000_000).max(0))
}

/// Marks made less than `seconds` ago: months still changing.
pub(crate) fn fresh(seconds: u64) -> sea_orm::Condition {
    let since = elapsed_clock()
        - time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1_000_000_000));
    sea_orm::Condition::all()
        .add(changed::Column::MarkedAt.gte(stamp(since)))
        .add(changed::Column::MarkedAt.lt(":"))
}

/// Marks `months` of `tenant` as changed, in the transaction that changed them.
pub async fn mark(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    months: &BTreeSet<String>,
) -> Result<(), DbErr> {
    if months.is_empty() {
        return Ok(());
    }
    // When, then a fresh id: two marks in one instant still differ.
    let now = format!(
        "{}-{}",
        stamp(elapsed_clock()),
        alongside_platform::ids::new_id("chg")
    );
    // The ICS's members are published together: one trust's change can hide another's figure.
    let members = crate::tenants::published_with(db, tenant.as_str()).await?;
    let rows = members.iter().flat_map(|member| {
        months.iter().map(|m| changed::ActiveModel {
            tenant_id: Set(member.clone()),
            month: Set(m.clone()),
            marked_at: Set(now.clone()),
        })
    });
    changed::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([changed::Column::TenantId, changed::Column::Month])
                .update_column(changed::Column::MarkedAt)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Marks every month of every trust that has figures (FFT, comments, outcome measures or
/// partner time) as changed, so the publisher republishes them all: a backfill after a new
/// consumer or a lost topic. Returns how many trusts and trust-months were marked. Safe to
/// repeat: a mark is a mark, and a figure published again is the same figure.
pub async fn mark_all(db: &impl ConnectionTrait) -> Result<(usize, usize), DbErr> {
    let sql = "SELECT DISTINCT tenant_id, month FROM fft_monthly \
               UNION SELECT DISTINCT tenant_id, month FROM comments \
               UNION SELECT DISTINCT tenant_id, month FROM involvement_attendances \
               UNION SELECT DISTINCT tenant_id, substr(completed_on, 1, 7) FROM prom_responses";
    let rows = db
        .query_all(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await?;
    let mut by_tenant: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        let tenant: String = row.try_get_by_index(0)?;
        let month: String = row.try_get_by_index(1)?;
        by_tenant.entry(tenant).or_default().insert(month);
    }
    let months = by_tenant.values().map(BTreeSet::len).sum();
    for (tenant, months) in &by_tenant {
        if let Ok(tenant) = OdsCode::parse(tenant) {
            mark(db, &tenant, months).await?;
        }
    }
    Ok((by_tenant.len(), months))
}

/// Republishes marked months until shut down: each round takes up to 200 marks.
pub async fn run_publisher(
    db: DatabaseConnection,
    outbox: Outbox,
    publication: Publication,
    shutdown: CancellationToken,
) {
    loop {
        match publish_marked(&db, &outbox, &publication).await {
            Ok(n) if n > 0 => outbox.notify(),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "insights publisher cannot publish"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One round: the marks of each ICS together (one read of its figures), in one transaction
/// that takes each mark (only as it was read, so a newer mark stays for the next round; a mark
/// another replica took is skipped) and writes the months' figures to the outbox. Answers how
/// many trusts' months were republished. A month not yet released keeps its marks until it is.
pub async fn publish_marked(
    db: &DatabaseConnection,
    outbox: &Outbox,
    publication: &Publication,
) -> Result<usize, DbErr> {
    let marks = changed::Entity::find()
        .filter(changed::Column::Month.lte(publication.last_released()))
        .filter(fresh(publication.settings.settle_seconds).not())
        .order_by_asc(changed::Column::TenantId)
        .order_by_asc(changed::Column::Month)
        .limit(200)
        .all(db)
        .await?;
    let mut groups: BTreeMap<Vec<String>, Vec<changed::Model>> = BTreeMap::new();
    let mut members_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for mark in marks {
        if !members_of.contains_key(&mark.tenant_id) {
            let members = crate::tenants::published_with(db, &mark.tenant_id).await?;
            members_of.insert(mark.tenant_id.clone(), members);
        }
        groups
            .entry(members_of[&mark.tenant_id].clone())
            .or_default()
            .push(mark);
    }
    let mut published = 0;
    for (members, marks) in groups {
        let members: Vec<OdsCode> = members
            .iter()
            .filter_map(|c| OdsCode::parse(c).ok())
            .collect();
        // Releasing months is the slow part (protection): done before the transaction, so that
        // no lock is held meanwhile; inside it, the months are read as released.
        let months: BTreeSet<&String> = marks.iter().map(|m| &m.month).collect();
        for month in months {
            crate::release::months(db, &members, month, month, publication).await?;
        }
        let txn = db.begin().await?;
        let mut taken: BTreeMap<OdsCode, BTreeSet<String>> = BTreeMap::new();
        for mark in &marks {
            let Ok(tenant) = OdsCode::parse(&mark.tenant_id) else {
                continue;
            };
            let took = changed::Entity::delete_many()
                .filter(changed::Column::TenantId.eq(&mark.tenant_id))
                .filter(changed::Column::Month.eq(&mark.month))
                .filter(changed::Column::MarkedAt.eq(&mark.marked_at))
                .exec(&txn)
                .await?
                .rows_affected;
            if took == 1 {
                taken.entry(tenant).or_default().insert(mark.month.clone());
                published += 1;
            }
        }
        publish_ics(&txn, outbox, &members, &taken, publication).await?;
        txn.commit().await?;
    }
    Ok(published)
}

/// Enqueues the insights of each trust's months in `taken` from one release of the figures of
/// `members` (its ICS), and each such trust's chart.
async fn publish_ics(
    db: &impl ConnectionTrait,
    outbox: &Outbox,
    members: &[OdsCode],
    taken: &BTreeMap<OdsCode, BTreeSet<String>>,
    publication: &Publication,
) -> Result<(), DbErr> {
    let months: BTreeSet<&String> = taken.values().flatten().collect();
    let (Some(first), Some(last)) = (months.first(), months.last()) else {
        return Ok(());
    };
    let mut released: BTreeMap<String, crate::release::Release> =
        crate::release::kept(db, members, first, last, publication)
            .await?
            .into_iter()
            .filter(|(m, _)| months.contains(m))
            .collect();
    for (tenant, months) in taken {
        let by_month: BTreeMap<String, Vec<Cells<Held>>> = months
            .iter()
            .filter_map(|m| {
                let tables = released.get_mut(m)?.trusts.remove(tenant.as_str())?;
                Some((m.clone(), tables))
            })
            .collect();
        publish_trust(db, outbox, tenant, months, &by_month).await?;
    }
    for (tenant, chart) in spc_insights(db, members, taken.keys(), publication).await? {
        let key = spc_key(tenant.as_str());
        outbox
            .enqueue_many(db, &[(FEEDBACK_INSIGHTS, key.as_str(), &tenant, chart)])
            .await?;
    }
    Ok(())
}

/// Enqueues one trust's FFT figures of `months` as released, withdrawing keys no longer
/// current, and its themes, outcome measures and involvement of those months.
async fn publish_trust(
    db: &impl ConnectionTrait,
    outbox: &Outbox,
    tenant: &OdsCode,
    months: &BTreeSet<String>,
    by_month: &BTreeMap<String, Vec<Cells<Held>>>,
) -> Result<(), DbErr> {
    let mut events = Vec::new();
    let mut keys = Vec::new();
    let mut current: BTreeMap<&str, BTreeSet<String>> = months
        .iter()
        .map(|m| (m.as_str(), BTreeSet::new()))
        .collect();
    for (month, tables) in by_month {
        for insight in month_insights(tenant.as_str(), month, tables) {
            let site = if insight.level == "trust" {
                ""
            } else {
                insight.site.as_str()
            };
            let pathway = if insight.level == "pathway" {
                insight.pathway.as_str()
            } else {
                ""
            };
            let k = key(tenant.as_str(), month, site, pathway);
            current.entry(month.as_str()).or_default().insert(k.clone());
            keys.push(k);
            events.push(insight);
        }
    }
    let batch: Vec<(&str, &str, &OdsCode, FftInsight)> = events
        .into_iter()
        .zip(&keys)
        .map(|(e, k)| (FEEDBACK_INSIGHTS, k.as_str(), tenant, e))
        .collect();
    outbox.enqueue_many(db, &batch).await?;
    // Keys no longer current (a place merged away or set aside) are withdrawn.
    for (month, keys) in &current {
        crate::stream_keys::settle(db, outbox, tenant, month, keys).await?;
    }
    for month in months {
        if let Some(themes) = theme_insight(db, tenant, month).await? {
            let key = themes_key(tenant.as_str(), month);
            outbox
                .enqueue_many(db, &[(FEEDBACK_INSIGHTS, key.as_str(), tenant, themes)])
                .await?;
        }
        if let Some(proms) = prom_insight(db, tenant, month).await? {
            let key = proms_key(tenant.as_str(), month);
            outbox
                .enqueue_many(db, &[(FEEDBACK_INSIGHTS, key.as_str(), tenant, proms)])
                .await?;
        }
        if let Some(involvement) = crate::involvement::insight(db, tenant, month).await? {
            let key = crate::involvement::key(tenant.as_str(), month);
            outbox
                .enqueue_many(
                    db,
                    &[(FEEDBACK_INSIGHTS, key.as_str(), tenant, involvement)],
                )
                .await?;
        }
    }
    Ok(())
}

/// A month's comments by theme; none without comments. A theme of 1 to 4 comments is not
/// listed at all (that it is there at all says what one of a few people wrote about), nor is
/// any theme of a month with 1 to 4 comments: only how many comments there were.
pub async fn theme_insight(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    month: &str,
) -> Result<Option<ThemeInsight>, DbErr> {
    let summary = crate::comments_api::theme_figures(db, tenant, month, month, "").await?;
    if summary.comments == 0 {
        return Ok(None);
    }
    let few = |n: u64| (1..=4).contains(&n);
    let listed = !few(summary.comments);
    Ok(Some(ThemeInsight {
        tenant: tenant.to_string(),
        month: month.into(),
        comments: summary.comments,
        themes: summary
            .categories
            .into_iter()
            .filter(|c| listed && c.comments > 0 && !few(c.comments))
            .map(|c| ThemeFigure {
                comments: Some(c.comments),
                positive: Some(c.positive),
                neutral: Some(c.neutral),
                negative: Some(c.negative),
                code: c.code,
                name: c.name,
                major: c.major,
            })
            .collect(),
    }))
}

/// A month's outcome measures as the pages publish them (`prom_release`); none without any.
pub async fn prom_insight(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    month: &str,
) -> Result<Option<PromInsight>, DbErr> {
    let last = alongside_platform::last_day_of_month(month)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let p = crate::api::prom_figures(db, tenant, &format!("{month}-01"), &last, "", 0).await?;
    let none = |n: Option<u64>| n == Some(0);
    if none(p.msk_hq_responses) && none(p.sure_responses) {
        return Ok(None);
    }
    Ok(Some(PromInsight {
        tenant: tenant.to_string(),
        month: month.into(),
        msk_hq_responses: p.msk_hq_responses,
        msk_hq_mean_total: p.msk_hq_mean_total,
        msk_hq_episodes_paired: p.msk_hq_episodes_paired,
        msk_hq_improved: p.msk_hq_improved,
        msk_hq_worsened: p.msk_hq_worsened,
        msk_hq_threshold: p.msk_hq_threshold,
        sure_responses: p.sure_responses,
        sure_conflict: p.sure_conflict,
    }))
}

/// Each of `trusts`' chart of % positive over the 24 months to its latest, as released with
/// its ICS (`members`): one read of the ICS's months for all of them.
async fn spc_insights(
    db: &impl ConnectionTrait,
    members: &[OdsCode],
    trusts: impl Iterator<Item = &OdsCode>,
    publication: &Publication,
) -> Result<Vec<(OdsCode, SpcInsight)>, DbErr> {
    let all = crate::rollup::Filter::default();
    let released = publication.last_released();
    let mut windows = Vec::new();
    for tenant in trusts {
        let latest = crate::rollup::counts(db, tenant, "", "", &all, "month", false)
            .await?
            .into_iter()
            .map(|(month, _, _)| month)
            .filter(|month| *month <= released)
            .max();
        let window = latest.map(|latest| {
            let from = alongside_platform::add_months(&latest, 1 - SPC_MONTHS).unwrap_or_default();
            (from, latest)
        });
        windows.push((tenant.clone(), window));
    }
    let from = windows
        .iter()
        .filter_map(|(_, w)| w.as_ref())
        .map(|w| &w.0)
        .min();
    let to = windows
        .iter()
        .filter_map(|(_, w)| w.as_ref())
        .map(|w| &w.1)
        .max();
    let released = match (from, to) {
        (Some(from), Some(to)) => crate::release::kept(db, members, from, to, publication).await?,
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (tenant, window) in windows {
        let Some((from, to)) = window else {
            out.push((
                tenant.clone(),
                SpcInsight {
                    tenant: tenant.to_string(),
                    ..Default::default()
                },
            ));
            continue;
        };
        let months = released
            .iter()
            .filter(|(m, _)| *m >= from && *m <= to)
            .filter_map(|(m, r)| Some((m.clone(), r.trust(tenant.as_str(), table(&[]), &[])?)));
        let chart =
            crate::compare::protected_chart(months).map_err(|e| DbErr::Custom(e.to_string()))?;
        let insight = SpcInsight {
            tenant: tenant.to_string(),
            points: chart
                .points
                .into_iter()
                .map(|p| SpcInsightPoint {
                    month: p.period,
                    value: p.value,
                    mean: p.mean,
                    lpl: p.lpl,
                    upl: p.upl,
                    variation: p.r#type,
                    rule: p.rule,
                })
                .collect(),
            warnings: chart.warnings,
        };
        out.push((tenant, insight));
    }
    Ok(out)
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300009_insight_changes"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum InsightChanges {
        Table,
        TenantId,
        Month,
        MarkedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use InsightChanges as C;
            manager
                .create_table(
                    Table::create()
                        .table(C::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(C::TenantId).string().not_null())
                        .col(ColumnDef::new(C::Month).string().not_null())
                        .col(ColumnDef::new(C::MarkedAt).string().not_null())
                        .primary_key(Index::create().col(C::TenantId).col(C::Month))
                        .to_owned(),
                )
                .await?;
            // Figures held before the stream existed: every month of every trust, once.
            let db = manager.get_connection();
            db.execute_unprepared(
                "INSERT INTO insight_changes (tenant_id, month, marked_at) \
                 SELECT DISTINCT tenant_id, month, 'migration' FROM fft_monthly",
            )
            .await?;
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(InsightChanges::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft::Counts;

    fn counts(very_good: u64, poor: u64) -> Counts {
        Counts {
            very_good,
            poor,
            ..Counts::default()
        }
    }

    #[test]
    fn keys_split_back_into_their_parts() {
        assert_eq!(key("RZA", "2026-11", "", ""), "RZA/fft/2026-11//");
        assert_eq!(
            key("RZA", "2026-11", "A/B 100%", "MSK"),
            "RZA/fft/2026-11/A%2FB 100%25/MSK"
        );
    }

    #[test]
    fn the_asyncapi_document_describes_the_topic_as_published() {
        let doc = include_str!("../../../docs/asyncapi.yaml");
        assert!(doc.contains(&format!("address: {FEEDBACK_INSIGHTS}")));
        let registry = alongside_events::topics::REGISTRY
            .iter()
            .find(|t| t.name == FEEDBACK_INSIGHTS)
            .unwrap();
        assert_eq!(registry.retention_days, None, "compacted");
        assert!(doc.contains("cleanup.policy:\n            - compact"));
        for example in [
            key("RZA", "2026-11", "", ""),
            key("RZA", "2026-11", "Riverside Hospital", ""),
            key("RZA", "2026-11", "Riverside Hospital", "Maternity"),
        ] {
            assert!(doc.contains(&format!("- {example}\n")), "{example}");
        }
        // Every field of the event is documented.
        for field in [
            "tenant",
            "month",
            "level",
            "site",
            "pathway",
            "total",
            "percent_positive",
            "percent_negative",
            "counts",
            "suppression",
        ] {
            assert!(doc.contains(&format!(" {field} = ")), "{field}");
        }
        assert!(doc.contains(&format!("- {}\n", spc_key("RZA"))));
        assert!(doc.contains(&format!("- {}\n", themes_key("RZA", "2026-11"))));
        assert!(doc.contains(&format!("- {}\n", proms_key("RZA", "2026-11"))));
        assert!(doc.contains(&format!(
            "- {}\n",
            crate::involvement::key("RZA", "2026-11")
        )));
        for field in [
            "sessions",
            "minutes",
            "partners",
            "paid_sessions",
            "expenses_only_sessions",
            "by_pathway",
            "by_kind",
            "key",
        ] {
            assert!(doc.contains(&format!(" {field} = ")), "{field}");
        }
        for field in [
            "comments",
            "themes",
            "code",
            "major",
            "positive",
            "neutral",
            "negative",
            "msk_hq_responses",
            "msk_hq_mean_total",
            "msk_hq_episodes_paired",
            "msk_hq_improved",
            "msk_hq_worsened",
            "msk_hq_threshold",
            "sure_responses",
            "sure_conflict",
        ] {
            assert!(doc.contains(&format!(" {field} = ")), "{field}");
        }
        for field in [
            "points",
            "warnings",
            "value",
            "mean",
            "lpl",
            "upl",
            "variation",
            "rule",
        ] {
            assert!(doc.contains(&format!(" {field} = ")), "{field}");
        }
    }

    #[test]
    fn a_month_is_published_as_released_with_small_figures_hidden_whole() {
        let cells: BTreeMap<(String, String), Counts> = [
            (("North".into(), "MSK".into()), counts(30, 2)),
            (("North".into(), "Pain".into()), counts(2, 1)),
            (("South".into(), String::new()), counts(10, 0)),
        ]
        .into_iter()
        .collect();
        // The trust's tables as the release reads them: the trust, its sites, their pathways.
        let mut tables = vec![BTreeMap::new(); crate::release::TABLES.len()];
        for ((site, pathway), c) in &cells {
            for key in [
                vec![],
                vec![site.clone()],
                vec![site.clone(), pathway.clone()],
            ] {
                let t = table(&["site", "pathway"][..key.len()]);
                let at: &mut Counts = tables[t].entry(key).or_default();
                at.merge(c);
            }
        }
        let release = crate::release::protect_month(&[("RZA".to_string(), tables)].into());
        let out = month_insights("RZA", "2026-11", &release.trusts["RZA"]);
        let row = |level: &str, site: &str, pathway: &str| {
            out.iter()
                .find(|i| i.level == level && i.site == site && i.pathway == pathway)
                .unwrap_or_else(|| panic!("{level} {site} {pathway}: {out:?}"))
        };
        let trust = row("trust", "", "");
        assert_eq!(trust.total, Some(45));
        assert_eq!(trust.suppression, "none");
        assert_eq!(trust.counts.as_ref().unwrap().very_good, 42);
        let pain = row("pathway", "North", "Pain");
        assert_eq!(
            (pain.total, pain.suppression.as_str(), pain.percent_positive),
            (None, "primary", None),
            "3 responses: hidden whole"
        );
        // MSK is North's other pathway: hidden with Pain, so that North less MSK is not Pain.
        let msk = row("pathway", "North", "MSK");
        assert_eq!(msk.suppression, "secondary");
        assert!(msk.counts.is_none() && msk.percent_positive.is_none() && msk.total.is_none());
        let south = row("pathway", "South", "Not known");
        assert_eq!(south.total, Some(10));
        assert_eq!(out.len(), 1 + 2 + 3);
        assert_eq!(out[0].level, "trust", "the trust first");
    }
}
