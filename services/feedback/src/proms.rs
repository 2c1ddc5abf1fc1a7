//! Patient-reported outcome measures (DOMAIN.md §4). Item scores only: the wording of MSK-HQ is
//! licensed (Oxford University Innovation) and is not reproduced.
//!
//! - MSK-HQ (Keele/Oxford): 14 items, each 0–4 with 4 the best answer; total 0–56, higher is
//!   better. Change is between paired questionnaires of one episode: its first and its latest.
//!   Published minimal important change estimates vary by cohort (about 5 to 8 points), so the
//!   threshold is a setting.
//! - SURE (Légaré et al. 2010): four yes/no items (Sure of myself, Understand the information,
//!   Risk–benefit ratio, Encouragement), yes = 1; a total below 4 indicates decisional conflict.

use std::collections::BTreeMap;

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

/// One completed questionnaire of an episode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completed {
    pub episode: String,
    pub completed_on: time::Date,
    pub total: u32,
}

/// An episode's first and latest totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub episode: String,
    pub first: u32,
    pub latest: u32,
}

impl Pair {
    pub fn change(&self) -> i64 {
        i64::from(self.latest) - i64::from(self.first)
    }
}

/// The pairs of every episode with at least two questionnaires on different days: the first and
/// the latest by date (ties by the order given, which is the order received).
pub fn pairs(completed: &[Completed]) -> Vec<Pair> {
    let mut by_episode: BTreeMap<&str, Vec<&Completed>> = BTreeMap::new();
    for c in completed {
        by_episode.entry(c.episode.as_str()).or_default().push(c);
    }
    by_episode
        .into_iter()
        .filter_map(|(episode, mut list)| {
            list.sort_by_key(|c| c.completed_on);
            let (first, latest) = (list.first()?, list.last()?);
            (latest.completed_on > first.completed_on).then(|| Pair {
                episode: episode.to_string(),
                first: first.total,
                latest: latest.total,
            })
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSummary {
    pub episodes: usize,
    pub mean_change: Option<f64>,
    /// Share of episodes whose total rose by at least the threshold.
    pub improved: Option<f64>,
    /// Share whose total fell by at least the threshold.
    pub worsened: Option<f64>,
}

pub fn change_summary(pairs: &[Pair], threshold: u32) -> ChangeSummary {
    let n = pairs.len();
    let share = |f: &dyn Fn(&Pair) -> bool| {
        (n > 0).then(|| pairs.iter().filter(|p| f(p)).count() as f64 / n as f64)
    };
    ChangeSummary {
        episodes: n,
        mean_change: (n > 0).then(|| pairs.iter().map(Pair::change).sum::<i64>() as f64 / n as f64),
        improved: share(&|p| p.change() >= i64::from(threshold)),
        worsened: share(&|p| p.change() <= -i64::from(threshold)),
    }
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
    use time::macros::date;

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

    fn done(episode: &str, on: time::Date, total: u32) -> Completed {
        Completed {
            episode: episode.into(),
            completed_on: on,
            total,
        }
    }

    #[test]
    fn change_is_the_latest_less_the_first_of_each_episode() {
        let completed = [
            done("e1", date!(2026 - 09 - 01), 22),
            done("e1", date!(2026 - 11 - 01), 35),
            done("e1", date!(2026 - 10 - 01), 28),
            done("e2", date!(2026 - 09 - 05), 40),
            done("e2", date!(2026 - 11 - 05), 36),
            done("e3", date!(2026 - 09 - 09), 30),
            // Two on one day are not a pair.
            done("e4", date!(2026 - 10 - 10), 20),
            done("e4", date!(2026 - 10 - 10), 30),
        ];
        let pairs = pairs(&completed);
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            (pairs[0].first, pairs[0].latest, pairs[0].change()),
            (22, 35, 13)
        );
        assert_eq!(pairs[1].change(), -4);
        let summary = change_summary(&pairs, 6);
        assert_eq!(summary.episodes, 2);
        assert_eq!(summary.mean_change, Some(4.5));
        assert_eq!(summary.improved, Some(0.5));
        assert_eq!(
            summary.worsened,
            Some(0.0),
            "-4 is within the threshold of 6"
        );
        assert_eq!(change_summary(&pairs, 4).worsened, Some(0.5));
        assert_eq!(change_summary(&[], 6).mean_change, None);
    }
}
