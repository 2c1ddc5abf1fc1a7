//! Who may do what in the portal and the API: every role list, in one place, named by what it
//! allows. The services decide again (the gateway checks first so a page can say why at once,
//! and offers only what a role may do); the role × route test in
//! `services/suite/tests/access.rs` holds every page and route to what is written here.

use alongside_platform::Role;
use alongside_platform::Role::*;

// ---- the People Bank and engagement ----

/// Run the People Bank and the engagement programme: register partners, create
/// opportunities, offer places, record attendance, choose survey questions.
pub const LEADS: &[Role] = &[EngagementLead, Admin];
/// Organise involvement day to day: the opportunities list, requests, the impact log.
pub const ORGANISERS: &[Role] = &[EngagementLead, Staff, Admin];
/// A partner's own pages: their sessions, offers, payments and preferences.
pub const PARTNERS: &[Role] = &[Partner];
/// Share a partner with the ICS's other trusts, and name who supports them: the engagement
/// team, who know the partner (never an administrator, who manages accounts).
pub const ENGAGEMENT_TEAM: &[Role] = &[EngagementLead];
/// Read the involvement report: leads, the trust's analysts, and the ICS's analysts for its
/// member trusts. Figures only.
pub const INVOLVEMENT_REPORT_READERS: &[Role] = &[EngagementLead, Admin, Analyst, IcsAnalyst];
/// Read the equality and representation totals (protected figures).
pub const REPRESENTATION_READERS: &[Role] = &[EngagementLead, Admin, Analyst];
/// Read the impact log: organisers, and the trust's analysts (it is written to be shared).
pub const IMPACT_READERS: &[Role] = &[EngagementLead, Staff, Admin, Analyst];

// ---- feedback ----

/// Read the FFT pages and exports of the trust (protected figures).
pub const FFT_READERS: &[Role] = &[Analyst, EngagementLead, Staff, Admin];
/// Read the trust's and the ICS's dashboards: aggregates only; the ICS's analysts too.
pub const DASHBOARD_READERS: &[Role] = &[Analyst, IcsAnalyst, EngagementLead, Admin];
/// Upload FFT responses and questionnaires (CSV, paper, FHIR).
pub const FEEDBACK_UPLOADERS: &[Role] = &[Analyst, EngagementLead, Staff, Admin];
/// Make survey links that carry a listed place.
pub const SURVEY_LINK_MAKERS: &[Role] = &[Analyst, EngagementLead, Staff, Admin];
/// Choose the trust's survey questions.
pub const SURVEY_QUESTION_CHOOSERS: &[Role] = &[EngagementLead, Admin];
/// Read what comments were about: themes and sentiment, counted.
pub const THEME_READERS: &[Role] = &[Analyst, EngagementLead, Staff, Admin];
/// Read comments and complaints one by one: the engagement team, never administrators (case
/// notes).
pub const COMMENT_READERS: &[Role] = &[EngagementLead, Staff];
/// Retrain the themes model on the trust's corrections.
pub const THEME_MODEL_TRAINERS: &[Role] = &[EngagementLead, Admin];
/// Read the trust's places (sites, localities, pathways, teams): everyone who chooses them in
/// filters and forms.
pub const PLACE_READERS: &[Role] = &[Analyst, EngagementLead, Staff, Admin];
/// Keep the trust's places: administrators, who keep its reference data.
pub const PLACE_KEEPERS: &[Role] = &[Admin];
/// Read and map the place values held from before the lists: they may be what a respondent
/// typed.
pub const HELD_PLACE_READERS: &[Role] = &[Admin, EngagementLead];

// ---- payments ----

/// Finance's own work: approving claims, payment runs, payment files.
pub const FINANCE: &[Role] = &[Finance];
/// Read claims: finance, leads and staff for their trust's, partners their own.
pub const CLAIM_READERS: &[Role] = &[Finance, EngagementLead, Partner, Staff];
/// Submit an expense claim (partners for themselves; staff on a partner's behalf).
pub const EXPENSE_SUBMITTERS: &[Role] = &[Partner, Staff, EngagementLead, Finance];
/// Read a remittance advice or an annual statement: finance, and the partner it is for.
pub const STATEMENT_READERS: &[Role] = &[Finance, Partner];
/// Read a payee's details for a claim: finance and leads.
pub const PAYEE_READERS: &[Role] = &[Finance, EngagementLead];
/// Read the rate cards (partners too: what they will be paid).
pub const RATE_CARD_READERS: &[Role] = &[Finance, EngagementLead, Admin, Partner];
/// Change the rate cards.
pub const RATE_CARD_EDITORS: &[Role] = &[Finance, Admin];
/// Read the benefits safeguards (administrators see the limits only).
pub const BENEFIT_READERS: &[Role] = &[Finance, EngagementLead, Admin];
/// Read which partners are near a benefits limit.
pub const BENEFIT_WARNING_READERS: &[Role] = &[Finance, EngagementLead];
/// Read involvement spend (protected figures for analysts and the ICS).
pub const SPEND_READERS: &[Role] = &[Finance, EngagementLead, Admin, Analyst, IcsAnalyst];
/// Read the ledger.
pub const LEDGER_READERS: &[Role] = &[Finance, Admin];
/// Read the trust's payment controls (segregation of duties).
pub const PAYMENT_CONTROL_READERS: &[Role] = &[Finance, Admin];
/// Change the trust's payment controls.
pub const PAYMENT_CONTROL_SETTERS: &[Role] = &[Admin];
