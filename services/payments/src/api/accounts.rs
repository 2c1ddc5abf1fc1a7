//! A partner's account (balances, ledger, remittances, warnings), annual statements, the trust's
//! ledger check, benefits warnings and spend reports.

use std::collections::HashMap;

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
        // Paid in the tax year: by the date the money went, as HMRC counts income.
        let claims = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::PartnerId.eq(&partner_id))
            .filter(claim::Column::Status.eq("paid"))
            .filter(claim::Column::PaidAt.gte(from.to_string()))
            .filter(claim::Column::PaidAt.lt(after.to_string()))
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
            "" | "month" => "substr(activity_date, 1, 7)",
            "pathway" => "pathway",
            "kind" => "activity_kind",
            "cost_centre" => "cost_centre",
            _ => {
                v.push("group_by", "must be month, pathway, kind or cost_centre");
                "pathway"
            }
        };
        let statuses: &[&str] = match r.basis.as_str() {
            "" | "committed" => claim::COMMITTED,
            "paid" => &["paid"],
            _ => {
                v.push("basis", "must be committed or paid");
                claim::COMMITTED
            }
        };
        let (from, to) = r
            .activity
            .as_ref()
            .map_or((None, None), |range| date_range(&mut v, range));
        v.finish()?;
        let mut query = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::Status.is_in(statuses.iter().copied()));
        if let Some(from) = from {
            query = query.filter(claim::Column::ActivityDate.gte(from.to_string()));
        }
        if let Some(to) = to {
            query = query.filter(claim::Column::ActivityDate.lte(to.to_string()));
        }
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = query
            .clone()
            .select_only()
            .column_as(Expr::cust(group), "key")
            .column_as(claim::Column::Id.count(), "claims")
            .column_as(Expr::cust("COUNT(DISTINCT partner_id)"), "partners")
            .column_as(sum("involvement_pence"), "involvement")
            .column_as(sum("expenses_pence"), "expenses")
            .column_as(sum("amount_pence"), "total")
            .group_by(Expr::cust(group))
            .order_by_asc(Expr::cust(group))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut out: Vec<SpendRow> = rows
            .into_iter()
            .map(
                |(key, claims, partners, involvement, expenses, total)| SpendRow {
                    key: if key.is_empty() { "(none)".into() } else { key },
                    claim_count: claims.max(0) as u64,
                    partner_count: partners.max(0) as u64,
                    involvement_pence: involvement,
                    expenses_pence: expenses,
                    total_pence: total,
                    suppressed: false,
                },
            )
            .collect();
        let partners: i64 = query
            .clone()
            .select_only()
            .column_as(Expr::cust("COUNT(DISTINCT partner_id)"), "partners")
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or(0);
        let mut total = SpendRow {
            key: "Total".into(),
            claim_count: out.iter().map(|r| r.claim_count).sum(),
            partner_count: partners.max(0) as u64,
            involvement_pence: out.iter().map(|r| r.involvement_pence).sum(),
            expenses_pence: out.iter().map(|r| r.expenses_pence).sum(),
            total_pence: out.iter().map(|r| r.total_pence).sum(),
            suppressed: false,
        };
        if matches!(caller.role, Role::Analyst | Role::IcsAnalyst) {
            suppress(&mut out);
            // The total of 1 to 4 partners is one of them's payments, near enough.
            if (1..=4).contains(&total.partner_count) {
                total = SpendRow {
                    key: total.key,
                    suppressed: true,
                    ..Default::default()
                };
            }
        }
        Ok(SpendReportResponse {
            group_by: if r.group_by.is_empty() {
                "month".into()
            } else {
                r.group_by
            },
            rows: out,
            total: Some(total),
        })
    }
}

/// Hides rows of 1 to 4 partners, and when that hides exactly one row, the next smallest too, so
/// that no hidden row is the total less the rest.
pub fn suppress(rows: &mut [SpendRow]) {
    let small = |r: &SpendRow| (1..=4).contains(&r.partner_count);
    let hidden = rows.iter().filter(|r| small(r)).count();
    let mut extra = None;
    if hidden == 1 {
        extra = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !small(r))
            .min_by_key(|(_, r)| (r.total_pence, r.key.clone()))
            .map(|(i, _)| i);
    }
    for (i, row) in rows.iter_mut().enumerate() {
        if small(row) || Some(i) == extra {
            *row = SpendRow {
                key: row.key.clone(),
                suppressed: true,
                ..Default::default()
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, partners: u64, total: i64) -> SpendRow {
        SpendRow {
            key: key.into(),
            partner_count: partners,
            claim_count: partners,
            total_pence: total,
            involvement_pence: total,
            ..Default::default()
        }
    }

    #[test]
    fn a_lone_small_row_takes_the_next_smallest_with_it() {
        let mut rows = vec![
            row("pain", 12, 90_000),
            row("spinal", 2, 15_000),
            row("rheumatology", 7, 60_000),
        ];
        suppress(&mut rows);
        let hidden: Vec<&str> = rows
            .iter()
            .filter(|r| r.suppressed)
            .map(|r| r.key.as_str())
            .collect();
        assert_eq!(hidden, ["spinal", "rheumatology"]);
        assert!(rows
            .iter()
            .filter(|r| r.suppressed)
            .all(|r| r.total_pence == 0 && r.partner_count == 0));
    }

    #[test]
    fn two_small_rows_hide_only_themselves_and_large_rows_show() {
        let mut rows = vec![row("a", 3, 1), row("b", 1, 2), row("c", 5, 3)];
        suppress(&mut rows);
        assert_eq!(rows.iter().filter(|r| r.suppressed).count(), 2);
        assert!(!rows[2].suppressed);
        let mut big = vec![row("a", 5, 1), row("b", 30, 2)];
        suppress(&mut big);
        assert!(big.iter().all(|r| !r.suppressed));
    }
}
