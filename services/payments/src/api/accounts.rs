//! A partner's account (balances, ledger, remittances, warnings), annual statements, the trust's
//! ledger check, benefits warnings and spend reports.

use std::collections::HashMap;

use alongside_events::places::Listed;
use alongside_platform::error::Violations;
use alongside_platform::paging::Page;
use alongside_platform::{audit, Caller, OdsCode, Role, ServiceError};
use alongside_proto::payments::v1::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::claims::date_range;
use super::{sum, PaymentsApi};
use crate::benefits;
use crate::claim;
use crate::ledger;
use crate::rate_card::Pence;
use crate::spend;
use crate::store::{partner, run};

impl PaymentsApi {
    /// The partner `caller` asks about: a partner only themself.
    fn whose(caller: &Caller, asked: &str) -> Result<String, ServiceError> {
        match caller.role {
            Role::Partner if !asked.is_empty() && asked != caller.subject => {
                Err(ServiceError::not_found("partner account", asked))
            }
            Role::Partner => Ok(caller.subject.clone()),
            _ if asked.is_empty() => Err(ServiceError::invalid("partner_id", "is required")),
            _ => Ok(asked.to_string()),
        }
    }

    pub(super) async fn set_route(
        &self,
        caller: &Caller,
        r: SetPaymentRouteRequest,
    ) -> Result<PartnerAccount, ServiceError> {
        let route = r.payment_route.trim();
        if !["bacs", "payroll"].contains(&route) {
            return Err(ServiceError::invalid(
                "payment_route",
                "must be bacs (to their bank account) or payroll (through the trust's payroll)",
            ));
        }
        let known = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::PartnerId.eq(&r.partner_id))
            .one(&self.db)
            .await?;
        if known.is_none() {
            return Err(ServiceError::not_found("partner", &r.partner_id));
        }
        partner::Entity::update_many()
            .col_expr(partner::Column::PaymentRoute, Expr::value(route))
            .filter(partner::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(partner::Column::PartnerId.eq(&r.partner_id))
            .exec(&self.db)
            .await?;
        audit::record(&self.db, caller, "update", "payment_route", &r.partner_id).await?;
        self.account(
            caller,
            GetPartnerAccountRequest {
                partner_id: r.partner_id,
                page: None,
            },
        )
        .await
    }

    pub(super) async fn account(
        &self,
        caller: &Caller,
        r: GetPartnerAccountRequest,
    ) -> Result<PartnerAccount, ServiceError> {
        let partner_id = Self::whose(caller, &r.partner_id)?;
        let page = Page::from_request(r.page.as_ref())?;
        let entries =
            ledger::for_tenant(&caller.tenant).filter(ledger::Column::PartnerId.eq(&partner_id));
        let balances: HashMap<String, i64> = entries
            .clone()
            .select_only()
            .column(ledger::Column::Account)
            .column_as(sum("amount_pence"), "balance")
            .group_by(ledger::Column::Account)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let owed = |account: &str| -balances.get(account).copied().unwrap_or(0);
        let total = entries.clone().count(&self.db).await?;
        let rows = entries
            .order_by_desc(ledger::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        let run_ids: Vec<Option<String>> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::PartnerId.eq(&partner_id))
            .filter(claim::Column::Status.eq("paid"))
            .select_only()
            .column(claim::Column::RunId)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        let runs = run::for_tenant(&caller.tenant)
            .filter(run::Column::Id.is_in(run_ids.into_iter().flatten()))
            .filter(run::Column::Status.eq("confirmed"))
            .order_by_desc(run::Column::Sequence)
            .all(&self.db)
            .await?;
        let terms = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::PartnerId.eq(&partner_id))
            .one(&self.db)
            .await?
            .unwrap_or_else(|| partner::unknown(caller.tenant.as_str(), &partner_id));
        let warnings = self
            .warnings_of(
                &caller.tenant,
                Some(std::slice::from_ref(&partner_id)),
                self.today(),
            )
            .await?;
        audit::record(&self.db, caller, "read", "partner_account", &partner_id).await?;
        Ok(PartnerAccount {
            awaiting_approval_pence: owed(ledger::PARTNER_CLAIMED),
            payable_pence: owed(ledger::PARTNER_PAYABLE),
            paid_pence: owed(ledger::BANK),
            entries: rows.into_iter().map(ledger::to_proto).collect(),
            page: Some(page.info(total)),
            remittances: runs.into_iter().map(Into::into).collect(),
            warnings,
            payment_route: terms.payment_route.clone(),
            payment_preference: terms.preference.clone(),
            reduced_amount_pence: terms.reduced_amount_pence,
            receives_benefits: terms.receives_benefits,
            benefits: partner::benefits(&terms),
            partner_id,
        })
    }

    pub(super) async fn statement(
        &self,
        caller: &Caller,
        r: GetAnnualStatementRequest,
    ) -> Result<AnnualStatement, ServiceError> {
        let partner_id = Self::whose(caller, &r.partner_id)?;
        let year = if r.tax_year == 0 {
            benefits::tax_year_start(self.today()).year() as u32
        } else {
            r.tax_year
        };
        if !(2000..=2100).contains(&year) {
            return Err(ServiceError::invalid(
                "tax_year",
                "give the year the tax year starts in, like 2026",
            ));
        }
        let from = time::Date::from_calendar_date(year as i32, time::Month::April, 6)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let to = benefits::tax_year_end(year as i32)
            .ok_or_else(|| ServiceError::Internal("tax year end".into()))?;
        let after = to + time::Duration::days(1);
        // Paid in the tax year: by the date the money went, as HMRC counts income — a day in
        // England (payment times are kept in UTC; 6 April begins at 23:00 UTC on the 5th).
        let begins = |day: time::Date| {
            alongside_platform::format_rfc3339(alongside_platform::clock::start_of_day_in_england(
                day,
            ))
        };
        let claims = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::PartnerId.eq(&partner_id))
            .filter(claim::Column::Status.eq("paid"))
            .filter(claim::Column::PaidAt.gte(begins(from)))
            .filter(claim::Column::PaidAt.lt(begins(after)))
            .order_by_asc(claim::Column::PaidAt)
            .order_by_asc(claim::Column::ActivityDate)
            .all(&self.db)
            .await?;
        let involvement: i64 = claims.iter().map(|c| c.involvement_pence).sum();
        let expenses: i64 = claims.iter().map(|c| c.expenses_pence).sum();
        let route = super::runs::routes(&self.db, caller, vec![partner_id.clone()]).await?;
        let mut notes = vec![
            "Involvement payments are income for tax purposes (HMRC), even though you are not an employee.".to_string(),
            "Expenses repaid at what they cost you are not income.".to_string(),
        ];
        if route.get(&partner_id).map(String::as_str) == Some("payroll") {
            notes.push("You are paid through the trust's payroll: tax was worked out under your tax code, and your payslips and P60 show it.".into());
        } else if involvement <= 100_000 {
            notes.push("HMRC: trading and certain miscellaneous income of £1,000 or less in a tax year need not be reported (the trading allowance). Check with HMRC if you have other such income.".into());
        } else {
            notes.push("These payments are over £1,000 in the tax year: you may need to report them on a Self Assessment tax return.".into());
        }
        audit::record(
            &self.db,
            caller,
            "read",
            "annual_statement",
            &format!("{partner_id}/{year}"),
        )
        .await?;
        Ok(AnnualStatement {
            partner_id,
            tax_year: year,
            from: from.to_string(),
            to: to.to_string(),
            claims: claims.into_iter().map(Into::into).collect(),
            involvement_pence: involvement,
            expenses_pence: expenses,
            total_pence: involvement + expenses,
            generated_at: self.clock.now_rfc3339(),
            notes,
        })
    }

    pub(super) async fn check_ledger(
        &self,
        caller: &Caller,
        _r: CheckLedgerRequest,
    ) -> Result<LedgerCheck, ServiceError> {
        let entries = ledger::for_tenant(&caller.tenant);
        let unbalanced: Vec<String> = entries
            .clone()
            .select_only()
            .column(ledger::Column::JournalId)
            .group_by(ledger::Column::JournalId)
            .having(Expr::cust("SUM(amount_pence) <> 0"))
            .into_tuple()
            .all(&self.db)
            .await?;
        let journals: i64 = entries
            .clone()
            .select_only()
            .column_as(Expr::cust("COUNT(DISTINCT journal_id)"), "journals")
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or(0);
        let accounts: Vec<(String, i64)> = entries
            .clone()
            .select_only()
            .column(ledger::Column::Account)
            .column_as(sum("amount_pence"), "balance")
            .group_by(ledger::Column::Account)
            .order_by_asc(ledger::Column::Account)
            .into_tuple()
            .all(&self.db)
            .await?;
        let count = entries.count(&self.db).await?;
        let total: i64 = accounts.iter().map(|(_, b)| b).sum();
        Ok(LedgerCheck {
            balanced: unbalanced.is_empty() && total == 0,
            journals: journals.max(0) as u64,
            entries: count,
            unbalanced_journals: unbalanced,
            sum_pence: total,
            accounts: accounts
                .into_iter()
                .map(|(account, balance_pence)| AccountBalance {
                    account,
                    balance_pence,
                })
                .collect(),
        })
    }

    pub(super) async fn warnings(
        &self,
        caller: &Caller,
        r: ListBenefitWarningsRequest,
    ) -> Result<ListBenefitWarningsResponse, ServiceError> {
        // One day's week and tax year; by default each of the last eight weeks, so a week
        // already past that went over a limit is still seen.
        let days: Vec<time::Date> = if r.on.trim().is_empty() {
            (0..8)
                .map(|w| self.today() - time::Duration::weeks(w))
                .collect()
        } else {
            vec![alongside_platform::parse_date(r.on.trim())
                .ok_or_else(|| ServiceError::invalid("on", alongside_platform::DATE_FORM))?]
        };
        let only = match caller.role {
            Role::Partner => Some(vec![caller.subject.clone()]),
            _ if !r.partner_id.is_empty() => Some(vec![r.partner_id.clone()]),
            _ => None,
        };
        let mut warnings: Vec<BenefitWarning> = Vec::new();
        for on in days {
            for w in self
                .warnings_of(&caller.tenant, only.as_deref(), on)
                .await?
            {
                let seen = warnings.iter().any(|k| {
                    (&k.partner_id, &k.limit_label, &k.period_start)
                        == (&w.partner_id, &w.limit_label, &w.period_start)
                });
                if !seen {
                    warnings.push(w);
                }
            }
        }
        audit::record(
            &self.db,
            caller,
            "list",
            "benefit_warning",
            &format!("{} rows", warnings.len()),
        )
        .await?;
        Ok(ListBenefitWarningsResponse { warnings })
    }

    /// Warnings on `on` for the trust's partners who receive benefits (or only `partners`).
    pub(super) async fn warnings_of(
        &self,
        tenant: &OdsCode,
        partners: Option<&[String]>,
        on: time::Date,
    ) -> Result<Vec<BenefitWarning>, ServiceError> {
        let mut flagged =
            partner::for_tenant(tenant).filter(partner::Column::ReceivesBenefits.eq(true));
        if let Some(ids) = partners {
            flagged = flagged.filter(partner::Column::PartnerId.is_in(ids.iter().cloned()));
        }
        let flagged = flagged.all(&self.db).await?;
        if flagged.is_empty() {
            return Ok(Vec::new());
        }
        let limits = benefits::in_force(&self.limits_of(tenant).await?, on);
        let ids: Vec<String> = flagged.iter().map(|p| p.partner_id.clone()).collect();
        let week = benefits::week_start(on);
        let year = benefits::tax_year_start(on);
        let totals = |from: time::Date, to: time::Date| {
            let ids = ids.clone();
            async move {
                claim::for_tenant(tenant)
                    .filter(claim::Column::PartnerId.is_in(ids))
                    .filter(claim::Column::Status.is_in(claim::COUNTED.iter().copied()))
                    .filter(claim::Column::ActivityDate.gte(from.to_string()))
                    .filter(claim::Column::ActivityDate.lte(to.to_string()))
                    .select_only()
                    .column(claim::Column::PartnerId)
                    .column_as(sum("involvement_pence"), "total")
                    .group_by(claim::Column::PartnerId)
                    .into_tuple::<(String, i64)>()
                    .all(&self.db)
                    .await
                    .map(|rows| rows.into_iter().collect::<HashMap<String, i64>>())
            }
        };
        let in_week = totals(week, week + time::Duration::days(6)).await?;
        let year_end = benefits::tax_year_end(year.year()).unwrap_or(on);
        let in_year = totals(year, year_end).await?;
        let mut out = Vec::new();
        for p in &flagged {
            let found = benefits::warnings(
                &partner::benefits(p),
                &limits,
                on,
                Pence(in_week.get(&p.partner_id).copied().unwrap_or(0)),
                Pence(in_year.get(&p.partner_id).copied().unwrap_or(0)),
            );
            out.extend(found.into_iter().map(|w| BenefitWarning {
                partner_id: p.partner_id.clone(),
                benefit: w.limit.benefit.clone(),
                limit_label: w.limit.label.clone(),
                period: w.limit.period.as_str().into(),
                period_start: w.period_start.to_string(),
                limit_pence: w.limit.amount.0,
                counted_pence: w.counted.0,
                level: w.level.into(),
                message: w.message,
            }));
        }
        Ok(out)
    }

    pub(super) async fn spend(
        &self,
        caller: &Caller,
        r: SpendReportRequest,
    ) -> Result<SpendReportResponse, ServiceError> {
        let mut v = Violations::default();
        let group = match r.group_by.as_str() {
            "" | "month" => None,
            name => {
                let at = spend::DIMENSIONS.iter().position(|d| *d == name);
                if at.is_none() {
                    v.push("group_by", "must be month, pathway, kind or cost_centre");
                }
                at
            }
        };
        let class = match r.basis.as_str() {
            "" | "committed" => spend::COMMITTED,
            "paid" => spend::PAID,
            _ => {
                v.push("basis", "must be committed or paid");
                spend::COMMITTED
            }
        };
        let (from, to) = r
            .activity
            .as_ref()
            .map_or((None, None), |range| date_range(&mut v, range));
        let trusts = caller.trusts_asked(&r.trusts, &mut v);
        // Readers of figures, and every user of an ICS, see protected figures over whole
        // months; those who may read the claims themselves see the dates asked for.
        let protected = !trusts.is_empty() || caller.role.reads_figures_only();
        if protected && group.map(|g| spend::DIMENSIONS[g]) == Some("cost_centre") {
            // Cost centres are typed by staff, not kept as reference data: nothing typed
            // becomes a dimension of a published figure.
            v.push(
                "group_by",
                "spend is not broken down by cost centre for readers of figures or an ICS: cost centres are typed, not listed; choose month, pathway or kind",
            );
        }
        v.finish()?;
        let (from, to) = if protected {
            (
                from.map(|d| d.replace_day(1).unwrap_or(d)),
                to.and_then(|d| alongside_platform::last_day_of_month(&d.to_string()[..7])),
            )
        } else {
            (from, to)
        };
        let asked = if trusts.is_empty() {
            vec![caller.tenant.clone()]
        } else {
            trusts.clone()
        };
        let mut by_trust = Vec::new();
        // One number per partner across the trusts asked: a partner paid by two is one person.
        let mut numbers: HashMap<String, u32> = HashMap::new();
        for tenant in &asked {
            let claims = self.spend_claims(tenant, from, to, &mut numbers).await?;
            let mut months: std::collections::BTreeMap<String, spend::Month<spend::Shown>> =
                tokio::task::spawn_blocking(move || {
                    spend::months(&claims)
                        .into_iter()
                        .map(|(m, figures)| (m, spend::shown_month(figures, protected)))
                        .collect()
                })
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            if protected {
                // Pathways were typed by staff: published only under the trust's listed codes,
                // the others together as "".
                let listed = Listed::load(&self.db, tenant, "pathway").await?;
                for month in months.values_mut() {
                    month.by[spend::PATHWAY] =
                        listed.publish(&month.by[spend::PATHWAY], spend::add);
                }
            }
            by_trust.push(spend::over_months(&months, group, class));
        }
        let (rows, total) = if trusts.is_empty() {
            by_trust[0].clone()
        } else {
            spend::over_trusts(&by_trust)
        };
        let rows_of = |rows: &std::collections::BTreeMap<String, spend::Shown>| {
            rows.iter().map(|(k, s)| spend_row(k, s)).collect()
        };
        Ok(SpendReportResponse {
            group_by: if r.group_by.is_empty() {
                "month".into()
            } else {
                r.group_by
            },
            rows: rows_of(&rows),
            total: Some(spend_row("Total", &total)),
            covered: Some(alongside_proto::common::v1::DateRange {
                from: from.map(|d| d.to_string()).unwrap_or_default(),
                to: to.map(|d| d.to_string()).unwrap_or_default(),
            }),
            trusts: trusts
                .iter()
                .zip(&by_trust)
                .map(|(code, (rows, total))| TrustSpend {
                    trust: code.to_string(),
                    rows: rows_of(rows),
                    total: Some(spend_row("Total", total)),
                })
                .collect(),
        })
    }

    /// Each partner's committed claims of `tenant` with activity from `from` to `to`, summed by
    /// month, pathway, kind, cost centre and whether paid; each partner by their number in
    /// `numbers` (given one if new).
    async fn spend_claims(
        &self,
        tenant: &OdsCode,
        from: Option<time::Date>,
        to: Option<time::Date>,
        numbers: &mut HashMap<String, u32>,
    ) -> Result<Vec<spend::Claims>, ServiceError> {
        #[derive(sea_orm::FromQueryResult)]
        struct Summed {
            month: String,
            pathway: String,
            kind: String,
            cost_centre: String,
            paid: i64,
            partner: String,
            claims: i64,
            involvement: i64,
            expenses: i64,
            total: i64,
        }
        let mut query = claim::for_tenant(tenant)
            .filter(claim::Column::Status.is_in(claim::COMMITTED.iter().copied()));
        if let Some(from) = from {
            query = query.filter(claim::Column::ActivityDate.gte(from.to_string()));
        }
        if let Some(to) = to {
            query = query.filter(claim::Column::ActivityDate.lte(to.to_string()));
        }
        let month = "substr(activity_date, 1, 7)";
        let paid = "CAST(CASE WHEN status = 'paid' THEN 1 ELSE 0 END AS BIGINT)";
        let rows = query
            .select_only()
            .column_as(Expr::cust(month), "month")
            .column_as(claim::Column::Pathway, "pathway")
            .column_as(claim::Column::ActivityKind, "kind")
            .column_as(claim::Column::CostCentre, "cost_centre")
            .column_as(Expr::cust(paid), "paid")
            .column_as(claim::Column::PartnerId, "partner")
            .column_as(claim::Column::Id.count(), "claims")
            .column_as(sum("involvement_pence"), "involvement")
            .column_as(sum("expenses_pence"), "expenses")
            .column_as(sum("amount_pence"), "total")
            .group_by(Expr::cust(month))
            .group_by(claim::Column::Pathway)
            .group_by(claim::Column::ActivityKind)
            .group_by(claim::Column::CostCentre)
            .group_by(Expr::cust(paid))
            .group_by(claim::Column::PartnerId)
            .into_model::<Summed>()
            .all(&self.db)
            .await?;
        let key = |k: String| {
            if k.is_empty() {
                "(none)".to_string()
            } else {
                k
            }
        };
        // Partners are only counted: a number each, not their id, is kept and compared.
        Ok(rows
            .into_iter()
            .map(|r| {
                let next = numbers.len() as u32;
                (*numbers.entry(r.partner.clone()).or_insert(next), r)
            })
            .map(|(partner, r)| spend::Claims {
                month: r.month,
                keys: [key(r.pathway), key(r.kind), key(r.cost_centre)],
                paid: r.paid != 0,
                partner,
                claims: r.claims.max(0) as u64,
                involvement_pence: r.involvement,
                expenses_pence: r.expenses,
                total_pence: r.total,
            })
            .collect())
    }
}

/// A figure as a row: a hidden one keeps only its key.
fn spend_row(key: &str, s: &spend::Shown) -> SpendRow {
    if s.hidden {
        return SpendRow {
            key: key.into(),
            suppressed: true,
            ..Default::default()
        };
    }
    SpendRow {
        key: key.into(),
        claim_count: s.figure.claims,
        partner_count: s.figure.partners.len() as u64,
        involvement_pence: s.figure.involvement_pence,
        expenses_pence: s.figure.expenses_pence,
        total_pence: s.figure.total_pence,
        suppressed: false,
    }
}
