//! Everything held about one partner, gathered from every service for their right of access
//! (UK GDPR art. 15): the People Bank's record, engagement's offers, attendance, notes and
//! preferences, payments' claims and account, and the gateway's own sign-in. A service that does
//! not answer fails the whole export: an incomplete copy would mislead.

use alongside_proto::engagement::v1 as engagement;
use alongside_proto::payments::v1 as payments;
use alongside_proto::people::v1 as people;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::payments_api::{ClaimBody, PaymentRunBody, WarningBody};
use crate::session::SignedIn;
use crate::store::{session, user};
use crate::AppState;

/// What every service holds about one partner.
pub struct Held {
    pub people: people::PartnerDataExport,
    pub engagement: engagement::PartnerEngagementData,
    pub claims: Vec<payments::Claim>,
    pub account: payments::PartnerAccount,
    pub sign_in: Vec<(user::Model, u64)>,
}

/// Gathers it, asking the services at once.
pub async fn gather(state: &AppState, me: &SignedIn, id: String) -> Result<Held, AppError> {
    let people = async {
        Ok::<_, AppError>(
            state
                .clients
                .people()
                .export_partner_data(state.clients.request(
                    &me.caller,
                    people::ExportPartnerDataRequest { id: id.clone() },
                ))
                .await?
                .into_inner(),
        )
    };
    let engagement = async {
        Ok::<_, AppError>(
            state
                .clients
                .engagement()
                .export_partner_data(state.clients.request(
                    &me.caller,
                    engagement::ExportPartnerDataRequest {
                        partner_id: id.clone(),
                    },
                ))
                .await?
                .into_inner(),
        )
    };
    let claims = crate::pages::every_page(|page| {
        let request = payments::ListClaimsRequest {
            page,
            partner_id: id.clone(),
            ..Default::default()
        };
        async move {
            let listed = state
                .clients
                .payments()
                .list_claims(state.clients.request(&me.caller, request))
                .await?
                .into_inner();
            Ok((listed.claims, listed.page.map(|p| p.total).unwrap_or(0)))
        }
    });
    let account = async {
        Ok::<_, AppError>(
            state
                .clients
                .payments()
                .get_partner_account(state.clients.request(
                    &me.caller,
                    payments::GetPartnerAccountRequest {
                        partner_id: id.clone(),
                        page: None,
                    },
                ))
                .await?
                .into_inner(),
        )
    };
    // People answers first: whether the partner is there and the caller may see them decides
    // the answer (404 for anyone else's id), whichever of the others would refuse sooner.
    let people = people.await?;
    let (engagement, claims, account) = tokio::try_join!(engagement, claims, account)?;
    Ok(Held {
        people,
        engagement,
        claims,
        account,
        sign_in: sign_in_of(state, me, &id).await?,
    })
}

/// The partner's sign-in accounts here, each with how many sessions are open.
async fn sign_in_of(
    state: &AppState,
    me: &SignedIn,
    id: &str,
) -> Result<Vec<(user::Model, u64)>, AppError> {
    let accounts = user::Entity::find()
        .filter(user::Column::TenantId.eq(me.caller.tenant.as_str()))
        .filter(user::Column::PartnerId.eq(id))
        .all(&state.db)
        .await?;
    let mut out = Vec::with_capacity(accounts.len());
    for account in accounts {
        let open = sea_orm::PaginatorTrait::count(
            session::Entity::find().filter(session::Column::UserId.eq(&account.id)),
            &state.db,
        )
        .await?;
        out.push((account, open));
    }
    Ok(out)
}

/// The partner's sign-in (never the password's hash).
#[derive(Serialize, ToSchema)]
pub struct SignInAccountBody {
    pub email: String,
    pub display_name: String,
    pub created_at: String,
    /// Sessions signed in now.
    pub open_sessions: u64,
}

#[derive(Serialize, ToSchema)]
pub struct HeldOpportunityBody {
    pub opportunity_id: String,
    pub title: String,
    pub kind: String,
    pub starts_on: String,
    /// offered, accepted or declined.
    pub status: String,
    pub decline_reason: String,
    /// Minutes recorded, session by session: (date, minutes).
    pub attendance: Vec<(String, u32)>,
}

#[derive(Serialize, ToSchema)]
pub struct HeldInterestBody {
    pub opportunity_id: String,
    pub title: String,
    pub note: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct HeldForumBody {
    pub forum: String,
    pub role: String,
    pub joined_on: String,
}

#[derive(Serialize, ToSchema)]
pub struct HeldCancellationBody {
    pub opportunity_id: String,
    pub reason: String,
    pub cancelled_at: String,
}

/// What engagement holds.
#[derive(Serialize, ToSchema)]
pub struct EngagementDataBody {
    pub opportunities: Vec<HeldOpportunityBody>,
    pub interest: Vec<HeldInterestBody>,
    /// Kinds of work liked, days available, pathways with a conflict of interest.
    pub kinds: Vec<String>,
    pub days: Vec<String>,
    pub conflicts: Vec<String>,
    pub forums: Vec<HeldForumBody>,
    pub cancellations: Vec<HeldCancellationBody>,
}

/// What payments holds.
#[derive(Serialize, ToSchema)]
pub struct PaymentsDataBody {
    pub claims: Vec<ClaimBody>,
    /// bacs or payroll.
    pub payment_route: String,
    pub awaiting_approval_pence: i64,
    pub payable_pence: i64,
    pub paid_pence: i64,
    pub remittances: Vec<PaymentRunBody>,
    pub warnings: Vec<WarningBody>,
}

impl From<engagement::PartnerEngagementData> for EngagementDataBody {
    fn from(e: engagement::PartnerEngagementData) -> Self {
        let preferences = e.preferences.unwrap_or_default();
        Self {
            opportunities: e
                .opportunities
                .into_iter()
                .map(|p| {
                    let o = p.opportunity.unwrap_or_default();
                    let a = p.assignment.unwrap_or_default();
                    HeldOpportunityBody {
                        opportunity_id: a.opportunity_id,
                        title: o.title,
                        kind: o.kind,
                        starts_on: o.starts_on,
                        status: a.status,
                        decline_reason: a.decline_reason,
                        attendance: a
                            .attendances
                            .into_iter()
                            .map(|t| (t.activity_date, t.minutes))
                            .collect(),
                    }
                })
                .collect(),
            interest: e
                .interest
                .into_iter()
                .map(|i| HeldInterestBody {
                    opportunity_id: i.opportunity_id,
                    title: i.opportunity_title,
                    note: i.note,
                    created_at: i.created_at,
                })
                .collect(),
            kinds: preferences.kinds,
            days: preferences.days,
            conflicts: preferences.conflicts,
            forums: e
                .forums
                .into_iter()
                .map(|f| {
                    let m = f.membership.unwrap_or_default();
                    HeldForumBody {
                        forum: f.forum_name,
                        role: m.role,
                        joined_on: m.joined_on,
                    }
                })
                .collect(),
            cancellations: e
                .cancellations
                .into_iter()
                .map(|c| HeldCancellationBody {
                    opportunity_id: c.opportunity_id,
                    reason: c.reason,
                    cancelled_at: c.cancelled_at,
                })
                .collect(),
        }
    }
}

impl PaymentsDataBody {
    pub fn new(claims: Vec<payments::Claim>, a: payments::PartnerAccount) -> Self {
        Self {
            claims: claims.into_iter().map(Into::into).collect(),
            payment_route: a.payment_route,
            awaiting_approval_pence: a.awaiting_approval_pence,
            payable_pence: a.payable_pence,
            paid_pence: a.paid_pence,
            remittances: a.remittances.into_iter().map(Into::into).collect(),
            warnings: a.warnings.into_iter().map(Into::into).collect(),
        }
    }
}

pub fn sign_in_bodies(accounts: Vec<(user::Model, u64)>) -> Vec<SignInAccountBody> {
    accounts
        .into_iter()
        .map(|(u, open)| SignInAccountBody {
            email: u.email,
            display_name: u.display_name,
            created_at: u.created_at,
            open_sessions: open,
        })
        .collect()
}
