//! Reporting on involvement for a period: partner hours by kind of work and pathway, distinct
//! partners, paid and expenses-only sessions, how evenly paid work is shared (the share held by
//! the busiest fifth, the most any one held, the Gini coefficient), apologies and no-shows, and
//! opportunities that started with places left.
//!
//! For readers of figures (analysts, administrators, an ICS), each month is one set of linked
//! tables, protected once (`alongside_platform::protection`): the month's attended sessions in
//! total and by kind of work, pathway and way of paying (each the sum of its values), and its
//! apologies and no-shows. A figure of 1 to 4 partners is hidden (sessions, minutes and
//! partners together: each session is one partner's), and whatever would give it back or narrow
//! its sessions below the standard. A period is answered in whole months, each figure the sum of
//! its months' and hidden when any of them is, so overlapping periods never subtract to a hidden
//! month; an ICS's figures are its trusts' sums the same way. Pathways (typed by staff) are
//! published to them only under the trust's listed codes (`feedback.places.v1`), the rest
//! together as "". The most one partner held and the
//! bands of partners by paid sessions are never given to readers of figures; the busiest fifth's
//! share and the Gini coefficient only over 20 paid partners or more.

use std::collections::{BTreeMap, HashMap};

use alongside_events::places::Listed;
use alongside_platform::error::Violations;
use alongside_platform::involvement::{
    shown_month, sum, Figures, Involved, Shown, KIND, PATHWAY, WAY,
};
use alongside_platform::protection::THRESHOLD;
use alongside_platform::{Caller, OdsCode, Role, ServiceError};
use alongside_proto::engagement::v1::{
    EngagementReportRequest, EngagementReportResponse, HoursRow, TrustEngagementReport,
    UnfilledOpportunity,
};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Statement};

use crate::store::opportunity;

/// Paid partners below which the fairness of paid work is not given to readers of figures.
pub const FAIRNESS_FLOOR: u32 = 20;

/// One partner's sessions of one month, kind, pathway, way of paying and outcome.
struct Sessions {
    month: String,
    kind: String,
    pathway: String,
    paid: bool,
    partner: String,
    outcome: String,
    sessions: u64,
    minutes: u64,
}

fn months(rows: &[Sessions]) -> BTreeMap<String, Figures<Involved>> {
    let mut out: BTreeMap<String, Figures<Involved>> = BTreeMap::new();
    for r in rows {
        let m = out.entry(r.month.clone()).or_default();
        match r.outcome.as_str() {
            "apologies" => m.apologies.count(&r.partner, r.sessions, 0),
            "no_show" => m.no_shows.count(&r.partner, r.sessions, 0),
            _ if r.minutes == 0 => m.no_shows.count(&r.partner, r.sessions, 0),
            _ => {
                let of = (r.kind.as_str(), r.pathway.as_str(), r.paid);
                m.attended(&r.partner, of, r.sessions, r.minutes);
            }
        }
    }
    out
}

fn rows(figures: &BTreeMap<String, Shown>) -> Vec<HoursRow> {
    let mut rows: Vec<HoursRow> = figures
        .iter()
        .map(|(key, s)| match s.hidden {
            true => HoursRow {
                key: key.clone(),
                hidden: true,
                ..Default::default()
            },
            false => HoursRow {
                key: key.clone(),
                sessions: s.figure.sessions as u32,
                minutes: s.figure.minutes as u32,
                partners: s.figure.partners.len() as u32,
                hidden: false,
            },
        })
        .collect();
    rows.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.key.cmp(&b.key)));
    rows
}

/// Gini coefficient of non-negative counts (0: all equal; towards 1: one holds all).
pub fn gini(counts: &[u32]) -> f64 {
    let n = counts.len();
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &c)| (i as f64 + 1.0) * c as f64)
        .sum();
    (2.0 * weighted) / (n as f64 * total as f64) - (n as f64 + 1.0) / n as f64
}

/// The share (0..100) of all paid sessions held by the fifth of partners with most.
pub fn top_fifth_share(counts: &[u32]) -> f64 {
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    if total == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let fifth = counts.len().div_ceil(5);
    let top: u64 = sorted.iter().take(fifth).map(|&c| c as u64).sum();
    100.0 * top as f64 / total as f64
}

/// How many partners fall in each band of paid sessions: 1, 2-3, 4-6, 7-12, 13+.
pub fn histogram(counts: &[u32]) -> Vec<u32> {
    let mut bands = vec![0u32; 5];
    for &c in counts {
        let band = match c {
            0 => continue,
            1 => 0,
            2..=3 => 1,
            4..=6 => 2,
            7..=12 => 3,
            _ => 4,
        };
        bands[band] += 1;
    }
    bands
}

/// A period's (or an ICS's) figures, each partner's paid sessions, and its unfilled
/// opportunities.
struct Period {
    figures: Figures<Shown>,
    paid: HashMap<String, u32>,
    unfilled: Vec<UnfilledOpportunity>,
}

fn response(p: Period, from: &str, to: &str, protected: bool) -> EngagementReportResponse {
    let f = &p.figures;
    let shown = |s: &Shown| {
        if s.hidden {
            Involved::default()
        } else {
            s.figure.clone()
        }
    };
    let attended = shown(&f.attended);
    let way = |key: &str| f.by[WAY].get(key).cloned().unwrap_or_default();
    let (paid, expenses_only) = (way("paid"), way("expenses_only"));
    let counts: Vec<u32> = p.paid.values().copied().collect();
    let paid_partners = shown(&paid).partners.len() as u32;
    let fairness_hidden = protected && (paid.hidden || paid_partners < FAIRNESS_FLOOR);
    EngagementReportResponse {
        from: from.to_string(),
        to: to.to_string(),
        sessions: attended.sessions as u32,
        minutes: attended.minutes as u32,
        partners: attended.partners.len() as u32,
        paid_sessions: shown(&paid).sessions as u32,
        expenses_only_sessions: shown(&expenses_only).sessions as u32,
        by_kind: rows(&f.by[KIND]),
        by_pathway: rows(&f.by[PATHWAY]),
        paid_partners,
        top_fifth_share: if fairness_hidden {
            0.0
        } else {
            top_fifth_share(&counts)
        },
        most_paid_sessions: if protected {
            0
        } else {
            counts.iter().copied().max().unwrap_or(0)
        },
        gini: if fairness_hidden { 0.0 } else { gini(&counts) },
        paid_sessions_histogram: if protected {
            Vec::new()
        } else {
            histogram(&counts)
        },
        unfilled: p.unfilled,
        apologies: shown(&f.apologies).sessions as u32,
        no_shows: shown(&f.no_shows).sessions as u32,
        total_hidden: f.attended.hidden,
        paid_hidden: paid.hidden,
        expenses_only_hidden: expenses_only.hidden,
        apologies_hidden: f.apologies.hidden,
        no_shows_hidden: f.no_shows.hidden,
        fairness_hidden,
        trusts: Vec::new(),
    }
}

pub async fn report(
    db: &impl ConnectionTrait,
    caller: &Caller,
    r: EngagementReportRequest,
) -> Result<EngagementReportResponse, ServiceError> {
    let mut v = Violations::default();
    let mut from = crate::requests::date(&mut v, "from", &r.from, true);
    let mut to = crate::requests::date(&mut v, "to", &r.to, true);
    if !from.is_empty() && !to.is_empty() && from > to {
        v.push("to", "must be on or after from");
    }
    let trusts = caller.trusts_asked(&r.trusts, &mut v);
    v.finish()?;
    // Readers of figures, and an ICS, see protected figures of whole months.
    let protected =
        !trusts.is_empty() || matches!(caller.role, Role::Analyst | Role::IcsAnalyst | Role::Admin);
    if protected {
        from = format!("{}-01", &from[..7]);
        to = alongside_platform::last_day_of_month(&to[..7])
            .map(|d| d.to_string())
            .unwrap_or(to);
    }
    let asked = if trusts.is_empty() {
        vec![caller.tenant.clone()]
    } else {
        trusts.clone()
    };
    let mut periods = Vec::with_capacity(asked.len());
    for tenant in &asked {
        periods.push(period(db, tenant, &from, &to, protected).await?);
    }
    if trusts.is_empty() {
        let p = periods.pop().unwrap_or(Period {
            figures: Figures::default(),
            paid: HashMap::new(),
            unfilled: Vec::new(),
        });
        return Ok(response(p, &from, &to, protected));
    }
    let ics = Period {
        figures: sum(periods.iter().map(|p| &p.figures)),
        paid: periods
            .iter()
            .zip(&trusts)
            .flat_map(|(p, t)| p.paid.iter().map(move |(k, n)| (format!("{t}/{k}"), *n)))
            .collect(),
        unfilled: periods.iter().flat_map(|p| p.unfilled.clone()).collect(),
    };
    let mut out = response(ics, &from, &to, protected);
    out.trusts = trusts
        .iter()
        .zip(periods)
        .map(|(t, p)| TrustEngagementReport {
            trust: t.to_string(),
            report: Some(response(p, &from, &to, protected)),
        })
        .collect();
    Ok(out)
}

/// One trust's figures from `from` to `to`, month by month as they may be shown, summed.
async fn period(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    from: &str,
    to: &str,
    protected: bool,
) -> Result<Period, ServiceError> {
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    };
    let statement = Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT substr(a.activity_date, 1, 7) AS month, o.kind AS kind, o.pathway AS pathway, \
             o.remuneration AS remuneration, a.partner_id AS partner_id, a.outcome AS outcome, \
             CAST(COUNT(*) AS BIGINT) AS sessions, CAST(COALESCE(SUM(a.minutes), 0) AS BIGINT) AS minutes \
             FROM session_attendances a JOIN opportunities o ON o.id = a.opportunity_id AND o.tenant_id = a.tenant_id \
             WHERE a.tenant_id = {} AND a.activity_date >= {} AND a.activity_date <= {} \
             GROUP BY substr(a.activity_date, 1, 7), o.kind, o.pathway, o.remuneration, a.partner_id, a.outcome",
            p(1),
            p(2),
            p(3)
        ),
        [tenant.as_str().into(), from.into(), to.into()],
    );
    let mut rows = Vec::new();
    let mut paid: HashMap<String, u32> = HashMap::new();
    for row in db.query_all(statement).await? {
        let r = Sessions {
            month: row.try_get("", "month")?,
            kind: row.try_get("", "kind")?,
            pathway: row.try_get("", "pathway")?,
            paid: row.try_get::<String>("", "remuneration")? != "expenses_only",
            partner: row.try_get("", "partner_id")?,
            outcome: row.try_get("", "outcome")?,
            sessions: row.try_get::<i64>("", "sessions")?.max(0) as u64,
            minutes: row.try_get::<i64>("", "minutes")?.max(0) as u64,
        };
        let attended = !matches!(r.outcome.as_str(), "apologies" | "no_show") && r.minutes > 0;
        if attended && r.paid {
            *paid.entry(r.partner.clone()).or_default() += r.sessions as u32;
        }
        rows.push(r);
    }
    let mut months = tokio::task::spawn_blocking(move || {
        months(&rows)
            .into_values()
            .map(|m| shown_month(m, protected))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?;
    if protected {
        // Pathways were typed by staff: published only under the trust's listed codes, the
        // others together as "" (as the analytics stream publishes them).
        let listed = Listed::load(db, tenant, "pathway").await?;
        for m in &mut months {
            m.by[PATHWAY] = listed.publish(&m.by[PATHWAY], Shown::add);
        }
    }
    let unfilled = opportunity::for_tenant(tenant)
        .filter(opportunity::Column::StartsOn.gte(from))
        .filter(opportunity::Column::StartsOn.lte(to))
        .filter(opportunity::Column::Status.is_in(["published", "completed"]))
        .order_by_asc(opportunity::Column::StartsOn)
        .all(db)
        .await?
        .into_iter()
        .filter(|o| o.filled < o.places)
        .map(|o| {
            let filled = o.filled.max(0) as u32;
            let filled_hidden = protected && (1..THRESHOLD as u32).contains(&filled);
            UnfilledOpportunity {
                id: o.id,
                title: o.title,
                starts_on: o.starts_on,
                places: o.places.max(0) as u32,
                filled: if filled_hidden { 0 } else { filled },
                filled_hidden,
            }
        })
        .collect();
    Ok(Period {
        figures: sum(&months),
        paid,
        unfilled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_is_zero_when_even_and_rises_as_work_gathers() {
        assert_eq!(gini(&[3, 3, 3, 3]), 0.0);
        assert!((gini(&[0, 0, 0, 4]) - 0.75).abs() < 1e-9);
        assert!(gini(&[1, 2, 3, 10]) > gini(&[3, 4, 4, 5]));
        assert_eq!(gini(&[]), 0.0);
    }

    #[test]
    fn the_busiest_fifth_and_the_bands() {
        // Ten partners: the busiest two hold 10 + 6 of 25.
        let counts = [10, 6, 2, 2, 1, 1, 1, 1, 1, 0];
        assert!((top_fifth_share(&counts) - 64.0).abs() < 1e-9);
        assert_eq!(histogram(&counts), [5, 2, 1, 1, 0]);
    }
}

/// What an ICS analyst can work out from every involvement figure shown to them: each trust's
/// and the ICS's, over every run of months.
#[cfg(test)]
// Cells are indices into several lists at once: loops over the indices read best.
#[allow(clippy::needless_range_loop)]
mod derivation {
    use super::*;
    use alongside_platform::protection::attacker::Attacker;

    const TRUSTS: usize = 2;
    const MONTHS: [&str; 4] = ["2026-01", "2026-02", "2026-03", "2026-04"];
    const KINDS: [&str; 2] = ["meeting", "review"];
    const PATHWAYS: [&str; 3] = ["msk", "pain", "spinal"];
    const OUTCOMES: [&str; 3] = ["attended", "apologies", "no_show"];

    /// Sessions of one trust, month, kind, pathway, way of paying and outcome.
    type Cell = (usize, usize, usize, usize, bool, usize);

    /// Many small figures from a fixed seed: rare spinal work, a few expenses-only sessions,
    /// apologies and no-shows of one or two partners.
    fn generate() -> BTreeMap<Cell, Vec<String>> {
        let mut next = alongside_platform::protection::attacker::seeded(0xfeed_beef);
        let mut out: BTreeMap<Cell, Vec<String>> = BTreeMap::new();
        for t in 0..TRUSTS {
            for m in 0..MONTHS.len() {
                for p in 0..PATHWAYS.len() {
                    let n = if p == 2 { next(3) } else { 3 + next(12) };
                    for _ in 0..n {
                        let partner = if p == 2 {
                            format!("s{t}{}", next(2))
                        } else {
                            format!("p{t}{}", next(16))
                        };
                        let outcome = match next(20) {
                            0 => 1,
                            1 => 2,
                            _ => 0,
                        };
                        let cell = (
                            t,
                            m,
                            next(KINDS.len() as u64) as usize,
                            p,
                            next(6) > 0,
                            outcome,
                        );
                        out.entry(cell).or_default().push(partner);
                    }
                }
            }
        }
        out
    }

    fn sessions_of(cells: &BTreeMap<Cell, Vec<String>>, t: usize) -> Vec<Sessions> {
        cells
            .iter()
            .filter(|(c, _)| c.0 == t)
            .flat_map(|(&(_, m, k, p, paid, o), partners)| {
                partners.iter().map(move |partner| Sessions {
                    month: MONTHS[m].into(),
                    kind: KINDS[k].into(),
                    pathway: PATHWAYS[p].into(),
                    paid,
                    partner: partner.clone(),
                    outcome: OUTCOMES[o].into(),
                    sessions: 1,
                    minutes: if o == 0 { 90 } else { 0 },
                })
            })
            .collect()
    }

    /// The cells of a figure of `trusts` over `months`: attended ones matching `of`, or the
    /// outcome `outcome`.
    fn cells(
        trusts: &[usize],
        months: &[usize],
        outcome: usize,
        of: &dyn Fn(&Cell) -> bool,
    ) -> Vec<Cell> {
        let mut out = Vec::new();
        for &t in trusts {
            for &m in months {
                for k in 0..KINDS.len() {
                    for p in 0..PATHWAYS.len() {
                        for paid in [true, false] {
                            let c = (t, m, k, p, paid, outcome);
                            if of(&c) {
                                out.push(c);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Every figure of `f` (for `trusts` over `months`) with its cells, named.
    fn figures_of(
        f: &Figures<Shown>,
        trusts: &[usize],
        months: &[usize],
    ) -> Vec<(String, Shown, Vec<Cell>)> {
        let any = |_: &Cell| true;
        let mut out = vec![
            (
                "attended".to_string(),
                f.attended.clone(),
                cells(trusts, months, 0, &any),
            ),
            (
                "apologies".to_string(),
                f.apologies.clone(),
                cells(trusts, months, 1, &any),
            ),
            (
                "no-shows".to_string(),
                f.no_shows.clone(),
                cells(trusts, months, 2, &any),
            ),
        ];
        for (key, s) in &f.by[KIND] {
            let k = KINDS.iter().position(|x| x == key).unwrap();
            out.push((
                key.clone(),
                s.clone(),
                cells(trusts, months, 0, &|c| c.2 == k),
            ));
        }
        for (key, s) in &f.by[PATHWAY] {
            let p = PATHWAYS.iter().position(|x| x == key).unwrap();
            out.push((
                key.clone(),
                s.clone(),
                cells(trusts, months, 0, &|c| c.3 == p),
            ));
        }
        for (key, s) in &f.by[WAY] {
            let paid = key == "paid";
            out.push((
                key.clone(),
                s.clone(),
                cells(trusts, months, 0, &|c| c.4 == paid),
            ));
        }
        out
    }

    /// Shows every figure of every run of months, each trust's and the ICS's, to `attacker`;
    /// answers each trust's month figures (name, figure, cells).
    fn read_all(
        cells_by: &BTreeMap<Cell, Vec<String>>,
        protected: bool,
        attacker: &mut Attacker<Cell>,
    ) -> Vec<(String, Shown, Vec<Cell>)> {
        let shown: Vec<Vec<Figures<Shown>>> = (0..TRUSTS)
            .map(|t| {
                let by_month = months(&sessions_of(cells_by, t));
                MONTHS
                    .iter()
                    .map(|m| shown_month(by_month.get(*m).cloned().unwrap_or_default(), protected))
                    .collect()
            })
            .collect();
        let mut month_figures = Vec::new();
        for first in 0..MONTHS.len() {
            for last in first..MONTHS.len() {
                let run: Vec<usize> = (first..=last).collect();
                let per_trust: Vec<Figures<Shown>> = shown
                    .iter()
                    .map(|months| sum(run.iter().map(|&m| &months[m])))
                    .collect();
                let ics = sum(&per_trust);
                let mut all = figures_of(&ics, &[0, 1], &run);
                for (t, f) in per_trust.iter().enumerate() {
                    let of_trust = figures_of(f, &[t], &run);
                    if first == last {
                        month_figures.extend(of_trust.iter().map(|(name, s, c)| {
                            (
                                format!("trust {t} {} {name}", MONTHS[first]),
                                s.clone(),
                                c.clone(),
                            )
                        }));
                    }
                    all.extend(of_trust);
                }
                for (_, s, c) in all {
                    if !s.hidden {
                        attacker.know(&c, s.figure.sessions as f64);
                    }
                }
            }
        }
        month_figures
    }

    #[test]
    fn no_small_involvement_figure_is_narrowed_by_everything_an_ics_analyst_reads() {
        let truth = generate();
        let mut attacker = Attacker::default();
        let month_figures = read_all(&truth, true, &mut attacker);
        let small: Vec<(String, Vec<Cell>)> = month_figures
            .iter()
            .filter(|(_, s, _)| (1..5).contains(&s.figure.partners.len()))
            .map(|(name, _, c)| (name.clone(), c.clone()))
            .collect();
        assert!(
            small.len() >= 20,
            "small figures to protect: {}",
            small.len()
        );
        let narrowed = attacker.narrowed(&small);
        assert!(
            narrowed.is_empty(),
            "{} of {} narrowed: {narrowed:#?}",
            narrowed.len(),
            small.len()
        );

        // And the attacker finds what there is to find: unprotected, most are narrowed.
        let mut open = Attacker::default();
        read_all(&truth, false, &mut open);
        let narrowed = open.narrowed(&small);
        assert!(
            narrowed.len() * 2 > small.len(),
            "{} of {}",
            narrowed.len(),
            small.len()
        );
    }
}
