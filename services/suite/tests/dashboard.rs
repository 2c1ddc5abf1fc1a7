//! The dashboards over the embedded suite's demo data: an ICS analyst sees its trusts side by
//! side and drills into one as a row of the ICS's protected tables; a trust's users see their
//! own trust only; nobody sees personal data; each table downloads as CSV; the board report
//! prints and comes as PDF.

mod common;

use serde_json::Value;

use common::sign_in;

async fn get(http: &reqwest::Client, url: String) -> (u16, String) {
    let response = http.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn json(http: &reqwest::Client, url: String) -> Value {
    let (status, body) = get(http, url).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The total's number of responses, after checking the units' add up to it: exactly when
/// every unit shows its own, and to no more than it when some are hidden whole.
fn total(d: &Value) -> u64 {
    let units = d["units"].as_array().unwrap();
    let shown: u64 = units.iter().filter_map(|u| u["total"].as_u64()).sum();
    let hidden = units.iter().filter(|u| u["total"].is_null()).count();
    let total = d["total"]["total"].as_u64().unwrap();
    if hidden == 0 {
        assert_eq!(total, shown, "{d}");
    } else {
        assert!(shown <= total, "{d}");
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ics_and_trust_dashboards_show_figures_only_to_whom_they_belong() {
    let data = tempfile::tempdir().unwrap();
    let suite = common::demo_suite(data.path()).await;
    let base = suite.url();
    let api = |path: &str| format!("{base}{path}");

    // A change partners brought about at RZA last month (in the dashboard's default period, the
    // last three whole months), from its impact log.
    let state = suite.gateway_state().clone();
    let this_month = &state.clock.today().to_string()[..7];
    let last_month = alongside_platform::add_months(this_month, -1).unwrap();
    let lead = alongside_platform::Caller {
        subject: "lead".into(),
        tenant: alongside_platform::OdsCode::parse("RZA").unwrap(),
        role: alongside_platform::Role::EngagementLead,
        ics: None,
    };
    state
        .clients
        .engagement()
        .record_impact(state.clients.request(
            &lead,
            alongside_proto::engagement::v1::RecordImpactRequest {
                raised: "Evening clinics were hard to reach by bus".into(),
                changed: "Clinics moved to the town-centre hub".into(),
                changed_on: format!("{last_month}-10"),
                pathway: "Musculoskeletal".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    // The ICS: both demo trusts side by side, the ICS's total their sum, a chart for each.
    let ics = sign_in(&base, "ics.analyst@qzx.demo.test").await;
    let d = json(&ics, api("/api/v1/dashboard")).await;
    assert_eq!(d["scope"], "ics");
    assert_eq!(d["code"], "QZX");
    let codes: Vec<&str> = d["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["RZA", "RZB"]);
    assert!(
        total(&d) > 100,
        "the demo has responses in the last quarter"
    );
    assert_eq!(d["charts"].as_array().unwrap().len(), 3);
    assert!(d["funnel_mean"].as_f64().is_some());
    // Months are released the day after they end here (as a deployment does days later): the
    // figures run to last month, and this month is not in them yet, on the page either.
    assert_eq!(d["released_to"], last_month.as_str());
    let next = alongside_platform::last_day_of_month(this_month)
        .unwrap()
        .next_day()
        .unwrap()
        .to_string();
    assert_eq!(d["next_release_on"], next.as_str());
    let open = json(
        &ics,
        api(&format!(
            "/api/v1/dashboard?from={this_month}&to={this_month}"
        )),
    )
    .await;
    assert_eq!(open["total"]["total"], 0, "{open}");
    let page = ics
        .get(api(&format!(
            "/dashboard?from={this_month}&to={this_month}"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("{this_month} is released on")),
        "the page says when this month is released"
    );
    assert!(d["involvement"].as_array().unwrap().len() == 2);
    // Each session is one partner's: sessions are hidden wherever partners are.
    for row in d["involvement"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&d["involvement_total"]])
    {
        if row["partners_involved"].is_null() {
            assert!(row["sessions"].is_null(), "{row}");
        }
    }
    let impact = d["impact"].as_array().unwrap();
    assert_eq!(impact.len(), 1, "{impact:?}");
    assert_eq!(impact[0]["code"], "RZA");
    assert_eq!(impact[0]["we_did"], "Clinics moved to the town-centre hub");
    let text = d.to_string();
    for personal in ["Asha", "Patel", "@", "demo.test"] {
        assert!(
            !text.contains(personal),
            "{personal} is not on the dashboard"
        );
    }

    // Filtered by a pathway: the same trusts, no month-by-month charts.
    let msk = json(&ics, api("/api/v1/dashboard?pathway=Musculoskeletal")).await;
    // Each month of it by itself; the quarter's figure is hidden exactly when a month's is
    // (a period is the sum of its months), and shown figures add up.
    let mut months_hidden = 0;
    for m in 0..3 {
        let month = alongside_platform::add_months(msk["from"].as_str().unwrap(), m).unwrap();
        let one = json(
            &ics,
            api(&format!(
                "/api/v1/dashboard?pathway=Musculoskeletal&from={month}&to={month}"
            )),
        )
        .await;
        if one["total"]["total"].is_null() {
            months_hidden += 1;
        } else {
            assert!(total(&one) > 0, "{one}");
        }
    }
    assert!(months_hidden < 3, "the demo has MSK responses shown");
    assert_eq!(msk["total"]["total"].is_null(), months_hidden > 0, "{msk}");
    if months_hidden == 0 {
        assert!(total(&msk) > 0);
    }
    assert!(msk["charts"].as_array().unwrap().is_empty());
    // One filter at a time, and no sites of a trust's own.
    let (status, body) = get(&ics, api("/api/v1/dashboard?pathway=Maternity&source=web")).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("one of locality, pathway or way of answering"),
        "{body}"
    );
    let (status, _) = get(&ics, api("/api/v1/dashboard?site=Riverside%20Hospital")).await;
    assert_eq!(status, 422);

    // Into a trust: its row of the ICS's tables, by pathway.
    let rza = json(&ics, api("/api/v1/dashboard?trust=RZA")).await;
    assert_eq!(rza["scope"], "trust");
    assert_eq!(rza["ics"], "QZX");
    assert_eq!(rza["by"], "pathway");
    total(&rza);
    assert_eq!(
        rza["total"]["total"], d["units"][0]["total"],
        "the same figure as side by side"
    );
    let (status, _) = get(&ics, api("/api/v1/dashboard?trust=RZA&by=site")).await;
    assert_eq!(status, 422, "sites are the trust's own");
    let (status, body) = get(&ics, api("/api/v1/dashboard?trust=RZC")).await;
    assert_eq!(status, 422);
    assert!(body.contains("is not a trust of this ICS"), "{body}");

    // A trust's analyst: their own trust, by site; never the other trust.
    let analyst = sign_in(&base, "analyst@rza.demo.test").await;
    let own = json(&analyst, api("/api/v1/dashboard")).await;
    assert_eq!(own["scope"], "trust");
    assert_eq!(own["code"], "RZA");
    assert_eq!(own["by"], "site");
    assert_eq!(own["involvement"].as_array().unwrap().len(), 1);
    let (status, _) = get(&analyst, api("/api/v1/dashboard?trust=RZB")).await;
    assert_eq!(status, 403, "another trust's dashboard is refused");
    // Drilled: a site by pathway, its total the site's row; views outside the protected ones
    // are refused, saying which there are.
    let site = own["units"][0].clone();
    let drilled = json(
        &analyst,
        api(&format!(
            "/api/v1/dashboard?by=pathway&site={}",
            site["code"].as_str().unwrap().replace(' ', "%20")
        )),
    )
    .await;
    assert_eq!(drilled["by"], "pathway");
    assert_eq!(drilled["total"]["total"], site["total"], "{drilled}");
    let (status, body) = get(&analyst, api("/api/v1/dashboard?by=pathway&locality=North")).await;
    assert_eq!(status, 422);
    assert!(body.contains("drilled"), "{body}");
    let other = json(
        &sign_in(&base, "analyst@rzb.demo.test").await,
        api("/api/v1/dashboard"),
    )
    .await;
    assert_eq!(other["code"], "RZB");
    assert_eq!(
        other["total"]["total"], d["units"][1]["total"],
        "each trust sees its own figures"
    );
    for email in ["partner@rza.demo.test", "finance@rza.demo.test"] {
        let http = sign_in(&base, email).await;
        let (status, _) = get(&http, api("/api/v1/dashboard")).await;
        assert_eq!(status, 403, "{email}");
        let (status, _) = get(&http, api("/dashboard")).await;
        assert_eq!(status, 403, "{email}");
    }

    // The pages: charts as SVG with table views, CSV of each table, the board report.
    let (status, page) = get(&ics, api("/dashboard")).await;
    assert_eq!(status, 200);
    for part in [
        "Funnel plot",
        "<svg",
        "the chart as a table",
        "Board report for this period",
    ] {
        assert!(page.contains(part), "{part}");
    }
    let (status, csv) = get(&ics, api("/dashboard.csv?section=fft")).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("code,name,responses,very_good"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + 1 + 2, "header, the ICS, two trusts");
    for section in ["funnel", "charts", "proms", "themes", "involvement"] {
        let (status, csv) = get(&ics, api(&format!("/dashboard.csv?section={section}"))).await;
        assert_eq!(status, 200, "{section}");
        assert!(csv.lines().count() > 1, "{section} has rows");
    }
    let (status, _) = get(&ics, api("/dashboard.csv?section=everything")).await;
    assert_eq!(status, 422);
    let (status, report) = get(&ics, api("/dashboard/board-report")).await;
    assert_eq!(status, 200);
    assert!(report.contains("Board report: "));
    assert!(
        !report.contains("Which responses"),
        "no filter form on the board's copy"
    );
    let pdf = ics
        .get(api("/dashboard/board-report.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    suite.stop().await;
}
