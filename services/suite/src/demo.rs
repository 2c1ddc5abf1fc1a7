//! Demo data for the embedded run: a demo ICS with two trusts, a user for each role, partners,
//! opportunities with attendance (and so claims), and Friends and Family Test responses. Seeded
//! once: a second run keeps what the first made.

use std::time::Duration;

use alongside_gateway::seed::{self, DEMO_PASSWORD};
use alongside_gateway::AppState;
use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::engagement::v1 as engagement;
use alongside_proto::feedback::v1 as feedback;
use alongside_proto::payments::v1 as payments;
use alongside_proto::people::v1 as people;

const PARTNERS: &[(&str, &str, &str)] = &[
    ("Asha", "Patel", "North"),
    ("Bernard", "Okafor", "Central"),
    ("Ceri", "Williams", "South"),
    ("Dev", "Sharma", "North"),
    ("Eileen", "Murphy", "East"),
    ("Femi", "Adeyemi", "Central"),
];

/// Seeds when the gateway has no users yet; returns the demo sign-ins either way.
pub async fn seed(state: &AppState) -> Result<Vec<(String, String)>, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut sign_ins: Vec<(String, String)> = seed::demo_staff()
        .into_iter()
        .map(|(email, name, _, _)| (email, name))
        .collect();
    sign_ins.push((
        "partner@rza.demo.test".into(),
        "Asha Patel, partner (RZA)".into(),
    ));
    if seed::has_users(&state.db).await.map_err(|e| err(&e))? {
        return Ok(sign_ins);
    }
    tracing::info!("seeding demo data");
    seed::ensure_tenants(&state.db).await.map_err(|e| err(&e))?;
    seed::register_tenants(&state.db, &state.clients)
        .await
        .map_err(|e| err(&e))?;
    for (email, name, tenant, role) in seed::demo_staff() {
        seed::create_user(&state.db, &email, &name, DEMO_PASSWORD, tenant, role, None)
            .await
            .map_err(|e| err(&e))?;
    }
    for (trust, offset) in [("RZA", 0usize), ("RZB", 3usize)] {
        let lead = Caller {
            subject: "usr_demo_seed".into(),
            tenant: OdsCode::parse(trust).map_err(|e| err(&e))?,
            role: Role::EngagementLead,
            ics: Some(OdsCode::parse("QZX").map_err(|e| err(&e))?),
        };
        let mut partner_ids = Vec::new();
        for (i, (given, family, locality)) in PARTNERS.iter().enumerate() {
            let request = people::RegisterPartnerRequest {
                given_name: given.to_string(),
                family_name: family.to_string(),
                email: format!(
                    "{}.{}@{}.partners.demo.test",
                    given.to_lowercase(),
                    family.to_lowercase(),
                    trust.to_lowercase()
                ),
                phone: format!("01632 960 {:03}", i + offset * 10),
                locality: locality.to_string(),
            };
            let partner = state
                .clients
                .people()
                .register_partner(state.clients.request(&lead, request))
                .await
                .map_err(|e| err(&e))?
                .into_inner();
            partner_ids.push(partner.id);
        }
        // The first partner sits on MDTs, with data-security training due for renewal within the
        // month (it shows on the expiring list); the second is a forum member.
        let today = state.clock.today();
        let days_ago = |n: i64| (today - time::Duration::days(n)).to_string();
        for (partner, role, training) in [
            (
                &partner_ids[0],
                "governance_partner",
                vec![
                    ("induction", days_ago(200)),
                    ("shared_decision_making", days_ago(200)),
                    ("confidentiality", days_ago(335)),
                ],
            ),
            (
                &partner_ids[1],
                "forum_member",
                vec![("induction", days_ago(90))],
            ),
        ] {
            let grant = people::RoleRequest {
                partner_id: partner.clone(),
                role: role.into(),
            };
            state
                .clients
                .people()
                .grant_role(state.clients.request(&lead, grant))
                .await
                .map_err(|e| err(&e))?;
            for (kind, completed_on) in training {
                let record = people::RecordTrainingRequest {
                    partner_id: partner.clone(),
                    kind: kind.into(),
                    completed_on,
                    ..Default::default()
                };
                state
                    .clients
                    .people()
                    .record_training(state.clients.request(&lead, record))
                    .await
                    .map_err(|e| err(&e))?;
            }
        }
        if trust == "RZA" {
            seed::create_user(
                &state.db,
                "partner@rza.demo.test",
                "Asha Patel",
                DEMO_PASSWORD,
                "RZA",
                Role::Partner,
                Some(partner_ids[0].clone()),
            )
            .await
            .map_err(|e| err(&e))?;
        }
        // The second partner receives ESA: finance and they are warned near its limits.
        let benefits = people::UpdateProfileRequest {
            partner_id: partner_ids[1].clone(),
            contact_method: "email".into(),
            payment_preference: "paid".into(),
            receives_benefits: true,
            benefits: vec!["esa".into()],
            ..Default::default()
        };
        state
            .clients
            .people()
            .update_profile(state.clients.request(&lead, benefits))
            .await
            .map_err(|e| err(&e))?;
        // Places first: opportunities name only listed pathways.
        let admin = Caller {
            role: Role::Admin,
            ..lead.clone()
        };
        state
            .clients
            .feedback()
            .save_places(state.clients.request(&admin, demo_places()))
            .await
            .map_err(|e| err(&e))?;
        let opportunities = [
            (
                "Rheumatology MDT",
                "mdt_seat",
                4,
                1,
                "rheumatology",
                "CC-4410",
            ),
            (
                "Patient and Carer Forum — December",
                "forum_meeting",
                4,
                6,
                "",
                "CC-4400",
            ),
            (
                "Pain pathway redesign workshop",
                "pathway_redesign",
                4,
                3,
                "pain",
                "CC-4420",
            ),
        ];
        let today = state.clock.today();
        for (n, (title, kind, level, places, pathway, cost_centre)) in
            opportunities.iter().enumerate()
        {
            // The MDT five weeks ago, in an earlier month whatever today is (so a released
            // month of the analytics stream holds involvement); the forum last week; the rest
            // to come.
            let days_before = if n == 0 { 35 } else { 14 - 7 * n as i64 };
            let starts_on = (today - time::Duration::days(days_before)).to_string();
            let request = engagement::CreateOpportunityRequest {
                title: title.to_string(),
                kind: kind.to_string(),
                involvement_level: *level,
                starts_on,
                places: *places,
                pathway: pathway.to_string(),
                cost_centre: cost_centre.to_string(),
                description: format!(
                    "{title}: partners bring what they know of the {pathway} service."
                ),
                locality: "Outpatients building, room 2".into(),
                expected_minutes: if n == 0 { 120 } else { 300 },
                accessibility: "Step-free access and a hearing loop; breaks every hour".into(),
                contact: "Engagement team, 01632 960000".into(),
                // The first two took place before today: recorded as work already done.
                held: n < 2,
                ..Default::default()
            };
            let opportunity = create_opportunity(state, &lead, request).await?;
            if n == 2 {
                continue; // one opportunity left open for the demo
            }
            for partner_id in partner_ids.iter().take(*places as usize).take(2) {
                let assignment =
                    assign_when_known(state, &lead, &opportunity.id, partner_id).await?;
                let minutes = if n == 0 { 150 } else { 330 };
                let request = engagement::RecordAttendanceRequest {
                    assignment_id: assignment.id,
                    minutes,
                    ..Default::default()
                };
                state
                    .clients
                    .engagement()
                    .record_attendance(state.clients.request(&lead, request))
                    .await
                    .map_err(|e| err(&e))?;
            }
        }
        if trust == "RZA" {
            pay_the_first_partner(state, &lead, &partner_ids[0]).await?;
            forum_and_requests(state, &lead, &partner_ids).await?;
        }
        let analyst = Caller {
            role: Role::Analyst,
            ..lead.clone()
        };
        state
            .clients
            .feedback()
            .update_survey(state.clients.request(&lead, demo_survey()))
            .await
            .map_err(|e| err(&e))?;
        let responses = fft_responses(trust, today);
        let request = feedback::SubmitFftResponsesRequest {
            responses,
            dry_run: false,
        };
        state
            .clients
            .feedback()
            .submit_fft_responses(state.clients.request(&analyst, request))
            .await
            .map_err(|e| err(&e))?;
        let request = feedback::SubmitPromResponsesRequest {
            responses: prom_responses(trust, today),
            dry_run: false,
        };
        state
            .clients
            .feedback()
            .submit_prom_responses(state.clients.request(&analyst, request))
            .await
            .map_err(|e| err(&e))?;
        for complaint in complaints(trust, today) {
            let request = feedback::RecordComplaintRequest {
                complaint: Some(complaint),
            };
            state
                .clients
                .feedback()
                .record_complaint(state.clients.request(&lead, request))
                .await
                .map_err(|e| err(&e))?;
        }
    }
    Ok(sign_ins)
}

/// What the demo complaints are about, with their themes and the learning when upheld (written
/// for the demo).
const COMPLAINTS: &[(&str, &[&str], &str, &str)] = &[
    (
        "Appointment cancelled twice without explanation",
        &["appointment_arrangements", "kept_informed"],
        "Cancellations were sent by text only, with no reason or new date.",
        "Booking team to phone patients whose appointment is cancelled a second time.",
    ),
    (
        "Waited over three hours in clinic with no updates",
        &["timeliness", "kept_informed"],
        "Clinic delays were not announced, so patients could not plan.",
        "Reception to update the delay board every 30 minutes.",
    ),
    (
        "Felt dismissed by the doctor when describing pain",
        &["listening_involving", "staff_manner"],
        "Patients' own account of pain was not recorded before the examination.",
        "Pain history question added to the clinic template.",
    ),
    (
        "Discharged without the medicines I needed",
        &["discharge", "medication"],
        "Discharge prescriptions were written after transport had been booked.",
        "Ward pharmacist to check take-home medicines before transport is booked.",
    ),
    (
        "Could not get through on the phone for a week",
        &["contacting_services"],
        "Phone lines were staffed by one person on Mondays.",
        "A second call handler on Monday mornings from next month.",
    ),
    ("No parking for blue badge holders", &["parking"], "", ""),
];

/// About five complaints a month over six months, most acknowledged in time, the older ones
/// closed with an outcome and, when upheld, their learning.
fn complaints(trust: &str, today: time::Date) -> Vec<feedback::Complaint> {
    let channels = ["letter", "email", "phone", "online", "pals"];
    let mut next = demo_numbers(trust, 0x434F_4D50);
    (0..30)
        .map(|n| {
            let received = today - time::Duration::days(6 * n + 3);
            let (summary, themes, learning, actions) =
                COMPLAINTS[(next() % COMPLAINTS.len() as u32) as usize];
            let (pathway, team) = DEMO_TEAMS[(next() % DEMO_TEAMS.len() as u32) as usize];
            let (site, _) = DEMO_SITES[(next() % DEMO_SITES.len() as u32) as usize];
            let acknowledged = received + time::Duration::days(i64::from(next() % 5));
            let closed = received + time::Duration::days(20 + i64::from(next() % 40));
            let outcome = if closed > today || learning.is_empty() && n % 2 == 0 {
                ""
            } else {
                ["upheld", "partly_upheld", "not_upheld", "upheld"][(next() % 4) as usize]
            };
            let upheld = matches!(outcome, "upheld" | "partly_upheld");
            feedback::Complaint {
                reference: format!("{trust}-C{:04}", 1000 - n),
                received_on: received.to_string(),
                channel: channels[(next() % channels.len() as u32) as usize].into(),
                site: site.into(),
                pathway: pathway.into(),
                team: team.into(),
                categories: themes.iter().map(|t| t.to_string()).collect(),
                summary: summary.into(),
                acknowledged_on: if acknowledged <= today {
                    acknowledged.to_string()
                } else {
                    String::new()
                },
                closed_on: if outcome.is_empty() {
                    String::new()
                } else {
                    closed.to_string()
                },
                outcome: outcome.into(),
                learning: if upheld || !learning.is_empty() && !outcome.is_empty() {
                    if learning.is_empty() {
                        "Signage to the accessible spaces was unclear.".into()
                    } else {
                        learning.into()
                    }
                } else {
                    String::new()
                },
                actions: if outcome.is_empty() { "" } else { actions }.into(),
                ombudsman: n == 25,
                ..Default::default()
            }
        })
        .collect()
}

/// The demo partner's time is approved and paid in a confirmed run (so they have remittance
/// advice), and they have an expense claim with a receipt waiting for finance.
async fn pay_the_first_partner(
    state: &AppState,
    lead: &Caller,
    partner_id: &str,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let finance = Caller {
        subject: "usr_demo_finance_seed".into(),
        role: Role::Finance,
        ..lead.clone()
    };
    // Claims arrive from attendance through Kafka.
    let mut theirs = Vec::new();
    for _ in 0..100 {
        let request = payments::ListClaimsRequest {
            partner_id: partner_id.into(),
            ..Default::default()
        };
        theirs = state
            .clients
            .payments()
            .list_claims(state.clients.request(&finance, request))
            .await
            .map_err(|e| err(&e))?
            .into_inner()
            .claims;
        if theirs.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let decide = payments::DecideClaimsRequest {
        claim_ids: theirs.iter().map(|c| c.id.clone()).collect(),
        decision: "approve".into(),
        reason: String::new(),
    };
    state
        .clients
        .payments()
        .decide_claims(state.clients.request(&finance, decide))
        .await
        .map_err(|e| err(&e))?;
    let today = state.clock.today().to_string();
    let run = state
        .clients
        .payments()
        .create_payment_run(state.clients.request(
            &finance,
            payments::CreatePaymentRunRequest {
                up_to: today.clone(),
            },
        ))
        .await
        .map_err(|e| err(&e))?
        .into_inner();
    state
        .clients
        .payments()
        .confirm_payment_run(
            state
                .clients
                .request(&finance, payments::PaymentRunAction { id: run.id }),
        )
        .await
        .map_err(|e| err(&e))?;
    let partner = Caller {
        subject: partner_id.into(),
        role: Role::Partner,
        ..lead.clone()
    };
    let bank = people::SetBankDetailsRequest {
        partner_id: partner_id.into(),
        account_name: "A PATEL".into(),
        sort_code: "30-99-50".into(),
        account_number: "31926819".into(),
    };
    state
        .clients
        .people()
        .set_bank_details(state.clients.request(&partner, bank))
        .await
        .map_err(|e| err(&e))?;
    let receipt = alongside_gateway::pdf::render(&[
        alongside_gateway::pdf::Block::Title("City Car Park".into()),
        alongside_gateway::pdf::Block::Row("Parking, 3 hours".into(), "£6.50".into()),
    ]);
    let claim = payments::SubmitExpenseClaimRequest {
        description: "Forum meeting: parking and the drive in".into(),
        items: vec![
            payments::ExpenseItemInput {
                kind: "parking".into(),
                description: "City Car Park".into(),
                amount_pence: 650,
                spent_on: today.clone(),
                receipt: Some(payments::ReceiptUpload {
                    filename: "parking-receipt.pdf".into(),
                    content_type: "application/pdf".into(),
                    content: receipt,
                }),
                ..Default::default()
            },
            payments::ExpenseItemInput {
                kind: "mileage".into(),
                miles_tenths: 124,
                vehicle: "car".into(),
                spent_on: today,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    state
        .clients
        .payments()
        .submit_expense_claim(state.clients.request(&partner, claim))
        .await
        .map_err(|e| err(&e))?;
    Ok(())
}

/// A forum meeting monthly with a place offered to the demo partner, its members, a meeting
/// with agenda and an action, and a team's request for partners waiting for the lead.
async fn forum_and_requests(
    state: &AppState,
    lead: &Caller,
    partner_ids: &[String],
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let today = state.clock.today();
    let mut engagement = state.clients.engagement();
    let request = engagement::CreateOpportunityRequest {
        title: "Pain Patient and Carer Forum".into(),
        kind: "forum_meeting".into(),
        involvement_level: 4,
        starts_on: (today + time::Duration::days(10)).to_string(),
        places: 8,
        pathway: "pain".into(),
        cost_centre: "CC-4420".into(),
        description: "The forum meets monthly to review the pain service with its team.".into(),
        locality: "Online (Microsoft Teams)".into(),
        expected_minutes: 120,
        start_time: "14:00".into(),
        repeat: "monthly".into(),
        session_count: 6,
        accessibility: "Captions on; papers a week ahead in large print on request".into(),
        contact: "Engagement team, 01632 960000".into(),
        ..Default::default()
    };
    let forum_sessions = create_opportunity(state, lead, request).await?;
    let offer = engagement::AssignPartnerRequest {
        opportunity_id: forum_sessions.id.clone(),
        partner_id: partner_ids[0].clone(),
        offer: true,
    };
    engagement
        .assign_partner(state.clients.request(lead, offer))
        .await
        .map_err(|e| err(&e))?;
    let forum = engagement
        .create_forum(state.clients.request(
            lead,
            engagement::CreateForumRequest {
                name: "Pain Patient and Carer Forum".into(),
                pathway: "pain".into(),
                description:
                    "Partners and the pain team, monthly: what matters to patients.".into(),
            },
        ))
        .await
        .map_err(|e| err(&e))?
        .into_inner();
    for (n, partner_id) in partner_ids.iter().take(3).enumerate() {
        let member = engagement::SetForumMemberRequest {
            forum_id: forum.id.clone(),
            partner_id: partner_id.clone(),
            role: if n == 0 { "chair" } else { "member" }.into(),
        };
        when_known(&format!("partner {partner_id}"), || {
            let mut engagement = state.clients.engagement();
            let request = state.clients.request(lead, member.clone());
            async move { engagement.set_forum_member(request).await }
        })
        .await?;
    }
    let meeting = engagement
        .save_forum_meeting(state.clients.request(
            lead,
            engagement::SaveForumMeetingRequest {
                forum_id: forum.id.clone(),
                held_on: (today + time::Duration::days(10)).to_string(),
                focus: "Waiting times for a first appointment".into(),
                agenda: "1. Welcome\n2. Waiting times: what patients tell us\n3. Actions".into(),
                opportunity_id: forum_sessions.id,
                ..Default::default()
            },
        ))
        .await
        .map_err(|e| err(&e))?
        .into_inner();
    engagement
        .save_forum_action(state.clients.request(
            lead,
            engagement::SaveForumActionRequest {
                forum_id: forum.id,
                meeting_id: meeting.id,
                action: "Bring the waiting-list letter to the next meeting".into(),
                owner: "Service manager, pain".into(),
                due_on: (today + time::Duration::days(40)).to_string(),
                ..Default::default()
            },
        ))
        .await
        .map_err(|e| err(&e))?;
    engagement
        .create_staff_request(state.clients.request(
            &Caller {
                role: Role::Staff,
                ..lead.clone()
            },
            engagement::CreateStaffRequestRequest {
                title: "Rewrite the rheumatology clinic letters".into(),
                team: "Rheumatology outpatients".into(),
                pathway: "rheumatology".into(),
                description: "Two partners to read our letters and tell us what is unclear.".into(),
                kind: "improvement_group".into(),
                places: 2,
                needed_by: (today + time::Duration::days(30)).to_string(),
            },
        ))
        .await
        .map_err(|e| err(&e))?;
    Ok(())
}

/// The trust's places reach engagement's read model through Kafka a moment after they are
/// listed: an opportunity naming one waits for it.
async fn create_opportunity(
    state: &AppState,
    lead: &Caller,
    request: engagement::CreateOpportunityRequest,
) -> Result<engagement::Opportunity, String> {
    when_known(&format!("pathway {}", request.pathway), || {
        let mut engagement = state.clients.engagement();
        let request = state.clients.request(lead, request.clone());
        async move { engagement.create_opportunity(request).await }
    })
    .await
}

/// The partner reaches engagement's read model through Kafka a moment after registration.
async fn assign_when_known(
    state: &AppState,
    lead: &Caller,
    opportunity_id: &str,
    partner_id: &str,
) -> Result<engagement::Assignment, String> {
    let request = engagement::AssignPartnerRequest {
        opportunity_id: opportunity_id.into(),
        partner_id: partner_id.into(),
        offer: false,
    };
    when_known(&format!("partner {partner_id}"), || {
        let mut engagement = state.clients.engagement();
        let request = state.clients.request(lead, request.clone());
        async move { engagement.assign_partner(request).await }
    })
    .await
}

/// Calls `call` until it succeeds, for up to ten seconds: what another service announced
/// moments ago (a partner, a place) reaches engagement's read model through Kafka.
async fn when_known<T, F, Fut>(what: &str, mut call: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let mut last = String::new();
    for _ in 0..100 {
        match call().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) => last = status.message().to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{what} never reached engagement: {last}"))
}

/// A small deterministic generator, so the demo is the same on every machine.
fn demo_numbers(trust: &str, salt: u64) -> impl FnMut() -> u32 {
    let mut state: u64 = salt
        ^ if trust == "RZA" {
            0x9E37_79B9
        } else {
            0x85EB_CA6B
        };
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    }
}

/// Demo comments, written for the demo (no real patient's words).
const PRAISE: &[&str] = &[
    "The nurses were kind and took time to explain everything",
    "Seen quickly and the doctor listened to me",
    "Really friendly reception staff, thank you",
    "The physio gave me exercises that have helped my back a lot",
    "Clean ward and the food was better than I expected",
    "Everyone was caring and respectful to my mum",
    "Appointment was on time and the letter told me what to expect",
    "Nothing to improve, excellent service",
    "The ambulance crew were calm and reassuring",
    "Staff kept me informed while I was waiting",
];
const CONCERNS: &[&str] = &[
    "Waited nearly three hours past my appointment time",
    "Could not get through on the phone to rearrange",
    "Parking is expensive and there are never any spaces",
    "Nobody told my family what was happening",
    "The ward was noisy at night and I could not sleep",
    "My appointment was cancelled twice with no reason given",
    "Had to repeat my history to every person I saw",
    "The transport home did not turn up",
    "Staff seemed rushed and too busy to answer questions",
    "Pain relief took a long time to arrive",
];

fn pick(pool: &[&str], n: u32) -> String {
    pool[n as usize % pool.len()].to_string()
}

/// Six months of FFT responses with a plausible, deterministic mix of answers.
fn fft_responses(trust: &str, today: time::Date) -> Vec<feedback::FftResponse> {
    let sources = ["sms", "web", "paper", "kiosk", "just_a_minute_card"];
    let mut next = demo_numbers(trust, 0);
    let mut more = demo_numbers(trust, 0x5355_5256);
    let mut out = Vec::new();
    for day_back in 0..180i64 {
        let day = today - time::Duration::days(day_back);
        for k in 0..(2 + next() % 3) {
            let (site, locality) = DEMO_SITES[(next() % DEMO_SITES.len() as u32) as usize];
            let (pathway, team) = DEMO_TEAMS[(next() % DEMO_TEAMS.len() as u32) as usize];
            // About two in five answer the equality questions too. People from the most
            // deprived areas are given a somewhat worse experience, as the health-equity view
            // should be able to show.
            let respondent = (next() % 5 < 2).then(|| {
                let age = alongside_proto::EQUALITY_QUESTIONS[0].2;
                let eth = alongside_proto::EQUALITY_QUESTIONS[2].2;
                feedback::Respondent {
                    consent: true,
                    age_band: age[(next() % age.len() as u32) as usize].0.into(),
                    sex: ["female", "male"][(next() % 2) as usize].into(),
                    ethnic_group: eth[(next() % eth.len() as u32) as usize].0.into(),
                    imd_decile: 1 + next() % 10,
                }
            });
            let penalty = match respondent.as_ref().map(|r| r.imd_decile) {
                Some(1..=2) => 12,
                _ => 0,
            };
            let roll = (next() % 100 + penalty).min(99);
            // Roughly 88% positive, 5% negative, as NHS community services commonly see.
            let answer = match roll {
                0..=61 => feedback::FftAnswer::VeryGood,
                62..=87 => feedback::FftAnswer::Good,
                88..=92 => feedback::FftAnswer::Neither,
                93..=95 => feedback::FftAnswer::Poor,
                96..=97 => feedback::FftAnswer::VeryPoor,
                _ => feedback::FftAnswer::DontKnow,
            };
            // About a third leave a comment, the kind their answer suggests.
            let (worked_well, could_improve) = match (next() % 3, answer as i32) {
                (0, 1..=2) => (pick(PRAISE, next()), String::new()),
                (0, 3) => (pick(PRAISE, next()), pick(CONCERNS, next())),
                (0, 4..=5) => (String::new(), pick(CONCERNS, next())),
                _ => (String::new(), String::new()),
            };
            out.push(feedback::FftResponse {
                response_id: format!("demo-{trust}-{day}-{k}"),
                source: sources[(next() % sources.len() as u32) as usize].into(),
                answer: answer as i32,
                responded_on: day.to_string(),
                worked_well,
                could_improve,
                site: site.into(),
                locality: locality.into(),
                pathway: pathway.into(),
                team: team.into(),
                respondent,
                answers: survey_answers(answer, &mut more),
            });
        }
    }
    out
}

/// The demo survey: three standard questions and one of the trust's own.
fn demo_survey() -> feedback::UpdateSurveyRequest {
    feedback::UpdateSurveyRequest {
        standard: vec!["booking".into(), "involvement".into(), "compassion".into()],
        own: vec![feedback::SurveyQuestion {
            text: "Was it easy to find your way to the clinic or ward?".into(),
            scale: "agreement".into(),
            ..Default::default()
        }],
    }
}

/// About half answer the other questions, mostly as their FFT answer suggests.
fn survey_answers(
    fft: feedback::FftAnswer,
    next: &mut impl FnMut() -> u32,
) -> std::collections::HashMap<String, String> {
    if next().is_multiple_of(2) {
        return Default::default();
    }
    ["booking", "involvement", "compassion", "own_1"]
        .iter()
        .map(|q| {
            let roll = next() % 100 + if (fft as i32) <= 2 { 0 } else { 40 };
            let answer = match roll {
                0..=69 => "yes_definitely",
                70..=89 => "yes_somewhat",
                90..=96 => "no",
                _ if roll >= 130 => "no",
                _ => "dont_know",
            };
            (q.to_string(), answer.to_string())
        })
        .collect()
}

/// The pathways of the demo's outcome measures.
const PROM_PATHWAYS: [&str; 2] = ["MSK physiotherapy", "Hip and knee"];

/// The demo trusts' places, as their administrators list them.
fn demo_places() -> feedback::SavePlacesRequest {
    let mut places: Vec<(&str, &str)> = Vec::new();
    for (site, locality) in DEMO_SITES {
        places.extend([("site", *site), ("locality", *locality)]);
    }
    for (pathway, team) in DEMO_TEAMS {
        places.extend([("pathway", *pathway), ("team", *team)]);
    }
    // The outcome measures' pathways, the pathways of involvement work (staff type them in
    // lower case: they are published under these codes), and one with nothing recorded yet.
    for pathway in PROM_PATHWAYS
        .iter()
        .chain(&["Pain", "Rheumatology", "Radiology"])
    {
        places.push(("pathway", pathway));
    }
    places.sort();
    places.dedup();
    feedback::SavePlacesRequest {
        places: places
            .into_iter()
            .map(|(kind, code)| feedback::PlaceInput {
                kind: kind.into(),
                code: code.into(),
                name: String::new(),
            })
            .collect(),
        dry_run: false,
    }
}

/// Where the demo trusts' care is given: site and its locality, pathway and its team.
const DEMO_SITES: &[(&str, &str)] = &[
    ("Riverside Hospital", "Central"),
    ("Northgate Health Centre", "North"),
    ("Southfields Clinic", "South"),
    ("Community (home visits)", "North"),
];
const DEMO_TEAMS: &[(&str, &str)] = &[
    ("Maternity", "Community midwifery"),
    ("Maternity", "Labour ward"),
    ("Musculoskeletal", "Physiotherapy"),
    ("Mental health", "Crisis team"),
    ("Urgent care", "Minor injuries"),
    ("Outpatients", "Diabetes clinic"),
];

/// Episodes of MSK care over the last five months: an MSK-HQ and a SURE at the start, and for
/// most episodes a second MSK-HQ six to ten weeks later, usually better.
fn prom_responses(trust: &str, today: time::Date) -> Vec<feedback::PromResponse> {
    let pathways = PROM_PATHWAYS;
    let mut next = demo_numbers(trust, 0x5052_4F4D);
    let msk_hq = |total: i64| {
        let total = total.clamp(0, 56) as u32;
        let mut items = vec![total / 14; 14];
        for item in items.iter_mut().take((total % 14) as usize) {
            *item += 1;
        }
        items
    };
    let mut out = Vec::new();
    for episode in 0..80u32 {
        let started = today - time::Duration::days(i64::from(70 + next() % 80));
        let pathway = pathways[(episode % 2) as usize].to_string();
        let episode_id = format!("EP-{trust}-{:04}", 1000 + episode);
        let first = 22 + i64::from(next() % 16);
        out.push(feedback::PromResponse {
            response_id: format!("demo-{trust}-{episode}-msk1"),
            instrument: "msk_hq".into(),
            episode_id: episode_id.clone(),
            completed_on: started.to_string(),
            items: msk_hq(first),
            pathway: pathway.clone(),
            source: "paper".into(),
        });
        let sure: Vec<u32> = (0..4)
            .map(|_| u32::from(!next().is_multiple_of(20)))
            .collect();
        out.push(feedback::PromResponse {
            response_id: format!("demo-{trust}-{episode}-sure"),
            instrument: "sure".into(),
            episode_id: episode_id.clone(),
            completed_on: started.to_string(),
            items: sure,
            pathway: pathway.clone(),
            source: "paper".into(),
        });
        let later = started + time::Duration::days(i64::from(42 + next() % 28));
        if later <= today && !next().is_multiple_of(5) {
            let change = i64::from(next() % 25) - 8;
            out.push(feedback::PromResponse {
                response_id: format!("demo-{trust}-{episode}-msk2"),
                instrument: "msk_hq".into(),
                episode_id,
                completed_on: later.to_string(),
                items: msk_hq(first + change),
                pathway,
                source: "web".into(),
            });
        }
    }
    out
}
