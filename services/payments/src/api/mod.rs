//! The gRPC API of payments. Each area has its own file; this one holds who may call what.

mod accounts;
mod cards;
mod claims;
mod controls;
mod runs;

use alongside_events::Outbox;
use alongside_platform::{grpc, Role, SharedClock};
use alongside_proto::payments::v1::payments_service_server::PaymentsService;
use alongside_proto::payments::v1::*;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use Role::*;

/// A partner sees their own claims, staff those they entered for a partner, and finance and the
/// engagement lead every claim of their trust. Administrators manage users, tenants and
/// reference data, not what partners are paid.
const CLAIM_READERS: &[Role] = &[Finance, EngagementLead, Partner, Staff];
/// A partner claims their own expenses; staff, leads and finance for a partner who does not
/// use the portal.
const EXPENSE_SUBMITTERS: &[Role] = &[Partner, Staff, EngagementLead, Finance];
/// Only finance approves and runs payments (issue 5).
const FINANCE: &[Role] = &[Finance];
const CARD_EDITORS: &[Role] = &[Finance, Admin];
/// Rate cards and benefits limits are open to everyone of the trust: partners see how they are
/// paid.
const EVERYONE: &[Role] = &[
    Partner,
    Staff,
    EngagementLead,
    Finance,
    Analyst,
    IcsAnalyst,
    Admin,
];
/// A partner's account, and which partners near a benefits limit: finance, the lead who
/// supports them, and the partner.
const ACCOUNT_READERS: &[Role] = &[Finance, EngagementLead, Partner];
/// Remittances and annual statements: finance and the partner.
const STATEMENT_READERS: &[Role] = &[Finance, Partner];
const LEDGER_CHECKERS: &[Role] = &[Finance, Admin];
/// The money controls: finance and admins read them; only admins set them, so that finance
/// cannot lift a control on themselves.
const CONTROL_READERS: &[Role] = &[Finance, Admin];
const CONTROL_SETTERS: &[Role] = &[Admin];
/// Spend in aggregate (small numbers hidden from analysts).
const SPEND_READERS: &[Role] = &[Finance, EngagementLead, Admin, Analyst, IcsAnalyst];

pub struct PaymentsApi {
    db: DatabaseConnection,
    outbox: Outbox,
    clock: SharedClock,
}

impl PaymentsApi {
    pub fn new(db: DatabaseConnection, outbox: Outbox, clock: SharedClock) -> Self {
        Self { db, outbox, clock }
    }

    fn today(&self) -> time::Date {
        self.clock.today()
    }
}

/// `SUM(column)` as a 64-bit integer on SQLite and PostgreSQL alike (PostgreSQL sums bigints to
/// numeric), 0 when there are no rows.
pub(crate) fn sum(column: &str) -> SimpleExpr {
    Expr::cust(format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// The service: each call authorises its roles, then runs its method with the verified caller.
macro_rules! service {
    ($($name:ident($request:ty) -> $response:ty, $roles:expr, $method:ident;)*) => {
        #[tonic::async_trait]
        impl PaymentsService for PaymentsApi {
            $(
                async fn $name(&self, request: Request<$request>) -> Result<Response<$response>, Status> {
                    let caller = grpc::authorize(&request, $roles)?;
                    Ok(Response::new(self.$method(&caller, request.into_inner()).await?))
                }
            )*
        }
    };
}

service! {
    list_claims(ListClaimsRequest) -> ListClaimsResponse, CLAIM_READERS, list;
    get_claim(GetClaimRequest) -> ClaimDetail, CLAIM_READERS, detail;
    submit_expense_claim(SubmitExpenseClaimRequest) -> ClaimDetail, EXPENSE_SUBMITTERS, submit_expenses;
    get_receipt(GetReceiptRequest) -> Receipt, CLAIM_READERS, receipt;
    decide_claims(DecideClaimsRequest) -> DecideClaimsResponse, FINANCE, decide;
    list_rate_cards(ListRateCardsRequest) -> ListRateCardsResponse, EVERYONE, rate_cards;
    create_rate_card(CreateRateCardRequest) -> RateCard, CARD_EDITORS, create_rate_card;
    create_payment_run(CreatePaymentRunRequest) -> PaymentRun, FINANCE, create_run;
    list_payment_runs(ListPaymentRunsRequest) -> ListPaymentRunsResponse, FINANCE, runs;
    get_payment_run(GetPaymentRunRequest) -> PaymentRunDetail, FINANCE, run_detail;
    confirm_payment_run(PaymentRunAction) -> PaymentRun, FINANCE, confirm_run;
    cancel_payment_run(PaymentRunAction) -> PaymentRun, FINANCE, cancel_run;
    get_remittance(GetRemittanceRequest) -> Remittance, STATEMENT_READERS, remittance;
    set_payment_route(SetPaymentRouteRequest) -> PartnerAccount, FINANCE, set_route;
    get_partner_account(GetPartnerAccountRequest) -> PartnerAccount, ACCOUNT_READERS, account;
    get_annual_statement(GetAnnualStatementRequest) -> AnnualStatement, STATEMENT_READERS, statement;
    check_ledger(CheckLedgerRequest) -> LedgerCheck, LEDGER_CHECKERS, check_ledger;
    list_benefit_limits(ListBenefitLimitsRequest) -> ListBenefitLimitsResponse, EVERYONE, benefit_limits;
    set_benefit_limit(SetBenefitLimitRequest) -> ListBenefitLimitsResponse, CARD_EDITORS, set_benefit_limit;
    list_benefit_warnings(ListBenefitWarningsRequest) -> ListBenefitWarningsResponse, ACCOUNT_READERS, warnings;
    spend_report(SpendReportRequest) -> SpendReportResponse, SPEND_READERS, spend;
    get_payment_controls(GetPaymentControlsRequest) -> PaymentControls, CONTROL_READERS, controls;
    set_payment_controls(PaymentControls) -> PaymentControls, CONTROL_SETTERS, set_controls;
}
