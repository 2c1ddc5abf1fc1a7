//! The Friends and Family Test (NHS England). Question since 1 April 2020: "Overall, how was
//! your experience of our service?", with six answers.

use alongside_proto::feedback::v1::FftAnswer;

/// Counts of the six answers for one unit and period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub very_good: u64,
    pub good: u64,
    pub neither: u64,
    pub poor: u64,
    pub very_poor: u64,
    pub dont_know: u64,
}

impl Counts {
    /// The counts whose answer `k` (very good, good, neither, poor, very poor, don't know) is `part(k)`.
    pub fn from_parts(part: impl Fn(usize) -> u64) -> Self {
        Self {
            very_good: part(0),
            good: part(1),
            neither: part(2),
            poor: part(3),
            very_poor: part(4),
            dont_know: part(5),
        }
    }

    pub fn add(&mut self, answer: FftAnswer, n: u64) {
        match answer {
            FftAnswer::VeryGood => self.very_good += n,
            FftAnswer::Good => self.good += n,
            FftAnswer::Neither => self.neither += n,
            FftAnswer::Poor => self.poor += n,
            FftAnswer::VeryPoor => self.very_poor += n,
            FftAnswer::DontKnow => self.dont_know += n,
            FftAnswer::Unspecified => {}
        }
    }

    /// Adds another unit's or period's counts.
    pub fn merge(&mut self, other: &Counts) {
        self.very_good += other.very_good;
        self.good += other.good;
        self.neither += other.neither;
        self.poor += other.poor;
        self.very_poor += other.very_poor;
        self.dont_know += other.dont_know;
    }

    /// Every response, "Don't know" and "Neither" included.
    pub fn total(&self) -> u64 {
        self.very_good + self.good + self.neither + self.poor + self.very_poor + self.dont_know
    }

    /// (Very good + Good) / all responses × 100; none when there are no responses.
    /// NHS England FFT: "Don't know" and "Neither" are in the denominator.
    pub fn percent_positive(&self) -> Option<f64> {
        percentage(self.very_good + self.good, self.total())
    }

    /// (Poor + Very poor) / all responses × 100; none when there are no responses.
    pub fn percent_negative(&self) -> Option<f64> {
        percentage(self.poor + self.very_poor, self.total())
    }
}

/// The Wilson score interval at 95% for `part` of `total`, as fractions; none without responses.
/// Unlike the normal approximation it stays within 0–1 and is sound for small numbers.
pub fn wilson_95(part: u64, total: u64) -> Option<(f64, f64)> {
    if total == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = total as f64;
    let p = part as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

fn percentage(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| part as f64 * 100.0 / total as f64)
}

/// The stored name of an answer (stable; used in the database and in CSV).
pub fn answer_code(answer: FftAnswer) -> &'static str {
    answer.code()
}

pub fn answer_from_code(code: &str) -> FftAnswer {
    FftAnswer::from_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dont_know_and_neither_count_in_the_denominator() {
        let c = Counts {
            very_good: 5,
            good: 3,
            neither: 1,
            poor: 0,
            very_poor: 0,
            dont_know: 1,
        };
        assert_eq!(c.total(), 10);
        assert_eq!(c.percent_positive(), Some(80.0));
        assert_eq!(c.percent_negative(), Some(0.0));
    }

    #[test]
    fn negative_is_poor_plus_very_poor() {
        let c = Counts {
            very_good: 1,
            good: 0,
            neither: 0,
            poor: 1,
            very_poor: 2,
            dont_know: 0,
        };
        assert_eq!(c.percent_negative(), Some(75.0));
        assert_eq!(c.percent_positive(), Some(25.0));
    }

    #[test]
    fn wilson_intervals_of_a_worked_example_and_the_edges() {
        // 8 of 10: 0.490 to 0.943 (Wilson 1927; e.g. Newcombe 1998, table I method 3).
        let (low, high) = wilson_95(8, 10).unwrap();
        assert!(
            (low - 0.4902).abs() < 1e-4 && (high - 0.9433).abs() < 1e-4,
            "{low} {high}"
        );
        let (low, high) = wilson_95(0, 20).unwrap();
        assert_eq!(low, 0.0);
        assert!((high - 0.1611).abs() < 1e-4, "{high}");
        let (_, high) = wilson_95(20, 20).unwrap();
        assert_eq!(high, 1.0);
        assert_eq!(wilson_95(0, 0), None);
    }

    #[test]
    fn no_percentage_without_responses() {
        let c = Counts::default();
        assert_eq!(c.percent_positive(), None);
        assert_eq!(c.percent_negative(), None);
    }

    #[test]
    fn answers_are_read_as_codes_wording_or_numbers() {
        assert_eq!(FftAnswer::parse("Don't know"), Some(FftAnswer::DontKnow));
        assert_eq!(FftAnswer::parse("don’t KNOW"), Some(FftAnswer::DontKnow));
        assert_eq!(FftAnswer::parse("very_poor"), Some(FftAnswer::VeryPoor));
        assert_eq!(FftAnswer::parse("2"), Some(FftAnswer::Good));
        assert_eq!(FftAnswer::parse("7"), None);
        assert_eq!(FftAnswer::parse("excellent"), None);
    }

    #[test]
    fn answer_codes_round_trip() {
        for a in [
            FftAnswer::VeryGood,
            FftAnswer::Good,
            FftAnswer::Neither,
            FftAnswer::Poor,
            FftAnswer::VeryPoor,
            FftAnswer::DontKnow,
        ] {
            assert_eq!(answer_from_code(answer_code(a)), a);
        }
    }
}
