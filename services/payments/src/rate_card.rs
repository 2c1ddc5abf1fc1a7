//! Rate cards: how involvement is priced. Honoraria, not wages (DOMAIN.md §5).

use time::Date;

pub use alongside_platform::money::Pence;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    Day,
    HalfDay,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Day => "day",
            Basis::HalfDay => "half_day",
        }
    }
}

/// A card in force from `effective_from`: a day rate, and a half-day rate for sessions up to
/// `half_day_max_minutes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateCard {
    pub effective_from: Date,
    pub day: Pence,
    pub half_day: Pence,
    pub half_day_max_minutes: u32,
}

impl RateCard {
    /// The card that applies until a tenant sets its own: £150 a day and £75 up to 4 hours, as
    /// the source partnership pays in line with NHS England good practice.
    pub fn default_card() -> Self {
        Self {
            effective_from: time::macros::date!(2020 - 01 - 01),
            day: Pence(15_000),
            half_day: Pence(7_500),
            half_day_max_minutes: 240,
        }
    }

    pub fn price(&self, minutes: u32) -> (Pence, Basis) {
        if minutes <= self.half_day_max_minutes {
            (self.half_day, Basis::HalfDay)
        } else {
            (self.day, Basis::Day)
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn default_card_pays_half_day_up_to_four_hours_and_a_day_beyond() {
        let card = RateCard::default_card();
        assert_eq!(card.price(1), (Pence(7_500), Basis::HalfDay));
        assert_eq!(card.price(240), (Pence(7_500), Basis::HalfDay));
        assert_eq!(card.price(241), (Pence(15_000), Basis::Day));
        assert_eq!(card.price(480), (Pence(15_000), Basis::Day));
    }

    #[test]
    fn the_card_in_force_on_the_activity_date_prices_it() {
        let old = RateCard::default_card();
        let new = RateCard {
            effective_from: date!(2026 - 04 - 01),
            day: Pence(16_000),
            ..old.clone()
        };
        let cards = [new.clone(), old.clone()];
        assert_eq!(in_force(&cards, date!(2026 - 03 - 31)), Some(&old));
        assert_eq!(in_force(&cards, date!(2026 - 04 - 01)), Some(&new));
        assert_eq!(in_force(&cards, date!(2019 - 12 - 31)), None);
    }
}
