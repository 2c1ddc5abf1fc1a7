//! (10) Matching: the shortlist of an opportunity from a bank of 100,000 partners with
//! 1,000,000 past attendances, asked of engagement over gRPC, with latency percentiles.

use std::time::{Duration, Instant};

use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::engagement::v1::ShortlistRequest;
use alongside_suite::Suite;
use sea_orm::ConnectionTrait;

const TENANT: &str = "RZE";
const OPPORTUNITIES: usize = 2_000;

pub async fn bench(
    suite: &Suite,
    data: &std::path::Path,
    partners: usize,
    attendances: usize,
    queries: usize,
) -> anyhow::Result<()> {
    let settings = alongside_platform::config::DatabaseSettings {
        url: format!("sqlite://{}/engagement.db", data.display()).into(),
        max_connections: 1,
        migrate_on_start: false,
    };
    let db = alongside_platform::db::connect(&settings).await?;
    // Dates around the day of the run: the target session on the first Thursday at least four
    // days ahead, two years of past sessions in the months before its month.
    let mut target = suite.gateway_state().clock.today() + time::Duration::days(4);
    while target.weekday() != time::Weekday::Thursday {
        target = target.next_day().expect("a later day");
    }
    let target_month = &target.to_string()[..7];
    let past_month = |o: usize| {
        alongside_platform::add_months(target_month, (o % 24) as i32 - 24).expect("a month")
    };
    let (in_date, lapsing) = (
        target + time::Duration::days(365),
        target - time::Duration::days(60),
    );
    let seeded = Instant::now();
    let run = |sql: String| {
        let db = &db;
        async move { db.execute_unprepared(&sql).await }
    };
    run("BEGIN".into()).await?;
    // The bank: a tenth not contactable, a third without the role, a tenth lapsing before.
    for start in (0..partners).step_by(1_000) {
        let rows: Vec<String> = (start..(start + 1_000).min(partners))
            .map(|i| {
                format!(
                    "('ptn_e{i:09}', '{TENANT}', 'active', 'Locality {}', '2026-01-01T00:00:00Z', {})",
                    i % 8,
                    if i % 10 == 9 { "FALSE" } else { "TRUE" }
                )
            })
            .collect();
        run(format!(
            "INSERT INTO known_partners (partner_id, tenant_id, status, locality, updated_at, contactable) VALUES {}",
            rows.join(",")
        ))
        .await?;
        let eligible: Vec<String> = (start..(start + 1_000).min(partners))
            .filter(|i| i % 3 != 0)
            .map(|i| {
                format!(
                    "('{TENANT}', 'ptn_e{i:09}', 'forum_member', '{}')",
                    if i % 10 == 4 { lapsing } else { in_date }
                )
            })
            .collect();
        run(format!(
            "INSERT INTO partner_eligibility (tenant_id, partner_id, role, valid_until) VALUES {}",
            eligible.join(",")
        ))
        .await?;
    }
    // Past opportunities over two years, most of them paid.
    let rows: Vec<String> = (0..OPPORTUNITIES)
        .map(|o| {
            format!(
                "('opp_e{o:06}', '{TENANT}', 'Session {o}', 'forum_meeting', 3, '{}-{:02}', 50, 'published', '2024-01-01T00:00:00Z', 'bench', '', '', '', '{}', 50)",
                past_month(o),
                1 + o % 28,
                if o % 5 == 0 { "expenses_only" } else { "rate_card" }
            )
        })
        .collect();
    run(format!(
        "INSERT INTO opportunities (id, tenant_id, title, kind, involvement_level, starts_on, places, status, created_at, created_by, required_role, pathway, cost_centre, remuneration, filled) VALUES {}",
        rows.join(",")
    ))
    .await?;
    // The attendances: ten a partner on average, spread over the opportunities; some no-shows.
    for start in (0..attendances).step_by(2_000) {
        let rows: Vec<String> = (start..(start + 2_000).min(attendances))
            .map(|i| {
                let partner = (i * 7_919) % partners;
                let o = (i * 31) % OPPORTUNITIES;
                format!(
                    "('att_e{i:09}', '{TENANT}', 'asg_e{i:09}', 'opp_e{o:06}', 'ptn_e{partner:09}', {}, '{}-{:02}', '2026-01-01T00:00:00Z', 'bench', 1, '', '')",
                    if i % 17 == 0 { 0 } else { 120 },
                    past_month(o),
                    1 + o % 28
                )
            })
            .collect();
        run(format!(
            "INSERT INTO session_attendances (id, tenant_id, assignment_id, opportunity_id, partner_id, minutes, activity_date, recorded_at, recorded_by, revision, corrected_at, correction_reason) VALUES {}",
            rows.join(",")
        ))
        .await?;
    }
    // Paid sessions by partner and month, as recording attendance keeps them.
    run(format!(
        "INSERT INTO partner_paid_months (tenant_id, partner_id, month, sessions, last_on) \
         SELECT a.tenant_id, a.partner_id, SUBSTR(a.activity_date, 1, 7), COUNT(*), MAX(a.activity_date) \
         FROM session_attendances a JOIN opportunities o ON o.id = a.opportunity_id \
         WHERE a.tenant_id = '{TENANT}' AND a.minutes > 0 AND o.remuneration <> 'expenses_only' \
         GROUP BY a.tenant_id, a.partner_id, SUBSTR(a.activity_date, 1, 7)"
    ))
    .await?;
    run(format!(
        "INSERT INTO opportunities (id, tenant_id, title, kind, involvement_level, starts_on, places, status, created_at, created_by, required_role, pathway, cost_centre, remuneration, filled) \
         VALUES ('opp_target', '{TENANT}', 'Forum', 'forum_meeting', 3, '{target}', 12, 'published', '2026-11-01T00:00:00Z', 'bench', 'forum_member', 'pain', '', 'rate_card', 0)"
    ))
    .await?;
    // Its session, on a Thursday; a fifth of the bank gave preferences: some like forum
    // meetings, some cannot do Thursdays, some declared a conflict with the pain pathway; and
    // 200 said they are interested.
    run(format!(
        "INSERT INTO opportunity_sessions (id, tenant_id, opportunity_id, number, on_date, start_time, minutes) \
         VALUES ('ses_target', '{TENANT}', 'opp_target', 1, '{target}', '14:00', 120)"
    ))
    .await?;
    for start in (0..partners).step_by(5_000) {
        let rows: Vec<String> = (start..(start + 5_000).min(partners))
            .step_by(5)
            .map(|i| {
                let kinds = if i % 2 == 0 { "|forum_meeting|" } else { "|co_research|" };
                let days = if i % 3 == 0 { "|mon|tue|" } else { "" };
                let conflicts = if i % 7 == 0 { "|pain|" } else { "" };
                format!("('ptn_e{i:09}', '{TENANT}', '{kinds}', '{days}', '{conflicts}', '2026-11-01T00:00:00Z')")
            })
            .collect();
        run(format!(
            "INSERT INTO partner_preferences (partner_id, tenant_id, kinds, days, conflicts, updated_at) VALUES {}",
            rows.join(",")
        ))
        .await?;
    }
    let interested: Vec<String> = (0..partners.min(200))
        .map(|n| {
            let i = (n * 4_999) % partners;
            format!("('opp_target', 'ptn_e{i:09}', '{TENANT}', '', '2026-11-01T00:00:00Z')")
        })
        .collect();
    run(format!(
        "INSERT INTO partner_interest (opportunity_id, partner_id, tenant_id, note, created_at) VALUES {}",
        interested.join(",")
    ))
    .await?;
    // The counts of who may be asked, as the read model keeps them.
    alongside_engagement::tallies::recount(&db).await?;
    run("COMMIT".into()).await?;
    run("ANALYZE".into()).await?;
    let seeding = seeded.elapsed();

    let state = suite.gateway_state().clone();
    let lead = Caller {
        subject: "bench".into(),
        tenant: OdsCode::parse(TENANT)?,
        role: Role::EngagementLead,
        ics: None,
    };
    let mut took: Vec<Duration> = Vec::with_capacity(queries);
    let mut last = None;
    for _ in 0..queries {
        let t = Instant::now();
        let list = state
            .clients
            .engagement()
            .shortlist_partners(state.clients.request(
                &lead,
                ShortlistRequest {
                    opportunity_id: "opp_target".into(),
                    limit: 20,
                },
            ))
            .await?
            .into_inner();
        took.push(t.elapsed());
        last = Some(list);
    }
    let list = last.unwrap_or_default();
    anyhow::ensure!(list.entries.len() == 20, "a full shortlist");
    took.sort();
    let lat = crate::record_latencies(
        &format!("shortlist ({partners} partners, {attendances} attendances)"),
        &took,
    );
    println!(
        "  Shortlist (a bank of {partners} partners, {attendances} past attendances, seeded in {:.1} s; {queries} ShortlistPartners calls one after another, 20 a list, a role to hold): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; {} of {} active partners may take it, the first with {} paid sessions in the year",
        seeding.as_secs_f64(),
        lat.p50,
        lat.p95,
        lat.max,
        list.eligible,
        list.considered,
        list.entries[0].paid_sessions,
    );
    Ok(())
}
