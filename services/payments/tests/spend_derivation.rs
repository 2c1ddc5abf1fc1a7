//! What an ICS analyst can work out from every spend figure shown to them: every run of months,
//! every grouping and both bases, for each of the ICS's trusts and the ICS, over real gRPC and a
//! real database. Each shown figure's number of claims is an equation over the claims of each
//! month, pathway, kind, cost centre and class (paid or not yet), each at least 0; a linear
//! programme then bounds every figure of 1 to 4 partners (paid, not yet paid or committed, in a
//! month, in total or by a dimension's value). Each must still be able to be 0 and at least 5.

// Cells are indices into several lists at once: loops over the indices read best.
#![allow(clippy::needless_range_loop)]

use std::collections::{BTreeMap, BTreeSet};

use alongside_events::testing::TestService;
use alongside_platform::grpc::outgoing;
use alongside_platform::protection::attacker::Attacker;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::common::v1::DateRange;
use alongside_proto::payments::v1::payments_service_client::PaymentsServiceClient;
use alongside_proto::payments::v1::*;
use sea_orm::{EntityTrait, IntoActiveModel};

const TRUSTS: [&str; 2] = ["RZA", "RZB"];
const MONTHS: [&str; 4] = ["2026-01", "2026-02", "2026-03", "2026-04"];
const PATHWAYS: [&str; 3] = ["msk", "pain", "spinal"];
/// The pathways the trusts list as places.
const LISTED: [&str; 2] = ["msk", "pain"];
const KINDS: [&str; 2] = ["meeting", "review"];
const CENTRES: [&str; 2] = ["CC1", "CC2"];

/// One cell of claims: trust, month, pathway, kind, cost centre, paid.
type Cell = (usize, usize, usize, usize, usize, bool);

/// Claims as generated: each cell's claims, by partner.
#[derive(Default)]
struct Truth {
    cells: BTreeMap<Cell, Vec<String>>,
}

impl Truth {
    /// Many small cells, one-partner months and pathways, some claims not yet paid and some
    /// not yet approved (which count for nothing), from a fixed seed.
    fn generate() -> Self {
        let mut next = alongside_platform::protection::attacker::seeded(0x5eed_cafe);
        let mut truth = Truth::default();
        for t in 0..TRUSTS.len() {
            for m in 0..MONTHS.len() {
                for p in 0..PATHWAYS.len() {
                    // Spinal work is rare: a partner or two a month.
                    let claims = if p == 2 { next(3) } else { 2 + next(14) };
                    for _ in 0..claims {
                        let partner = if p == 2 {
                            format!("ptn_{t}_s{}", next(2))
                        } else {
                            format!("ptn_{t}_{}", next(18))
                        };
                        let cell = (
                            t,
                            m,
                            p,
                            next(KINDS.len() as u64) as usize,
                            next(CENTRES.len() as u64) as usize,
                            next(10) < 7,
                        );
                        truth.cells.entry(cell).or_default().push(partner);
                    }
                }
            }
        }
        truth
    }
}

/// A figure as a sum of cells.
#[derive(Clone, Debug)]
struct Figure {
    name: String,
    cells: Vec<Cell>,
}

/// Every figure the release protects, with its cells: each trust's month in total and by each
/// dimension's value, paid, not yet paid and committed.
fn figures() -> Vec<Figure> {
    let mut out = Vec::new();
    let every: Vec<Cell> = (0..TRUSTS.len())
        .flat_map(|t| (0..MONTHS.len()).map(move |m| (t, m)))
        .flat_map(|(t, m)| (0..PATHWAYS.len()).map(move |p| (t, m, p)))
        .flat_map(|(t, m, p)| (0..KINDS.len()).map(move |k| (t, m, p, k)))
        .flat_map(|(t, m, p, k)| (0..CENTRES.len()).map(move |c| (t, m, p, k, c)))
        .flat_map(|(t, m, p, k, c)| [true, false].map(move |paid| (t, m, p, k, c, paid)))
        .collect();
    // Each group: its name, and which of the cell's dimensions (2 pathway, 3 kind, 4 cost
    // centre) must hold which value (none for the total).
    let mut groups: Vec<(&str, Option<(usize, usize)>)> = vec![("total", None)];
    for (dim, values) in [(2, &PATHWAYS[..]), (3, &KINDS[..]), (4, &CENTRES[..])] {
        groups.extend(values.iter().enumerate().map(|(i, v)| (*v, Some((dim, i)))));
    }
    let of = |c: &Cell, want: Option<(usize, usize)>| match want {
        None => true,
        Some((2, i)) => c.2 == i,
        Some((3, i)) => c.3 == i,
        Some((_, i)) => c.4 == i,
    };
    for (t, trust) in TRUSTS.iter().enumerate() {
        for (m, month) in MONTHS.iter().enumerate() {
            for &(group, want) in &groups {
                for (class, paid) in [
                    ("paid", Some(true)),
                    ("not yet paid", Some(false)),
                    ("committed", None),
                ] {
                    out.push(Figure {
                        name: format!("{trust} {month} {group} {class}"),
                        cells: every
                            .iter()
                            .filter(|c| c.0 == t && c.1 == m && of(c, want))
                            .filter(|c| paid.is_none_or(|p| c.5 == p))
                            .copied()
                            .collect(),
                    });
                }
            }
        }
    }
    out
}

/// The claims that bring about `truth`, written straight to the service's database.
async fn store(svc: &TestService, truth: &Truth) {
    let db = alongside_platform::db::connect(&svc.settings.database)
        .await
        .unwrap();
    // The trusts list two of the three pathways: the third, typed but not listed, is published
    // to readers of figures under no pathway ("").
    for trust in TRUSTS {
        for code in LISTED {
            alongside_events::places::apply(
                &db,
                &alongside_proto::feedback::events::v1::PlaceChanged {
                    tenant: trust.into(),
                    kind: "pathway".into(),
                    code: code.into(),
                    name: code.into(),
                    status: "active".into(),
                    merged_into: String::new(),
                    changed_at: "2026-01-01T00:00:00Z".into(),
                },
            )
            .await
            .unwrap();
        }
    }
    let mut n = 0;
    for (&(t, m, p, k, c, paid), partners) in &truth.cells {
        for partner in partners {
            n += 1;
            let status = if paid { "paid" } else { "approved" };
            for (status, suffix) in [(status, ""), ("submitted", "_waiting")] {
                if !suffix.is_empty() && n % 5 != 0 {
                    continue;
                }
                let model = alongside_payments::claim::Model {
                    id: format!("clm_{n}{suffix}"),
                    tenant_id: TRUSTS[t].into(),
                    partner_id: partner.clone(),
                    attendance_id: format!("att_{n}{suffix}"),
                    opportunity_id: "opp_1".into(),
                    amount_pence: 2_500,
                    rate_basis: "session".into(),
                    status: status.into(),
                    activity_date: format!("{}-{:02}", MONTHS[m], 1 + n % 28),
                    minutes: 120,
                    created_at: "2026-05-01T10:00:00Z".into(),
                    kind: "attendance".into(),
                    activity_kind: KINDS[k].into(),
                    involvement_level: 3,
                    pathway: PATHWAYS[p].into(),
                    cost_centre: CENTRES[c].into(),
                    description: String::new(),
                    involvement_pence: 2_500,
                    expenses_pence: 0,
                    rate_card_id: String::new(),
                    payment_preference: "paid".into(),
                    revision: 1,
                    decided_by: String::new(),
                    decided_at: String::new(),
                    decision_reason: String::new(),
                    run_id: None,
                    paid_at: String::new(),
                    adjusts_claim_id: String::new(),
                    created_by: String::new(),
                    updated_at: String::new(),
                };
                alongside_payments::claim::Entity::insert(model.into_active_model())
                    .exec(&db)
                    .await
                    .unwrap();
            }
        }
    }
}

/// Every shown figure an audience reads, as (cells, claims).
type Shown = Vec<(Vec<Cell>, u64)>;

/// The cells of a row of `group_by` keyed `key` for `trusts` over `months`, paid or committed.
fn cells_of(
    trusts: &[usize],
    months: &[usize],
    group_by: &str,
    key: &str,
    paid: bool,
) -> Vec<Cell> {
    let mut out = Vec::new();
    for &t in trusts {
        for &m in months {
            for p in 0..PATHWAYS.len() {
                for k in 0..KINDS.len() {
                    for c in 0..CENTRES.len() {
                        let ok = match group_by {
                            "month" => key == "Total" || key == MONTHS[m],
                            "pathway" => {
                                key == "Total"
                                    || key == PATHWAYS[p]
                                    || (key.is_empty() && !LISTED.contains(&PATHWAYS[p]))
                            }
                            "kind" => key == "Total" || key == KINDS[k],
                            _ => key == "Total" || key == CENTRES[c],
                        };
                        if ok {
                            out.push((t, m, p, k, c, true));
                            if !paid {
                                out.push((t, m, p, k, c, false));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Everything `token` reads: every run of months (asked from mid-month to mid-month, as a
/// reader might, when `protected`: answered in whole months), every grouping, both bases, each
/// trust and, with `ics`, the ICS.
async fn read_all(
    client: &mut PaymentsServiceClient<tonic::transport::Channel>,
    token: &str,
    ics: bool,
    protected: bool,
) -> Shown {
    let (from_day, to_day) = if protected {
        ("10", "20")
    } else {
        ("01", "28")
    };
    let mut shown = Vec::new();
    for first in 0..MONTHS.len() {
        for last in first..MONTHS.len() {
            let months: Vec<usize> = (first..=last).collect();
            for group_by in ["month", "pathway", "kind", "cost_centre"] {
                for basis in ["committed", "paid"] {
                    let asked = client
                        .spend_report(outgoing(
                            SpendReportRequest {
                                group_by: group_by.into(),
                                activity: Some(DateRange {
                                    from: format!("{}-{from_day}", MONTHS[first]),
                                    to: format!("{}-{to_day}", MONTHS[last]),
                                }),
                                basis: basis.into(),
                                trusts: if ics {
                                    TRUSTS.iter().map(|t| t.to_string()).collect()
                                } else {
                                    Vec::new()
                                },
                            },
                            token,
                        ))
                        .await;
                    // Cost centres are typed: readers of figures are refused them, by field.
                    if protected && group_by == "cost_centre" {
                        let refused = asked.unwrap_err();
                        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
                        let fields = alongside_platform::error::field_errors(&refused);
                        assert_eq!(fields[0].field, "group_by", "{refused:?}");
                        continue;
                    }
                    let r = asked.unwrap().into_inner();
                    let covered = r.covered.clone().unwrap();
                    assert_eq!(covered.from, format!("{}-01", MONTHS[first]));
                    let mut tables = vec![((0..TRUSTS.len()).collect::<Vec<_>>(), r.rows, r.total)];
                    if !ics {
                        tables[0].0 = vec![0];
                    }
                    for (t, trust) in r.trusts.into_iter().enumerate() {
                        assert_eq!(trust.trust, TRUSTS[t]);
                        tables.push((vec![t], trust.rows, trust.total));
                    }
                    for (trusts, rows, total) in tables {
                        for row in rows.iter().chain(total.iter()) {
                            if !row.suppressed {
                                let cells =
                                    cells_of(&trusts, &months, group_by, &row.key, basis == "paid");
                                shown.push((cells, row.claim_count));
                            }
                        }
                    }
                }
            }
        }
    }
    shown
}

/// The figures of 1 to 4 partners of `trusts` that what is `shown` narrows below the
/// standard, and how many there are.
fn narrowed(truth: &Truth, shown: &Shown, trusts: &[usize]) -> (usize, Vec<String>) {
    let mut attacker: Attacker<Cell> = Attacker::default();
    for (cells, claims) in shown {
        attacker.know(cells, *claims as f64);
    }
    let small: Vec<(String, Vec<Cell>)> = figures()
        .into_iter()
        .filter(|f| trusts.contains(&f.cells[0].0))
        .filter(|f| {
            let partners: BTreeSet<&String> = f
                .cells
                .iter()
                .filter_map(|c| truth.cells.get(c))
                .flatten()
                .collect();
            (1..5).contains(&partners.len())
        })
        .map(|f| (f.name, f.cells))
        .collect();
    (small.len(), attacker.narrowed(&small))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_small_spend_figure_is_narrowed_by_everything_an_ics_analyst_reads() {
    for backend in backends() {
        reads_nothing_narrowed(backend).await;
    }
}

async fn reads_nothing_narrowed(backend: Backend) {
    let svc = TestService::start("payments", backend, alongside_payments::start).await;
    let truth = Truth::generate();
    store(&svc, &truth).await;
    let mut client = PaymentsServiceClient::connect(svc.url()).await.unwrap();

    // An ICS analyst: both trusts and the ICS; and a trust's analyst reads the same figures
    // of their trust.
    let ics = svc.token_in_ics("QZX", "QZX", Role::IcsAnalyst);
    let mut shown = read_all(&mut client, &ics, true, true).await;
    let trust = svc.token("RZA", Role::Analyst);
    shown.extend(read_all(&mut client, &trust, false, true).await);
    let (small, narrowed_figures) = narrowed(&truth, &shown, &[0, 1]);
    eprintln!(
        "{backend:?}: {small} small figures, {} narrowed",
        narrowed_figures.len()
    );
    assert!(
        small >= 20,
        "the data has small figures to protect: {small}"
    );
    assert!(
        narrowed_figures.is_empty(),
        "{} of {small} small figures narrowed: {narrowed_figures:#?}",
        narrowed_figures.len()
    );

    // The attacker can find what is there to find: finance's figures, unprotected, narrow
    // most small ones (most exactly).
    let finance = svc.token("RZA", Role::Finance);
    let unprotected = read_all(&mut client, &finance, false, false).await;
    let (small, narrowed_figures) = narrowed(&truth, &unprotected, &[0]);
    assert!(
        narrowed_figures.len() * 2 > small,
        "{} of {small} narrowed",
        narrowed_figures.len()
    );
}
