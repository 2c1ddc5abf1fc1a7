//! What an attendance is paid: the rate card's price, then the partner's own choice (DOMAIN.md
//! §5: a partner may decline payment or ask for less, because payments can affect benefits).

use crate::rate_card::{Pence, RateCard};

/// How a partner wants to be paid, as the People Bank last told payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preference {
    Paid,
    /// At most this much per activity.
    Reduced(Pence),
    /// No involvement payment; expenses only.
    Declined,
}

impl Preference {
    pub fn from_terms(preference: &str, reduced_amount_pence: i64) -> Self {
        match preference {
            "reduced" => Preference::Reduced(Pence(reduced_amount_pence.max(0))),
            "declined" => Preference::Declined,
            _ => Preference::Paid,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Preference::Paid => "paid",
            Preference::Reduced(_) => "reduced",
            Preference::Declined => "declined",
        }
    }
}

/// The attendance being priced.
pub struct Attended<'a> {
    pub kind: &'a str,
    pub level: u32,
    pub minutes: u32,
    /// The opportunity pays expenses only.
    pub expenses_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    pub involvement: Pence,
    /// day, half_day, hour, block, fixed, expenses_only, declined, none.
    pub basis: &'static str,
    /// awaiting_approval, no_payment (nothing to pay) or withdrawn (no attendance after all).
    pub status: &'static str,
    pub description: String,
}

pub fn price(card: &RateCard, preference: &Preference, a: &Attended<'_>) -> Priced {
    if a.minutes == 0 {
        return Priced {
            involvement: Pence(0),
            basis: "none",
            status: "withdrawn",
            description: "Attendance corrected to none: nothing to pay".into(),
        };
    }
    if a.expenses_only {
        return Priced {
            involvement: Pence(0),
            basis: "expenses_only",
            status: "no_payment",
            description: "Expenses only: this opportunity pays no involvement payment".into(),
        };
    }
    let Some(card_price) = card.price(a.kind, a.level, a.minutes) else {
        // Every stored card has a catch-all rule; the built-in one too.
        return Priced {
            involvement: Pence(0),
            basis: "expenses_only",
            status: "no_payment",
            description: "No rule of the rate card applies: expenses only".into(),
        };
    };
    if card_price.amount.0 == 0 {
        return Priced {
            involvement: Pence(0),
            basis: card_price.basis,
            status: "no_payment",
            description: card_price.description,
        };
    }
    let from_card = format!(
        "{}, {}",
        card_price.description,
        card_price.amount.display()
    );
    match preference {
        Preference::Declined => Priced {
            involvement: Pence(0),
            basis: "declined",
            status: "no_payment",
            description: format!("{from_card}: declined, as the partner asked (expenses only)"),
        },
        Preference::Reduced(most) if *most < card_price.amount => Priced {
            involvement: *most,
            basis: card_price.basis,
            status: "awaiting_approval",
            description: format!(
                "{from_card}, reduced to {} as the partner asked",
                most.display()
            ),
        },
        _ => Priced {
            involvement: card_price.amount,
            basis: card_price.basis,
            status: "awaiting_approval",
            description: from_card,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attended(minutes: u32) -> Attended<'static> {
        Attended {
            kind: "mdt_seat",
            level: 4,
            minutes,
            expenses_only: false,
        }
    }

    #[test]
    fn the_card_price_is_paid_unless_the_partner_asked_otherwise() {
        let card = RateCard::default_card();
        let paid = price(&card, &Preference::Paid, &attended(180));
        assert_eq!(
            (paid.involvement, paid.basis, paid.status),
            (Pence(7_500), "half_day", "awaiting_approval")
        );
        let reduced = price(&card, &Preference::Reduced(Pence(5_000)), &attended(180));
        assert_eq!(reduced.involvement, Pence(5_000));
        assert!(reduced.description.contains("reduced to £50.00"));
        // A reduced amount above the card's price pays the card's price.
        let above = price(&card, &Preference::Reduced(Pence(9_000)), &attended(180));
        assert_eq!(above.involvement, Pence(7_500));
        let declined = price(&card, &Preference::Declined, &attended(480));
        assert_eq!(
            (declined.involvement, declined.status),
            (Pence(0), "no_payment")
        );
    }

    #[test]
    fn expenses_only_and_no_attendance_pay_nothing() {
        let card = RateCard::default_card();
        let only = price(
            &card,
            &Preference::Paid,
            &Attended {
                expenses_only: true,
                ..attended(480)
            },
        );
        assert_eq!((only.involvement, only.status), (Pence(0), "no_payment"));
        let none = price(&card, &Preference::Paid, &attended(0));
        assert_eq!(none.status, "withdrawn");
    }
}
