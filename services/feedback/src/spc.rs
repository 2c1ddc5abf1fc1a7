//! Statistical process control: NHS England's "Making Data Count" XmR chart, with the defaults of
//! NHSRplotthedots' `ptd_spc` (DOMAIN.md §4): limits at the mean ± 2.66 × the mean moving range,
//! moving ranges of 3.267 × their mean or more screened out, the "two-sigma" lines at two thirds
//! of that distance; special causes tested in its order (outside the limits, a trend, two of
//! three beyond two sigma, a shift), each group of points between rebases on its own, and the
//! limits optionally fixed after the first points of a group.

/// Which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Increase,
    Decrease,
    Neutral,
}

impl Direction {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "increase" => Some(Direction::Increase),
            "decrease" => Some(Direction::Decrease),
            "neutral" => Some(Direction::Neutral),
            _ => None,
        }
    }

    fn sign(self) -> i8 {
        match self {
            Direction::Increase => 1,
            Direction::Decrease => -1,
            Direction::Neutral => 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub improvement: Direction,
    pub target: Option<f64>,
    /// Indexes of the points that start a new group (rebasing: the process is known to have
    /// changed there).
    pub rebase_at: Vec<usize>,
    /// Limits from the first n points of each group only (`ptd_spc` requires n ≥ 12).
    pub fix_after: Option<usize>,
    pub screen_outliers: bool,
    /// Points on one side of the mean that make a shift.
    pub shift_run: usize,
    /// Points all rising or all falling that make a trend.
    pub trend_run: usize,
}

impl Default for Options {
    /// `ptd_spc`'s defaults.
    fn default() -> Self {
        Self {
            improvement: Direction::Increase,
            target: None,
            rebase_at: Vec::new(),
            fix_after: None,
            screen_outliers: true,
            shift_run: 7,
            trend_run: 7,
        }
    }
}

/// Why a point is a special cause, in the order they are tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    AboveUpperLimit,
    BelowLowerLimit,
    TrendIncreasing,
    TrendDecreasing,
    TwoInThreeAbove,
    TwoInThreeBelow,
    ShiftAbove,
    ShiftBelow,
}

impl Rule {
    /// +1 for a signal upwards, −1 downwards.
    fn sign(self) -> i8 {
        match self {
            Rule::AboveUpperLimit
            | Rule::TrendIncreasing
            | Rule::TwoInThreeAbove
            | Rule::ShiftAbove => 1,
            _ => -1,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Rule::AboveUpperLimit => "above the upper process limit",
            Rule::BelowLowerLimit => "below the lower process limit",
            Rule::TrendIncreasing => "part of a run of points all rising",
            Rule::TrendDecreasing => "part of a run of points all falling",
            Rule::TwoInThreeAbove => "two of three points near the upper limit",
            Rule::TwoInThreeBelow => "two of three points near the lower limit",
            Rule::ShiftAbove => "part of a run of points above the mean",
            Rule::ShiftBelow => "part of a run of points below the mean",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointType {
    CommonCause,
    SpecialCauseImprovement,
    SpecialCauseConcern,
    SpecialCauseNeutral,
}

impl PointType {
    pub fn as_str(self) -> &'static str {
        match self {
            PointType::CommonCause => "common_cause",
            PointType::SpecialCauseImprovement => "special_cause_improvement",
            PointType::SpecialCauseConcern => "special_cause_concern",
            PointType::SpecialCauseNeutral => "special_cause_neutral",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assurance {
    /// The target lies beyond the limits on the good side: it will be met.
    Pass,
    /// Beyond the limits on the bad side: it will not be met without change.
    Fail,
    /// Within the limits: sometimes met, sometimes not.
    HitOrMiss,
    /// No target, a neutral measure, or no limits.
    None,
}

impl Assurance {
    pub fn as_str(self) -> &'static str {
        match self {
            Assurance::Pass => "pass",
            Assurance::Fail => "fail",
            Assurance::HitOrMiss => "hit_or_miss",
            Assurance::None => "none",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub value: f64,
    pub mean: f64,
    /// None when the group has too few points for a moving range.
    pub lpl: Option<f64>,
    pub upl: Option<f64>,
    pub point_type: PointType,
    pub rule: Option<Rule>,
    /// Which group of points (0, then one more at each rebase).
    pub group: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub points: Vec<Point>,
    pub assurance: Assurance,
    pub warnings: Vec<String>,
}

/// `ptd_spc` warns when a group has fewer points than this.
pub const RECOMMENDED_POINTS: usize = 12;
const LIMIT: f64 = 2.66;
const SCREEN: f64 = 3.267;

/// Problems with the options, named by option.
pub fn check(options: &Options, points: usize) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Some(n) = options.fix_after {
        if n < RECOMMENDED_POINTS {
            problems.push((
                "fix_after",
                format!("must be at least {RECOMMENDED_POINTS} points"),
            ));
        }
    }
    if options.shift_run < 2 {
        problems.push(("shift_run", "must be at least 2 points".into()));
    }
    if options.trend_run < 3 {
        problems.push(("trend_run", "must be at least 3 points".into()));
    }
    if options.rebase_at.iter().any(|&i| i >= points) {
        problems.push(("rebase", "each rebase must be one of the periods".into()));
    }
    if options.target.is_some_and(|t| !t.is_finite()) {
        problems.push(("target", "must be a number".into()));
    }
    problems
}

/// The chart of `values` in time order.
pub fn xmr(values: &[f64], options: &Options) -> Chart {
    if values.is_empty() {
        return Chart {
            points: Vec::new(),
            assurance: Assurance::None,
            warnings: vec!["there are no points".into()],
        };
    }
    let mut starts: Vec<usize> = std::iter::once(0)
        .chain(
            options
                .rebase_at
                .iter()
                .copied()
                .filter(|&i| i > 0 && i < values.len()),
        )
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let mut points = Vec::with_capacity(values.len());
    let mut warnings = Vec::new();
    for (group, &start) in starts.iter().enumerate() {
        let end = starts.get(group + 1).copied().unwrap_or(values.len());
        let y = &values[start..end];
        if y.len() < 2 {
            warnings.push(format!(
                "the group starting at point {} has {} point: no limits can be drawn",
                start + 1,
                y.len()
            ));
        } else if y.len() < RECOMMENDED_POINTS {
            warnings.push(format!(
                "the group starting at point {} has {} points; at least {RECOMMENDED_POINTS} are recommended for reliable limits",
                start + 1,
                y.len()
            ));
        }
        points.extend(group_points(y, options, group));
    }
    let assurance = assurance(points.last(), options);
    Chart {
        points,
        assurance,
        warnings,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

fn group_points(y: &[f64], options: &Options, group: usize) -> Vec<Point> {
    let fixed = &y[..options.fix_after.unwrap_or(usize::MAX).min(y.len())];
    let centre = mean(fixed.iter().copied()).unwrap_or(f64::NAN);
    let ranges: Vec<f64> = fixed.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mut amr = mean(ranges.iter().copied());
    if options.screen_outliers {
        if let Some(first) = amr {
            // Moving ranges of 3.267 × the mean or more are left out, and the mean taken again.
            amr = mean(ranges.iter().copied().filter(|r| *r < SCREEN * first));
        }
    }
    let limits = amr.map(|amr| {
        (
            centre - LIMIT * amr,
            centre + LIMIT * amr,
            centre - 2.0 * LIMIT / 3.0 * amr,
            centre + 2.0 * LIMIT / 3.0 * amr,
        )
    });
    let outside: Vec<bool> = y
        .iter()
        .map(|&v| limits.is_some_and(|(lpl, upl, _, _)| v > upl || v < lpl))
        .collect();
    let side: Vec<i8> = y.iter().map(|&v| sign(v - centre)).collect();
    let close: Vec<bool> = y
        .iter()
        .zip(&outside)
        .map(|(&v, &out)| !out && limits.is_some_and(|(_, _, nlpl, nupl)| v < nlpl || v > nupl))
        .collect();

    let shift = part_of_run(&shift_ends(&side, options.shift_run), options.shift_run);
    let trend_ends = trend_ends(y, options.trend_run);
    let trend = part_of_run(&trend_ends, options.trend_run);
    let two_in_three = two_in_three(&close, &side);
    let rules: Vec<Option<Rule>> = (0..y.len())
        .map(|i| {
            let above = side[i] > 0;
            if outside[i] {
                Some(if side[i] == 1 {
                    Rule::AboveUpperLimit
                } else {
                    Rule::BelowLowerLimit
                })
            } else if trend[i] {
                // A point inside a trend takes the direction of the step after it, the last the
                // step before it, as ptd_spc does.
                let step = if i + 1 < y.len() && trend[i + 1] {
                    sign(y[i + 1] - y[i])
                } else if i > 0 {
                    sign(y[i] - y[i - 1])
                } else {
                    0
                };
                Some(if step == 1 {
                    Rule::TrendIncreasing
                } else {
                    Rule::TrendDecreasing
                })
            } else if two_in_three[i] {
                Some(if above {
                    Rule::TwoInThreeAbove
                } else {
                    Rule::TwoInThreeBelow
                })
            } else if shift[i] {
                Some(if above {
                    Rule::ShiftAbove
                } else {
                    Rule::ShiftBelow
                })
            } else {
                None
            }
        })
        .collect();
    y.iter()
        .zip(rules)
        .map(|(&value, rule)| Point {
            value,
            mean: centre,
            lpl: limits.map(|l| l.0),
            upl: limits.map(|l| l.1),
            point_type: match rule {
                None => PointType::CommonCause,
                Some(_) if options.improvement == Direction::Neutral => {
                    PointType::SpecialCauseNeutral
                }
                Some(rule) if rule.sign() == options.improvement.sign() => {
                    PointType::SpecialCauseImprovement
                }
                Some(_) => PointType::SpecialCauseConcern,
            },
            rule,
            group,
        })
        .collect()
}

/// Marks each point that ends a run of `run` points on the same side of the mean (none on it).
fn shift_ends(side: &[i8], run: usize) -> Vec<bool> {
    (0..side.len())
        .map(|i| i + 1 >= run && side[i] != 0 && (1..run).all(|k| side[i - k] == side[i]))
        .collect()
}

/// Marks each point that ends a run of `run` points each higher (or each lower) than the last.
fn trend_ends(y: &[f64], run: usize) -> Vec<bool> {
    (0..y.len())
        .map(|i| {
            if i + 1 < run {
                return false;
            }
            let steps: Vec<i8> = (i + 1 - run..i).map(|j| sign(y[j + 1] - y[j])).collect();
            steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1)
        })
        .collect()
}

/// Every point of a run whose last point is marked in `ends`.
fn part_of_run(ends: &[bool], run: usize) -> Vec<bool> {
    (0..ends.len())
        .map(|i| (i..(i + run).min(ends.len())).any(|j| ends[j]))
        .collect()
}

/// Points near a limit (between two sigma and the limit) that, with another such point, make two
/// of three consecutive points on the same side of the mean.
fn two_in_three(close: &[bool], side: &[i8]) -> Vec<bool> {
    let n = close.len();
    let window = |start: usize| {
        start + 3 <= n
            && (start..start + 3).filter(|&j| close[j]).count() >= 2
            && ((start..start + 3).all(|j| side[j] == 1)
                || (start..start + 3).all(|j| side[j] == -1))
    };
    (0..n)
        .map(|i| close[i] && (i.saturating_sub(2)..=i).any(window))
        .collect()
}

/// Assurance against the target, from the latest group's limits (`ptd_spc`).
fn assurance(last: Option<&Point>, options: &Options) -> Assurance {
    let (Some(target), Some(point)) = (options.target, last) else {
        return Assurance::None;
    };
    let (Some(lpl), Some(upl)) = (point.lpl, point.upl) else {
        return Assurance::None;
    };
    let increasing = match options.improvement {
        Direction::Neutral => return Assurance::None,
        Direction::Increase => true,
        Direction::Decrease => false,
    };
    if target > upl {
        if increasing {
            Assurance::Fail
        } else {
            Assurance::Pass
        }
    } else if target < lpl {
        if increasing {
            Assurance::Pass
        } else {
            Assurance::Fail
        }
    } else {
        Assurance::HitOrMiss
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(chart: &Chart) -> Vec<&'static str> {
        chart.points.iter().map(|p| p.point_type.as_str()).collect()
    }

    #[test]
    fn limits_are_the_mean_plus_or_minus_2_66_mean_moving_ranges() {
        // Moving ranges 2, 2, 2, 2: mean 2; mean of the points 11.
        let chart = xmr(&[10.0, 12.0, 10.0, 12.0, 11.0], &Options::default());
        let p = &chart.points[0];
        // |12-10|, |10-12|, |12-10|, |11-12| = 2, 2, 2, 1: mean 1.75.
        assert!((p.mean - 11.0).abs() < 1e-12);
        assert!((p.upl.unwrap() - (11.0 + 2.66 * 1.75)).abs() < 1e-12);
        assert!((p.lpl.unwrap() - (11.0 - 2.66 * 1.75)).abs() < 1e-12);
        assert_eq!(chart.warnings.len(), 1, "5 points: fewer than 12");
    }

    #[test]
    fn a_large_moving_range_is_screened_out_unless_asked_not_to() {
        let mut values = vec![
            10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0,
        ];
        values[6] = 30.0; // two moving ranges of about 20 against ones of 1
        let screened = xmr(&values, &Options::default());
        let unscreened = xmr(
            &values,
            &Options {
                screen_outliers: false,
                ..Options::default()
            },
        );
        let width = |c: &Chart| c.points[0].upl.unwrap() - c.points[0].lpl.unwrap();
        // Ranges: nine of 1 and two of 19 (mean 47/11 = 4.27); screened, the two of 3.267 × 4.27
        // or more go and the mean of the nine is 1.
        assert!((width(&screened) - 2.0 * 2.66 * 1.0).abs() < 1e-9);
        assert!((width(&unscreened) - 2.0 * 2.66 * 47.0 / 11.0).abs() < 1e-9);
        assert_eq!(screened.points[6].rule, Some(Rule::AboveUpperLimit));
        assert_eq!(
            screened.points[6].point_type,
            PointType::SpecialCauseImprovement
        );
    }

    #[test]
    fn seven_points_on_one_side_are_a_shift_all_seven_of_them() {
        let mut values = vec![5.0, 6.0, 5.0, 6.0, 5.0, 6.0];
        values.extend([7.0, 6.5, 7.0, 6.5, 7.0, 6.5, 7.0]);
        let chart = xmr(
            &values,
            &Options {
                improvement: Direction::Decrease,
                ..Options::default()
            },
        );
        let mean = chart.points[0].mean;
        assert!(values[6..].iter().all(|v| *v > mean));
        assert!(
            chart.points[6..]
                .iter()
                .all(|p| p.rule == Some(Rule::ShiftAbove)),
            "{:?}",
            chart.points
        );
        assert!(chart.points[6..]
            .iter()
            .all(|p| p.point_type == PointType::SpecialCauseConcern));
        assert!(chart.points[..6].iter().all(|p| p.rule.is_none()));
        // Six are not enough.
        let six = xmr(&values[..12], &Options::default());
        assert!(six.points[6..]
            .iter()
            .all(|p| p.rule != Some(Rule::ShiftAbove)));
    }

    #[test]
    fn seven_points_rising_are_a_trend_and_the_run_length_is_an_option() {
        let values = [5.0, 4.0, 5.0, 4.0, 4.1, 4.2, 4.3, 4.4, 4.5, 4.6, 4.0, 5.0];
        let chart = xmr(&values, &Options::default());
        assert!(
            chart.points[3..10]
                .iter()
                .all(|p| p.rule == Some(Rule::TrendIncreasing)),
            "{:?}",
            chart.points
        );
        assert_eq!(chart.points[2].rule, None);
        let six = xmr(
            &values[..9],
            &Options {
                trend_run: 6,
                ..Options::default()
            },
        );
        assert!(six.points[3..9]
            .iter()
            .all(|p| p.rule == Some(Rule::TrendIncreasing)));
        let seven = xmr(&values[..9], &Options::default());
        assert!(seven.points.iter().all(|p| p.rule.is_none()));
    }

    #[test]
    fn two_of_three_near_a_limit_on_the_same_side() {
        // Thirty points alternating ±1, then 5, 1, 5: mean 1/3, mean moving range 70/29, so two
        // sigma at 4.61 and the limit at 6.75; both 5s lie between, all three above the mean.
        let mut values: Vec<f64> = (0..30)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        values[26] = 5.0;
        values[27] = 1.0;
        values[28] = 5.0;
        let chart = xmr(&values, &Options::default());
        assert_eq!(
            chart.points[26].rule,
            Some(Rule::TwoInThreeAbove),
            "{:?}",
            chart.points[26]
        );
        assert_eq!(chart.points[28].rule, Some(Rule::TwoInThreeAbove));
        assert_eq!(
            chart.points[27].rule, None,
            "only the points near the limit are marked"
        );
        assert!(chart.points[..26].iter().all(|p| p.rule.is_none()));
        // On opposite sides of the mean they are not (ptd_spc's own test).
        let mut apart: Vec<f64> = (0..16)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        apart[14] = 5.5;
        apart[15] = -5.5;
        let chart = xmr(&apart, &Options::default());
        assert_eq!(&types(&chart)[14..], ["common_cause", "common_cause"]);
    }

    #[test]
    fn outside_the_limits_comes_before_the_other_rules() {
        let mut values = vec![10.0; 14];
        for (i, v) in values.iter_mut().enumerate() {
            *v += if i % 2 == 0 { 0.5 } else { -0.5 };
        }
        values.push(40.0);
        let chart = xmr(
            &values,
            &Options {
                improvement: Direction::Neutral,
                ..Options::default()
            },
        );
        assert_eq!(chart.points[14].rule, Some(Rule::AboveUpperLimit));
        assert_eq!(chart.points[14].point_type, PointType::SpecialCauseNeutral);
    }

    #[test]
    fn rebasing_starts_new_limits_and_fixing_uses_the_first_points_only() {
        let mut values: Vec<f64> = (0..12).map(|i| 10.0 + (i % 2) as f64).collect();
        values.extend((0..12).map(|i| 20.0 + (i % 2) as f64));
        let rebased = xmr(
            &values,
            &Options {
                rebase_at: vec![12],
                ..Options::default()
            },
        );
        assert!((rebased.points[0].mean - 10.5).abs() < 1e-12);
        assert!((rebased.points[12].mean - 20.5).abs() < 1e-12);
        assert_eq!(rebased.points[12].group, 1);
        assert!(rebased.warnings.is_empty());
        let fixed = xmr(
            &values,
            &Options {
                fix_after: Some(12),
                ..Options::default()
            },
        );
        assert!(
            (fixed.points[23].mean - 10.5).abs() < 1e-12,
            "fixed on the first 12"
        );
        assert!(fixed.points[12..]
            .iter()
            .all(|p| p.rule == Some(Rule::AboveUpperLimit)));
    }

    #[test]
    fn assurance_compares_the_target_with_the_latest_limits() {
        let values: Vec<f64> = (0..12).map(|i| 90.0 + (i % 2) as f64).collect();
        let with = |target, improvement| {
            xmr(
                &values,
                &Options {
                    target: Some(target),
                    improvement,
                    ..Options::default()
                },
            )
            .assurance
        };
        assert_eq!(with(80.0, Direction::Increase), Assurance::Pass);
        assert_eq!(with(99.0, Direction::Increase), Assurance::Fail);
        assert_eq!(with(90.5, Direction::Increase), Assurance::HitOrMiss);
        assert_eq!(with(80.0, Direction::Decrease), Assurance::Fail);
        assert_eq!(with(80.0, Direction::Neutral), Assurance::None);
        assert_eq!(xmr(&values, &Options::default()).assurance, Assurance::None);
    }

    #[test]
    fn too_few_points_have_no_limits_and_say_so() {
        let one = xmr(&[3.0], &Options::default());
        assert_eq!(one.points[0].upl, None);
        assert!(one.warnings[0].contains("no limits"));
        assert!(xmr(&[], &Options::default()).warnings[0].contains("no points"));
        assert_eq!(
            check(
                &Options {
                    fix_after: Some(6),
                    ..Options::default()
                },
                20
            )[0]
            .0,
            "fix_after"
        );
    }
}
