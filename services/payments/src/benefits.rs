//! Benefits safeguards (DOMAIN.md §5): for a partner who receives benefits, a warning to them and
//! to finance as involvement payments in a week or a tax year approach a benefit's earnings limit.
//! It never blocks a payment and never decides for the partner. Limits change each April, so
//! each has an effective date, and a trust can set its own.

use crate::rate_card::Pence;
use time::{Date, Month};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Week,
    Year,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Year => "year",
        }
    }

    pub fn parse(value: &str) -> Option<Period> {
        match value {
            "week" => Some(Period::Week),
            "year" => Some(Period::Year),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Empty for a built-in default.
    pub id: String,
    pub benefit: String,
    pub label: String,
    pub period: Period,
    pub amount: Pence,
    pub effective_from: Date,
    pub warn_at_percent: u32,
}

/// The defaults of DOMAIN.md §5, for a trust to review. Universal Credit has no permitted-work
/// limit (a work allowance and taper instead) and PIP, DLA and Attendance Allowance are not
/// means-tested, so they have none.
pub fn defaults() -> Vec<Limit> {
    let april_2025 = time::macros::date!(2025 - 04 - 07);
    let limit = |benefit: &str, label: &str, pence: i64| Limit {
        id: String::new(),
        benefit: benefit.into(),
        label: label.into(),
        period: Period::Week,
        amount: Pence(pence),
        effective_from: april_2025,
        warn_at_percent: 80,
    };
    vec![
        limit("esa", "ESA permitted work lower limit", 2_000),
        limit(
            "esa",
            "ESA permitted work higher limit (under 16 hours a week)",
            19_550,
        ),
        limit(
            "carers_allowance",
            "Carer's Allowance earnings limit (after deductions)",
            19_600,
        ),
    ]
}

/// For each benefit and label, the version in force on `on`.
pub fn in_force(limits: &[Limit], on: Date) -> Vec<Limit> {
    let mut chosen: Vec<Limit> = Vec::new();
    for limit in limits.iter().filter(|l| l.effective_from <= on) {
        match chosen
            .iter_mut()
            .find(|c| c.benefit == limit.benefit && c.label == limit.label)
        {
            Some(c) if c.effective_from <= limit.effective_from => *c = limit.clone(),
            Some(_) => {}
            None => chosen.push(limit.clone()),
        }
    }
    chosen
}

/// The Monday of `date`'s week.
pub fn week_start(date: Date) -> Date {
    date - time::Duration::days(i64::from(date.weekday().number_days_from_monday()))
}

/// The first day (6 April) of the tax year `date` falls in.
pub fn tax_year_start(date: Date) -> Date {
    let this_year = Date::from_calendar_date(date.year(), Month::April, 6).unwrap_or(date);
    if date >= this_year {
        this_year
    } else {
        Date::from_calendar_date(date.year() - 1, Month::April, 6).unwrap_or(date)
    }
}

/// The last day (5 April) of the tax year starting in `year`.
pub fn tax_year_end(year: i32) -> Option<Date> {
    Date::from_calendar_date(year + 1, Month::April, 5).ok()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub limit: Limit,
    pub period_start: Date,
    pub counted: Pence,
    /// approaching or over.
    pub level: &'static str,
    pub message: String,
}

/// The warnings for a partner receiving `benefits`, given their involvement payments in the week
/// and the tax year of `on`.
pub fn warnings(
    benefits: &[String],
    limits: &[Limit],
    on: Date,
    week_total: Pence,
    year_total: Pence,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for limit in limits.iter().filter(|l| benefits.contains(&l.benefit)) {
        let (counted, period_start, period_words) = match limit.period {
            Period::Week => (week_total, week_start(on), "the week from"),
            Period::Year => (year_total, tax_year_start(on), "the tax year from"),
        };
        let amount = limit.amount.0;
        if amount <= 0 || counted.0 * 100 < amount * i64::from(limit.warn_at_percent) {
            continue;
        }
        let level = if counted.0 > amount {
            "over"
        } else {
            "approaching"
        };
        let relation = if level == "over" {
            "are over"
        } else {
            "are close to"
        };
        let message = format!(
            "Involvement payments of {} in {period_words} {period_start} {relation} the {} of {} a {}. \
             This is a warning only: the partner decides. They may want advice (for example from \
             Jobcentre Plus or a welfare rights adviser) and can ask to be paid less or expenses only.",
            counted.display(),
            limit.label,
            limit.amount.display(),
            limit.period.as_str()
        );
        out.push(Warning {
            limit: limit.clone(),
            period_start,
            counted,
            level,
            message,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weeks_start_on_monday_and_tax_years_on_6_april() {
        assert_eq!(week_start(date!(2026 - 11 - 22)), date!(2026 - 11 - 16));
        assert_eq!(week_start(date!(2026 - 11 - 16)), date!(2026 - 11 - 16));
        assert_eq!(tax_year_start(date!(2026 - 04 - 05)), date!(2025 - 04 - 06));
        assert_eq!(tax_year_start(date!(2026 - 04 - 06)), date!(2026 - 04 - 06));
        assert_eq!(tax_year_end(2026), Some(date!(2027 - 04 - 05)));
    }

    #[test]
    fn esa_warns_from_80_percent_of_each_limit_and_says_it_is_only_a_warning() {
        let limits = in_force(&defaults(), date!(2026 - 11 - 20));
        let esa = vec!["esa".to_string()];
        // £75 in a week: over the £20 lower limit, under 80% of £195.50 (£156.40).
        let found = warnings(
            &esa,
            &limits,
            date!(2026 - 11 - 20),
            Pence(7_500),
            Pence(7_500),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, "over");
        assert!(found[0].message.contains("warning only"));
        // £160: over the lower limit, approaching the higher one.
        let found = warnings(
            &esa,
            &limits,
            date!(2026 - 11 - 20),
            Pence(16_000),
            Pence(16_000),
        );
        assert_eq!(
            found.iter().map(|w| w.level).collect::<Vec<_>>(),
            ["over", "approaching"]
        );
        // Universal Credit and PIP have no limit; no benefits, no warnings.
        let none = warnings(
            &["universal_credit".to_string(), "pip_dla_aa".to_string()],
            &limits,
            date!(2026 - 11 - 20),
            Pence(50_000),
            Pence(50_000),
        );
        assert!(none.is_empty());
    }

    #[test]
    fn a_trusts_later_limit_replaces_the_default_from_its_date() {
        let mut limits = defaults();
        limits.push(Limit {
            id: "lim_1".into(),
            amount: Pence(20_500),
            effective_from: date!(2026 - 04 - 06),
            ..limits[2].clone()
        });
        let before = in_force(&limits, date!(2026 - 04 - 05));
        let after = in_force(&limits, date!(2026 - 04 - 06));
        let carers = |l: &[Limit]| {
            l.iter()
                .find(|x| x.benefit == "carers_allowance")
                .unwrap()
                .amount
        };
        assert_eq!(carers(&before), Pence(19_600));
        assert_eq!(carers(&after), Pence(20_500));
        assert_eq!(after.len(), 3);
    }
}
