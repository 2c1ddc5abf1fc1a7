//! Patient-reported outcome measures (DOMAIN.md §4). Item scores only: the wording of MSK-HQ is
//! licensed (Oxford University Innovation) and is not reproduced.
//!
//! - MSK-HQ (Keele/Oxford): 14 items, each 0–4 with 4 the best answer; total 0–56, higher is
//!   better. Change is between an episode's first questionnaire and each later one (see
//!   `prom_release`).
//!   Published minimal important change estimates vary by cohort (about 5 to 8 points), so the
//!   threshold is a setting.
//! - SURE (Légaré et al. 2010): four yes/no items (Sure of myself, Understand the information,
//!   Risk–benefit ratio, Encouragement), yes = 1; a total below 4 indicates decisional conflict.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrument {
    MskHq,
    Sure,
}

impl Instrument {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "msk_hq" => Some(Instrument::MskHq),
            "sure" => Some(Instrument::Sure),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Instrument::MskHq => "msk_hq",
            Instrument::Sure => "sure",
        }
    }

    /// (number of items, highest item score).
    fn shape(self) -> (usize, u32) {
        match self {
            Instrument::MskHq => (14, 4),
            Instrument::Sure => (4, 1),
        }
    }
}

/// The default minimal important change of MSK-HQ a trust starts from.
pub const MSK_HQ_DEFAULT_THRESHOLD: u32 = 6;

/// The total of a complete questionnaire, or why it cannot be scored.
pub fn total(instrument: Instrument, items: &[u32]) -> Result<u32, String> {
    let (count, highest) = instrument.shape();
    if items.len() != count {
        return Err(format!(
            "{} has {count} items; {} given (every item is needed for a total)",
            instrument.code(),
            items.len()
        ));
    }
    if let Some((i, score)) = items.iter().enumerate().find(|(_, s)| **s > highest) {
        return Err(format!(
            "item {} is {score}; items are scored 0 to {highest}",
            i + 1
        ));
    }
    Ok(items.iter().sum())
}

/// SURE: a total below 4 indicates decisional conflict.
pub fn decisional_conflict(sure_total: u32) -> bool {
    sure_total < 4
}

/// Whether `text` is a valid NHS number (10 digits, modulus 11 check digit, DOMAIN.md §6): PROMs
/// take a pseudonymous episode reference instead, never one of these.
pub fn is_nhs_number(text: &str) -> bool {
    let digits: Vec<u32> = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<u32>>>()
        .unwrap_or_default();
    if digits.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    match 11 - sum % 11 {
        11 => digits[9] == 0,
        10 => false,
        check => digits[9] == check,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msk_hq_totals_fourteen_items_of_0_to_4() {
        assert_eq!(total(Instrument::MskHq, &[4; 14]), Ok(56));
        assert_eq!(total(Instrument::MskHq, &[0; 14]), Ok(0));
        assert_eq!(
            total(
                Instrument::MskHq,
                &[2, 3, 1, 4, 0, 2, 2, 3, 1, 2, 4, 3, 2, 1]
            ),
            Ok(30)
        );
        assert!(total(Instrument::MskHq, &[4; 13])
            .unwrap_err()
            .contains("14 items; 13 given"));
        assert!(total(Instrument::MskHq, &[5; 14])
            .unwrap_err()
            .contains("item 1 is 5"));
    }

    #[test]
    fn nhs_numbers_are_recognised_by_their_check_digit() {
        // 943 476 5919 is NHS Digital's example of a valid number.
        assert!(is_nhs_number("943 476 5919"));
        assert!(is_nhs_number("9434765919"));
        assert!(!is_nhs_number("9434765918"), "a wrong check digit");
        assert!(!is_nhs_number("EP-2026-0001"));
        assert!(!is_nhs_number("12345"));
    }

    #[test]
    fn sure_below_four_is_decisional_conflict() {
        assert_eq!(total(Instrument::Sure, &[1, 1, 1, 1]), Ok(4));
        assert!(!decisional_conflict(4));
        assert_eq!(total(Instrument::Sure, &[1, 0, 1, 1]), Ok(3));
        assert!(decisional_conflict(3));
        assert!(
            total(Instrument::Sure, &[1, 2, 1, 1]).is_err(),
            "yes or no only"
        );
    }
}
