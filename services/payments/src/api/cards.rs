//! Rate cards and benefits limits: a trust's own, versioned by date, beside the built-in defaults.

use alongside_platform::error::Violations;
use alongside_platform::ids::{self, BENEFIT_LIMIT, RATE_CARD};
use alongside_platform::{audit, Caller, OdsCode, ServiceError};
use alongside_proto::payments::v1::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::PaymentsApi;
use crate::benefits::{self, Limit, Period};
use crate::rate_card::{self, Pence};
use crate::store::{benefit_limit, rate_card as stored_card};

impl PaymentsApi {
    pub(super) async fn rate_cards(
        &self,
        caller: &Caller,
        _r: ListRateCardsRequest,
    ) -> Result<ListRateCardsResponse, ServiceError> {
        let cards = stored_card::cards_of(&self.db, &caller.tenant).await?;
        let rows = stored_card::for_tenant(&caller.tenant)
            .all(&self.db)
            .await?;
        let today = self.today();
        let mut listed: Vec<RateCard> = cards
            .iter()
            .map(|card| {
                let mut shown = rate_card::to_proto(card, today, &cards);
                if let Some(row) = rows.iter().find(|r| r.id == card.id) {
                    shown.created_by = row.created_by.clone();
                    shown.created_at = row.created_at.clone();
                }
                shown
            })
            .collect();
        listed.sort_by(|a, b| {
            b.built_in
                .cmp(&a.built_in)
                .reverse()
                .then(b.effective_from.cmp(&a.effective_from))
        });
        Ok(ListRateCardsResponse { cards: listed })
    }

    pub(super) async fn create_rate_card(
        &self,
        caller: &Caller,
        r: CreateRateCardRequest,
    ) -> Result<RateCard, ServiceError> {
        let card = rate_card::from_request(&r)?;
        let clash = stored_card::for_tenant(&caller.tenant)
            .filter(stored_card::Column::EffectiveFrom.eq(card.effective_from.to_string()))
            .one(&self.db)
            .await?;
        if clash.is_some() {
            return Err(ServiceError::invalid(
                "effective_from",
                "a card already comes into force on that date: choose another date",
            ));
        }
        let id = ids::new_id(RATE_CARD);
        let row = stored_card::Model {
            id: id.clone(),
            tenant_id: caller.tenant.to_string(),
            effective_from: card.effective_from.to_string(),
            note: card.note.clone(),
            rules: serde_json::to_string(&card.rules)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            mileage: serde_json::to_string(&card.mileage)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            created_by: caller.subject.clone(),
            created_at: self.clock.now_rfc3339(),
        };
        stored_card::Entity::insert(sea_orm::ActiveModelTrait::reset_all(
            sea_orm::IntoActiveModel::into_active_model(row.clone()),
        ))
        .exec_without_returning(&self.db)
        .await?;
        audit::record(&self.db, caller, "create", "rate_card", &id).await?;
        tracing::info!(card = %id, effective_from = %row.effective_from, "rate card created");
        let cards = stored_card::cards_of(&self.db, &caller.tenant).await?;
        let mut shown =
            rate_card::to_proto(&rate_card::RateCard { id, ..card }, self.today(), &cards);
        shown.created_by = row.created_by;
        shown.created_at = row.created_at;
        Ok(shown)
    }

    /// The defaults and the trust's own limits, every version.
    pub(super) async fn limits_of(&self, tenant: &OdsCode) -> Result<Vec<Limit>, ServiceError> {
        let mut limits = benefits::defaults();
        let stored = benefit_limit::for_tenant(tenant)
            .order_by_asc(benefit_limit::Column::EffectiveFrom)
            .all(&self.db)
            .await?;
        limits.extend(stored.into_iter().filter_map(|m| {
            Some(Limit {
                id: m.id,
                benefit: m.benefit,
                label: m.label,
                period: Period::parse(&m.period)?,
                amount: Pence(m.amount_pence),
                effective_from: alongside_platform::parse_date(&m.effective_from)?,
                warn_at_percent: m.warn_at_percent.max(1) as u32,
            })
        }));
        Ok(limits)
    }

    pub(super) async fn benefit_limits(
        &self,
        caller: &Caller,
        _r: ListBenefitLimitsRequest,
    ) -> Result<ListBenefitLimitsResponse, ServiceError> {
        let all = self.limits_of(&caller.tenant).await?;
        let shown = |l: &Limit| BenefitLimit {
            id: l.id.clone(),
            benefit: l.benefit.clone(),
            label: l.label.clone(),
            period: l.period.as_str().into(),
            amount_pence: l.amount.0,
            effective_from: l.effective_from.to_string(),
            warn_at_percent: l.warn_at_percent,
            built_in: l.id.is_empty(),
            created_by: String::new(),
        };
        Ok(ListBenefitLimitsResponse {
            in_force: benefits::in_force(&all, self.today())
                .iter()
                .map(shown)
                .collect(),
            all: all.iter().rev().map(shown).collect(),
        })
    }

    pub(super) async fn set_benefit_limit(
        &self,
        caller: &Caller,
        r: SetBenefitLimitRequest,
    ) -> Result<ListBenefitLimitsResponse, ServiceError> {
        let mut v = Violations::default();
        let benefit = r.benefit.trim();
        v.check(
            alongside_proto::BENEFITS
                .iter()
                .any(|(code, _)| *code == benefit),
            "benefit",
            "must be one of esa, carers_allowance, universal_credit, pip_dla_aa, other",
        );
        let label = r.label.trim();
        v.check(
            (1..=120).contains(&label.chars().count()),
            "label",
            "give the limit a name of up to 120 characters",
        );
        let period = Period::parse(r.period.trim());
        v.check(period.is_some(), "period", "must be week or year");
        v.check(
            (1..=10_000_000).contains(&r.amount_pence),
            "amount_pence",
            "must be between £0.01 and £100,000",
        );
        let effective_from = alongside_platform::parse_date(r.effective_from.trim());
        v.check(
            effective_from.is_some(),
            "effective_from",
            alongside_platform::DATE_FORM,
        );
        let warn = if r.warn_at_percent == 0 {
            80
        } else {
            r.warn_at_percent
        };
        v.check(
            (1..=100).contains(&warn),
            "warn_at_percent",
            "must be between 1 and 100",
        );
        v.finish()?;
        let id = ids::new_id(BENEFIT_LIMIT);
        benefit_limit::Entity::insert(sea_orm::ActiveModelTrait::reset_all(
            sea_orm::IntoActiveModel::into_active_model(benefit_limit::Model {
                id: id.clone(),
                tenant_id: caller.tenant.to_string(),
                benefit: benefit.to_string(),
                label: label.to_string(),
                period: period.map_or("week", Period::as_str).to_string(),
                amount_pence: r.amount_pence,
                effective_from: effective_from.map(|d| d.to_string()).unwrap_or_default(),
                warn_at_percent: warn as i32,
                created_by: caller.subject.clone(),
                created_at: self.clock.now_rfc3339(),
            }),
        ))
        .exec_without_returning(&self.db)
        .await?;
        audit::record(&self.db, caller, "create", "benefit_limit", &id).await?;
        self.benefit_limits(caller, ListBenefitLimitsRequest {})
            .await
    }
}
