//! Rate cards: how involvement is priced (DOMAIN.md §5). Honoraria, not wages. A trust's card is
//! a list of rules by kind of work and involvement level, with HMRC mileage rates, in force from
//! a date; a claim is priced by the card in force on the activity's date and keeps that price.

use alongside_platform::error::{ServiceError, Violations};
use alongside_proto::payments::v1 as proto;
use serde::{Deserialize, Serialize};
use time::Date;

pub use alongside_platform::money::Pence;

/// How a rule turns minutes into money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A day rate, with a half-day rate up to a number of minutes.
    Day,
    /// Per hour, pro rata to the minute.
    Hour,
    /// Per block of minutes started.
    Block,
    /// One amount per activity, however long.
    Fixed,
    /// No involvement payment: expenses only (DOMAIN.md §3, lower involvement levels).
    ExpensesOnly,
}

impl Basis {
    pub const ALL: [Basis; 5] = [
        Basis::Day,
        Basis::Hour,
        Basis::Block,
        Basis::Fixed,
        Basis::ExpensesOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Day => "day",
            Basis::Hour => "hour",
            Basis::Block => "block",
            Basis::Fixed => "fixed",
            Basis::ExpensesOnly => "expenses_only",
        }
    }

    pub fn parse(value: &str) -> Option<Basis> {
        Basis::ALL.into_iter().find(|b| b.as_str() == value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRule {
    /// Empty: any kind of work.
    pub kind: String,
    /// 0: any involvement level.
    pub level: u32,
    pub basis: Basis,
    /// The day, hourly, block or fixed amount.
    pub amount: i64,
    #[serde(default)]
    pub half_day: i64,
    #[serde(default)]
    pub half_day_max_minutes: u32,
    #[serde(default)]
    pub block_minutes: u32,
}

/// HMRC approved mileage allowance payments, in pence a mile (DOMAIN.md §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MileageRates {
    pub car: i64,
    pub car_after_threshold: i64,
    pub car_threshold_miles: u32,
    pub motorcycle: i64,
    pub bicycle: i64,
    pub passenger: i64,
}

impl MileageRates {
    /// HMRC: 45p a mile for the first 10,000 business miles in a tax year, 25p after; 24p by
    /// motorcycle, 20p by bicycle, 5p a mile for each passenger.
    pub fn hmrc() -> Self {
        Self {
            car: 45,
            car_after_threshold: 25,
            car_threshold_miles: 10_000,
            motorcycle: 24,
            bicycle: 20,
            passenger: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateCard {
    /// Empty for the built-in default.
    pub id: String,
    pub effective_from: Date,
    pub note: String,
    pub rules: Vec<RateRule>,
    pub mileage: MileageRates,
}

/// What a rule makes of an activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    pub amount: Pence,
    /// day, half_day, hour, block, fixed, expenses_only.
    pub basis: &'static str,
    /// In words, for the partner: "Half day (up to 4 hours)".
    pub description: String,
}

impl RateCard {
    /// The card that applies until a trust sets its own: £150 a day and £75 up to 4 hours, as
    /// the source partnership pays in line with NHS England good practice; HMRC mileage.
    pub fn default_card() -> Self {
        Self {
            id: String::new(),
            effective_from: time::macros::date!(2020 - 01 - 01),
            note: "Built-in default: £150 a day, £75 up to 4 hours (NHS England good practice)"
                .into(),
            rules: vec![RateRule {
                kind: String::new(),
                level: 0,
                basis: Basis::Day,
                amount: 15_000,
                half_day: 7_500,
                half_day_max_minutes: 240,
                block_minutes: 0,
            }],
            mileage: MileageRates::hmrc(),
        }
    }

    /// The most specific rule for this kind and level: kind and level, then kind, then level,
    /// then the catch-all every card has.
    pub fn rule_for(&self, kind: &str, level: u32) -> Option<&RateRule> {
        self.rules
            .iter()
            .filter(|r| (r.kind.is_empty() || r.kind == kind) && (r.level == 0 || r.level == level))
            .max_by_key(|r| (!r.kind.is_empty(), r.level != 0))
    }

    pub fn price(&self, kind: &str, level: u32, minutes: u32) -> Option<Price> {
        self.rule_for(kind, level).map(|rule| rule.price(minutes))
    }
}

fn hours(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (h, 0) => format!("{h} hour{}", if h == 1 { "" } else { "s" }),
        (0, m) => format!("{m} minutes"),
        (h, m) => format!("{h} h {m} min"),
    }
}

impl RateRule {
    pub fn price(&self, minutes: u32) -> Price {
        let minutes_i = i64::from(minutes);
        match self.basis {
            Basis::Day if minutes <= self.half_day_max_minutes => Price {
                amount: Pence(self.half_day),
                basis: "half_day",
                description: format!("Half day (up to {})", hours(self.half_day_max_minutes)),
            },
            Basis::Day => Price {
                amount: Pence(self.amount),
                basis: "day",
                description: "Day".into(),
            },
            Basis::Hour => Price {
                // Pro rata to the minute, rounded half up to the penny.
                amount: Pence((self.amount * minutes_i + 30) / 60),
                basis: "hour",
                description: format!(
                    "{} at {} an hour",
                    hours(minutes),
                    Pence(self.amount).display()
                ),
            },
            Basis::Block => {
                let blocks = minutes.div_ceil(self.block_minutes.max(1));
                Price {
                    amount: Pence(self.amount * i64::from(blocks)),
                    basis: "block",
                    description: format!(
                        "{blocks} block{} of {} at {}",
                        if blocks == 1 { "" } else { "s" },
                        hours(self.block_minutes),
                        Pence(self.amount).display()
                    ),
                }
            }
            Basis::Fixed => Price {
                amount: Pence(self.amount),
                basis: "fixed",
                description: "Fixed amount for the activity".into(),
            },
            Basis::ExpensesOnly => Price {
                amount: Pence(0),
                basis: "expenses_only",
                description: "Expenses only: the rate card pays no involvement payment for this"
                    .into(),
            },
        }
    }
}

/// The card in force on `on`: the latest whose effective date is not after it.
pub fn in_force(cards: &[RateCard], on: Date) -> Option<&RateCard> {
    cards
        .iter()
        .filter(|c| c.effective_from <= on)
        .max_by_key(|c| c.effective_from)
}

/// The most a rule may pay: £1,000.
const MAX_AMOUNT: i64 = 100_000;

/// Checks a new card, naming each bad field as `rules[2].amount_pence`.
pub fn from_request(r: &proto::CreateRateCardRequest) -> Result<RateCard, ServiceError> {
    let mut v = Violations::default();
    let effective_from = alongside_platform::parse_date(r.effective_from.trim());
    if effective_from.is_none() {
        v.push("effective_from", alongside_platform::DATE_FORM);
    }
    let note = r.note.trim().to_string();
    v.check(
        note.chars().count() <= 200,
        "note",
        "must be 200 characters or fewer",
    );
    v.check(
        (1..=50).contains(&r.rules.len()),
        "rules",
        "give between 1 and 50 rules",
    );
    let mut rules: Vec<RateRule> = Vec::new();
    for (i, rule) in r.rules.iter().enumerate() {
        let field = |name: &str| format!("rules[{i}].{name}");
        let kind = rule.kind.trim().to_string();
        if !(kind.is_empty() || alongside_proto::ACTIVITY_KINDS.contains(&kind.as_str())) {
            v.push(
                &field("kind"),
                format!(
                    "must be empty (any kind) or one of {}",
                    alongside_proto::ACTIVITY_KINDS.join(", ")
                ),
            );
        }
        if rule.involvement_level > 4 {
            v.push(
                &field("involvement_level"),
                "must be 0 (any level) or 1 to 4",
            );
        }
        let Some(basis) = Basis::parse(rule.basis.trim()) else {
            v.push(
                &field("basis"),
                "must be day, hour, block, fixed or expenses_only",
            );
            continue;
        };
        if basis != Basis::ExpensesOnly && !(1..=MAX_AMOUNT).contains(&rule.amount_pence) {
            v.push(
                &field("amount_pence"),
                "must be between £0.01 and £1,000.00",
            );
        }
        if basis == Basis::Day {
            if !(1..=rule.amount_pence.max(1)).contains(&rule.half_day_pence) {
                v.push(
                    &field("half_day_pence"),
                    "must be more than £0 and no more than the day rate",
                );
            }
            if !(1..1440).contains(&rule.half_day_max_minutes) {
                v.push(
                    &field("half_day_max_minutes"),
                    "must be between 1 and 1439 minutes",
                );
            }
        }
        if basis == Basis::Block && !(15..=1440).contains(&rule.block_minutes) {
            v.push(
                &field("block_minutes"),
                "must be between 15 and 1440 minutes",
            );
        }
        if rules
            .iter()
            .any(|r| r.kind == kind && r.level == rule.involvement_level)
        {
            v.push(
                &field("kind"),
                "another rule has the same kind and level: keep one",
            );
        }
        let keep = |x: i64, applies: bool| if applies { x } else { 0 };
        rules.push(RateRule {
            kind,
            level: rule.involvement_level,
            basis,
            amount: keep(rule.amount_pence, basis != Basis::ExpensesOnly),
            half_day: keep(rule.half_day_pence, basis == Basis::Day),
            half_day_max_minutes: if basis == Basis::Day {
                rule.half_day_max_minutes
            } else {
                0
            },
            block_minutes: if basis == Basis::Block {
                rule.block_minutes
            } else {
                0
            },
        });
    }
    if !r.rules.is_empty() && !rules.iter().any(|r| r.kind.is_empty() && r.level == 0) {
        v.push(
            "rules",
            "include one rule for any kind and any level (kind empty, level 0), so every activity has a price",
        );
    }
    let mileage = match &r.mileage {
        None => MileageRates::hmrc(),
        Some(m) => {
            for (name, pence) in [
                ("car_pence", m.car_pence),
                ("car_after_threshold_pence", m.car_after_threshold_pence),
                ("motorcycle_pence", m.motorcycle_pence),
                ("bicycle_pence", m.bicycle_pence),
                ("passenger_pence", m.passenger_pence),
            ] {
                if !(0..=100).contains(&pence) {
                    v.push(
                        &format!("mileage.{name}"),
                        "must be between 0p and 100p a mile",
                    );
                }
            }
            if m.car_threshold_miles > 100_000 {
                v.push(
                    "mileage.car_threshold_miles",
                    "must be 100,000 miles or fewer",
                );
            }
            MileageRates {
                car: m.car_pence,
                car_after_threshold: m.car_after_threshold_pence,
                car_threshold_miles: m.car_threshold_miles,
                motorcycle: m.motorcycle_pence,
                bicycle: m.bicycle_pence,
                passenger: m.passenger_pence,
            }
        }
    };
    v.finish()?;
    Ok(RateCard {
        id: String::new(),
        effective_from: effective_from.unwrap_or(time::macros::date!(2020 - 01 - 01)),
        note,
        rules,
        mileage,
    })
}

pub fn to_proto(card: &RateCard, today: Date, cards: &[RateCard]) -> proto::RateCard {
    proto::RateCard {
        id: card.id.clone(),
        effective_from: card.effective_from.to_string(),
        note: card.note.clone(),
        rules: card
            .rules
            .iter()
            .map(|r| proto::RateRule {
                kind: r.kind.clone(),
                involvement_level: r.level,
                basis: r.basis.as_str().into(),
                amount_pence: r.amount,
                half_day_pence: r.half_day,
                half_day_max_minutes: r.half_day_max_minutes,
                block_minutes: r.block_minutes,
            })
            .collect(),
        mileage: Some(proto::MileageRates {
            car_pence: card.mileage.car,
            car_after_threshold_pence: card.mileage.car_after_threshold,
            car_threshold_miles: card.mileage.car_threshold_miles,
            motorcycle_pence: card.mileage.motorcycle,
            bicycle_pence: card.mileage.bicycle,
            passenger_pence: card.mileage.passenger,
        }),
        created_by: String::new(),
        created_at: String::new(),
        built_in: card.id.is_empty(),
        in_force: in_force(cards, today).map(|c| &c.id) == Some(&card.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rule(kind: &str, level: u32, basis: Basis, amount: i64) -> RateRule {
        RateRule {
            kind: kind.into(),
            level,
            basis,
            amount,
            half_day: amount / 2,
            half_day_max_minutes: 240,
            block_minutes: 180,
        }
    }

    #[test]
    fn default_card_pays_half_day_up_to_four_hours_and_a_day_beyond() {
        let card = RateCard::default_card();
        let price = |m| {
            let p = card.price("mdt_seat", 4, m).unwrap();
            (p.amount, p.basis)
        };
        assert_eq!(price(1), (Pence(7_500), "half_day"));
        assert_eq!(price(240), (Pence(7_500), "half_day"));
        assert_eq!(price(241), (Pence(15_000), "day"));
        assert_eq!(price(480), (Pence(15_000), "day"));
    }

    #[test]
    fn hours_are_paid_to_the_minute_and_blocks_by_each_one_started() {
        let hourly = rule("", 0, Basis::Hour, 2_000);
        assert_eq!(hourly.price(90).amount, Pence(3_000));
        // £11.50 an hour for 50 minutes is £9.5833…: rounded half up to £9.58.
        assert_eq!(rule("", 0, Basis::Hour, 1_150).price(50).amount, Pence(958));
        let blocks = rule("", 0, Basis::Block, 5_000);
        assert_eq!(blocks.price(180).amount, Pence(5_000));
        assert_eq!(blocks.price(181).amount, Pence(10_000));
        assert_eq!(
            rule("", 0, Basis::Fixed, 2_500).price(600).amount,
            Pence(2_500)
        );
        assert_eq!(
            rule("", 0, Basis::ExpensesOnly, 0).price(600).amount,
            Pence(0)
        );
    }

    #[test]
    fn the_most_specific_rule_applies() {
        let card = RateCard {
            rules: vec![
                rule("", 0, Basis::Day, 15_000),
                rule("", 2, Basis::ExpensesOnly, 0),
                rule("story_video", 0, Basis::Fixed, 5_000),
                rule("story_video", 4, Basis::Fixed, 8_000),
            ],
            ..RateCard::default_card()
        };
        let basis = |kind, level| card.rule_for(kind, level).unwrap().clone();
        assert_eq!(basis("mdt_seat", 4).amount, 15_000);
        assert_eq!(basis("mdt_seat", 2).basis, Basis::ExpensesOnly);
        assert_eq!(basis("story_video", 2).amount, 5_000, "kind beats level");
        assert_eq!(basis("story_video", 4).amount, 8_000);
    }

    #[test]
    fn the_card_in_force_on_the_activity_date_prices_it() {
        let old = RateCard::default_card();
        let new = RateCard {
            id: "rcd_new".into(),
            effective_from: date!(2026 - 04 - 01),
            ..old.clone()
        };
        let cards = [new.clone(), old.clone()];
        assert_eq!(in_force(&cards, date!(2026 - 03 - 31)), Some(&old));
        assert_eq!(in_force(&cards, date!(2026 - 04 - 01)), Some(&new));
        assert_eq!(in_force(&cards, date!(2019 - 12 - 31)), None);
    }

    #[test]
    fn a_card_is_checked_rule_by_rule() {
        let request = proto::CreateRateCardRequest {
            effective_from: "2026-04-01".into(),
            note: String::new(),
            rules: vec![
                proto::RateRule {
                    kind: "mdt_seat".into(),
                    involvement_level: 9,
                    basis: "day".into(),
                    amount_pence: 15_000,
                    half_day_pence: 20_000,
                    half_day_max_minutes: 240,
                    block_minutes: 0,
                },
                proto::RateRule {
                    kind: "party".into(),
                    basis: "hourly".into(),
                    ..Default::default()
                },
            ],
            mileage: None,
        };
        let ServiceError::Invalid(errors) = from_request(&request).unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rules[0].involvement_level",
                "rules[0].half_day_pence",
                "rules[1].kind",
                "rules[1].basis",
                "rules"
            ]
        );
        let good = proto::CreateRateCardRequest {
            rules: vec![proto::RateRule {
                basis: "hour".into(),
                amount_pence: 2_000,
                ..Default::default()
            }],
            ..request
        };
        let card = from_request(&good).unwrap();
        assert_eq!(card.effective_from, date!(2026 - 04 - 01));
        assert_eq!(
            card.mileage,
            MileageRates::hmrc(),
            "HMRC rates unless given"
        );
    }
}
