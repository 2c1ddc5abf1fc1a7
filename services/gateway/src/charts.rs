//! Charts drawn on the server as SVG, so they work without JavaScript. Each has a text alternative
//! and the page shows its figures as a table too. Presentation attributes only: the
//! Content-Security-Policy allows no inline styles.

use alongside_proto::feedback::v1::SpcChart;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 36.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;

/// Making Data Count's colours: concern orange, improvement blue, neutral purple, common grey.
fn colour(point_type: &str) -> &'static str {
    match point_type {
        "special_cause_concern" => "#ED8B00",
        "special_cause_improvement" => "#005EB8",
        "special_cause_neutral" => "#7C2855",
        _ => "#768692",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart's opening tag, with its title and description under ids starting `id`.
fn open_svg(title: &str, description: &str, id: &str) -> String {
    format!(
        r#"<svg class="alongside-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    )
}

/// The y axis: five labelled gridlines from `low` to `high`.
fn y_axis(svg: &mut String, low: f64, high: f64, unit: &str, y: &dyn Fn(f64) -> f64) {
    for k in 0..=4 {
        let v = low + (high - low) * k as f64 / 4.0;
        svg.push_str(&format!(
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#E8EDEE" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#4C6272">{v:.1}{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            escape(unit),
            y = y(v),
        ));
    }
}

/// What the chart shows, in words: the latest point's variation and the assurance.
pub fn summary(chart: &SpcChart, unit: &str) -> String {
    let Some(last) = chart.points.last() else {
        return "No points to chart yet.".into();
    };
    let variation = match last.r#type.as_str() {
        "special_cause_improvement" => "special cause variation: improvement",
        "special_cause_concern" => "special cause variation: concern",
        "special_cause_neutral" => "special cause variation",
        _ => "common cause variation",
    };
    let assurance = match chart.assurance.as_str() {
        "pass" => ", and the target will consistently be met",
        "fail" => ", and the target will consistently be missed without change",
        "hit_or_miss" => ", and the target will be met some months and missed others",
        _ => "",
    };
    format!(
        "{} points; the latest, {}, is {:.1}{unit} ({variation}){assurance}.",
        chart.points.len(),
        last.period,
        last.value
    )
}

/// The XmR chart as an SVG element: the points joined in time order, the mean and the process
/// limits, each point coloured by its variation; `unit` follows values (e.g. "%").
pub fn spc_svg(chart: &SpcChart, title: &str, unit: &str) -> String {
    spc_svg_with_id(chart, title, unit, "chart")
}

/// As [`spc_svg`], its title and description under ids starting `id`, for pages of several.
pub fn spc_svg_with_id(chart: &SpcChart, title: &str, unit: &str, id: &str) -> String {
    let points = &chart.points;
    let mut lows: Vec<f64> = points.iter().map(|p| p.value).collect();
    lows.extend(points.iter().filter_map(|p| p.lpl));
    lows.extend(chart.target);
    let mut highs: Vec<f64> = points.iter().map(|p| p.value).collect();
    highs.extend(points.iter().filter_map(|p| p.upl));
    highs.extend(chart.target);
    let (mut low, mut high) = (
        lows.iter().copied().fold(f64::INFINITY, f64::min),
        highs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    if !low.is_finite() || !high.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    if (high - low).abs() < 1e-9 {
        (low, high) = (low - 1.0, high + 1.0);
    }
    let pad = (high - low) * 0.08;
    let (low, high) = (low - pad, high + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (high - v) / (high - low);
    let description = summary(chart, unit);
    let mut svg = open_svg(title, &description, id);
    y_axis(&mut svg, low, high, unit, &y);
    // The mean and limits of each group between rebases, as steps.
    let mut start = 0;
    while start < points.len() {
        let mut end = start + 1;
        while end < points.len()
            && points[end].mean == points[start].mean
            && points[end].upl == points[start].upl
        {
            end += 1;
        }
        let (x0, x1) = (x(start) - 4.0, x(end - 1) + 4.0);
        let mut line = |v: f64, colour: &str, dash: &str| {
            svg.push_str(&format!(
                r#"<line x1="{x0:.1}" x2="{x1:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="1.5"{dash}/>"#,
                y = y(v)
            ));
        };
        line(points[start].mean, "#231F20", "");
        if let (Some(lpl), Some(upl)) = (points[start].lpl, points[start].upl) {
            line(lpl, "#768692", r#" stroke-dasharray="6 4""#);
            line(upl, "#768692", r#" stroke-dasharray="6 4""#);
        }
        start = end;
    }
    if let Some(target) = chart.target {
        svg.push_str(&format!(
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#DA291C" stroke-width="1.5" stroke-dasharray="2 3"/>"##,
            WIDTH - RIGHT,
            y = y(target)
        ));
    }
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect();
    svg.push_str(&format!(
        r##"<polyline points="{}" fill="none" stroke="#AEB7BD" stroke-width="1.5"/>"##,
        path.join(" ")
    ));
    let label_every = points.len().div_ceil(12).max(1);
    for (i, p) in points.iter().enumerate() {
        let what = if p.rule.is_empty() {
            "common cause".to_string()
        } else {
            p.rule.clone()
        };
        svg.push_str(&format!(
            r#"<circle cx="{:.1}" cy="{:.1}" r="4.5" fill="{}"><title>{}: {:.1}{} ({})</title></circle>"#,
            x(i),
            y(p.value),
            colour(&p.r#type),
            escape(&p.period),
            p.value,
            escape(unit),
            escape(&what)
        ));
        if i % label_every == 0 || i + 1 == points.len() {
            svg.push_str(&format!(
                r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#4C6272">{}</text>"##,
                x(i),
                HEIGHT - BOTTOM + 18.0,
                escape(&p.period)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Making Data Count's variation icon for the latest point: its kind, and whether it is high or
/// low against the mean; `None` without points.
pub fn variation(chart: &SpcChart) -> Option<(&'static str, String)> {
    let last = chart.points.last()?;
    let side = if last.value >= last.mean {
        "high"
    } else {
        "low"
    };
    Some(match last.r#type.as_str() {
        "special_cause_improvement" => (
            "improvement",
            format!("Special cause variation: improvement ({side})"),
        ),
        "special_cause_concern" => (
            "concern",
            format!("Special cause variation: concern ({side})"),
        ),
        "special_cause_neutral" => ("neutral", format!("Special cause variation ({side})")),
        _ => ("common", "Common cause variation".to_string()),
    })
}

/// The variation and (with a target) assurance icons, as small SVGs with text alternatives,
/// drawn as Making Data Count does: orange for concern, blue for improvement, grey otherwise.
pub fn icons_svg(chart: &SpcChart) -> String {
    let Some((kind, label)) = variation(chart) else {
        return String::new();
    };
    let last = chart
        .points
        .last()
        .map(|p| p.value >= p.mean)
        .unwrap_or(true);
    let (fill, letter) = match kind {
        "improvement" => ("#005EB8", if last { "H" } else { "L" }),
        "concern" => ("#ED8B00", if last { "H" } else { "L" }),
        "neutral" => ("#7C2855", if last { "H" } else { "L" }),
        _ => ("#768692", "~"),
    };
    let mut svg = icon(fill, letter, &label);
    let assurance = match chart.assurance.as_str() {
        "pass" => Some((
            "#005EB8",
            "P",
            "Assurance: the target will consistently be met",
        )),
        "fail" => Some((
            "#ED8B00",
            "F",
            "Assurance: the target will consistently be missed",
        )),
        "hit_or_miss" => Some((
            "#768692",
            "?",
            "Assurance: the target will be met some months and missed others",
        )),
        _ => None,
    };
    if let Some((fill, letter, label)) = assurance {
        svg.push_str(&icon(fill, letter, label));
    }
    svg
}

fn icon(fill: &str, letter: &str, label: &str) -> String {
    format!(
        r##"<svg class="alongside-icon" viewBox="0 0 32 32" width="32" height="32" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title><circle cx="16" cy="16" r="14" fill="#FFFFFF" stroke="{fill}" stroke-width="3"/><text x="16" y="21" font-size="14" font-weight="bold" text-anchor="middle" fill="{fill}">{letter}</text></svg>"##,
        label = escape(label),
        letter = escape(letter),
    )
}

/// One unit of a funnel plot: its responses and % positive.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelUnit {
    pub label: String,
    pub n: u64,
    pub percent: f64,
}

/// 95% and 99.8% control limits (two-sided z 1.96 and 3.09) of a proportion `mean` (in percent)
/// for a unit of `n`, by the normal approximation to the binomial (Spiegelhalter, 2005), in
/// percent and within 0–100: (low 99.8, low 95, high 95, high 99.8).
pub fn funnel_limits(mean: f64, n: u64) -> (f64, f64, f64, f64) {
    let p = (mean / 100.0).clamp(0.0, 1.0);
    let se = if n == 0 {
        f64::INFINITY
    } else {
        (p * (1.0 - p) / n as f64).sqrt()
    };
    let at = |z: f64| ((p + z * se) * 100.0).clamp(0.0, 100.0);
    (at(-3.090_232), at(-1.959_964), at(1.959_964), at(3.090_232))
}

/// Where a unit lies on the funnel, in words.
pub fn funnel_position(mean: f64, unit: &FunnelUnit) -> &'static str {
    let (low998, low95, high95, high998) = funnel_limits(mean, unit.n);
    match unit.percent {
        v if v > high998 => "above 99.8%: special cause",
        v if v < low998 => "below 99.8%: special cause",
        v if v > high95 => "above 95%",
        v if v < low95 => "below 95%",
        _ => "within the limits",
    }
}

/// A funnel plot: each unit's % positive against its responses, with the overall mean and its
/// 95% and 99.8% limits narrowing as responses grow, so that units of different sizes compare
/// fairly.
pub fn funnel_svg(units: &[FunnelUnit], mean: f64, title: &str, id: &str) -> String {
    let max_n = units.iter().map(|u| u.n).max().unwrap_or(1).max(1) as f64 * 1.08;
    // From a third of the smallest unit, so the funnel's narrowing shows.
    let min_n = (units.iter().map(|u| u.n).min().unwrap_or(1) as f64 / 3.0).max(5.0);
    let samples: Vec<f64> = (0..=60)
        .map(|i| min_n + (max_n - min_n) * (i as f64 / 60.0).powi(2))
        .collect();
    let mut lows: Vec<f64> = units.iter().map(|u| u.percent).collect();
    lows.push(funnel_limits(mean, samples[0] as u64).0);
    let mut highs: Vec<f64> = units.iter().map(|u| u.percent).collect();
    highs.push(funnel_limits(mean, samples[0] as u64).3);
    let low = lows.iter().copied().fold(mean, f64::min).max(0.0);
    let high = highs.iter().copied().fold(mean, f64::max).min(100.0);
    let pad = ((high - low) * 0.08).max(0.5);
    let (low, high) = ((low - pad).max(0.0), (high + pad).min(100.0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |n: f64| LEFT + plot_w * n / max_n;
    let y = |v: f64| TOP + plot_h * (high - v) / (high - low);
    let outside = units
        .iter()
        .filter(|u| funnel_position(mean, u).contains("99.8"))
        .count();
    let description = format!(
        "{} units against a mean of {mean:.1}%; {outside} outside the 99.8% limits.",
        units.len()
    );
    let mut svg = open_svg(title, &description, id);
    y_axis(&mut svg, low, high, "%", &y);
    for k in 0..=4 {
        let n = max_n * k as f64 / 4.0;
        svg.push_str(&format!(
            r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#4C6272">{:.0}</text>"##,
            x(n),
            HEIGHT - BOTTOM + 18.0,
            n
        ));
    }
    svg.push_str(&format!(
        r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#4C6272">Responses</text>"##,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0
    ));
    svg.push_str(&format!(
        r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#231F20" stroke-width="1.5"/>"##,
        WIDTH - RIGHT,
        y = y(mean)
    ));
    let limits: Vec<(f64, (f64, f64, f64, f64))> = samples
        .iter()
        .map(|&n| (n, funnel_limits(mean, n.round().max(1.0) as u64)))
        .collect();
    for (pick, dash) in [
        (0usize, " stroke-dasharray=\"2 3\""),
        (1, " stroke-dasharray=\"6 4\""),
        (2, " stroke-dasharray=\"6 4\""),
        (3, " stroke-dasharray=\"2 3\""),
    ] {
        let path: Vec<String> = limits
            .iter()
            .map(|(n, l)| {
                let v = [l.0, l.1, l.2, l.3][pick].clamp(low, high);
                format!("{:.1},{:.1}", x(*n), y(v))
            })
            .collect();
        svg.push_str(&format!(
            r##"<polyline points="{}" fill="none" stroke="#768692" stroke-width="1.2"{dash}/>"##,
            path.join(" ")
        ));
    }
    for u in units {
        let position = funnel_position(mean, u);
        let fill = if position.contains("99.8") {
            if u.percent > mean {
                "#005EB8"
            } else {
                "#ED8B00"
            }
        } else {
            "#768692"
        };
        svg.push_str(&format!(
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{fill}"><title>{}: {:.1}% of {} ({})</title></circle>"#,
            x(u.n as f64),
            y(u.percent),
            escape(&u.label),
            u.percent,
            u.n,
            position
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use alongside_proto::feedback::v1::SpcPoint;

    fn chart() -> SpcChart {
        SpcChart {
            points: (0..13)
                .map(|i| SpcPoint {
                    period: format!("2026-{:02}", i % 12 + 1),
                    value: if i == 12 { 60.0 } else { 90.0 },
                    mean: 88.0,
                    lpl: Some(85.0),
                    upl: Some(91.0),
                    r#type: if i == 12 {
                        "special_cause_concern".into()
                    } else {
                        "common_cause".into()
                    },
                    rule: if i == 12 {
                        "below the lower process limit".into()
                    } else {
                        String::new()
                    },
                })
                .collect(),
            assurance: "fail".into(),
            warnings: vec![],
            target: Some(95.0),
        }
    }

    #[test]
    fn the_chart_is_an_accessible_svg_with_a_point_for_each_period() {
        let svg = spc_svg(&chart(), "% positive <by month>", "%");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(
            svg.contains("% positive &lt;by month&gt;"),
            "titles are escaped"
        );
        assert_eq!(svg.matches("<circle").count(), 13);
        assert!(svg.contains("#ED8B00"), "the concern is orange");
        assert!(svg.contains("below the lower process limit"));
        assert!(!svg.contains("style="), "no inline styles under the CSP");
    }

    #[test]
    fn the_summary_says_the_latest_variation_and_the_assurance() {
        let words = summary(&chart(), "%");
        assert!(words.contains("the latest, 2026-01, is 60.0%"), "{words}");
        assert!(
            words.contains("concern") && words.contains("consistently be missed"),
            "{words}"
        );
        assert_eq!(
            summary(&SpcChart::default(), "%"),
            "No points to chart yet."
        );
    }

    #[test]
    fn funnel_limits_narrow_as_responses_grow_and_stay_within_0_to_100() {
        let (l998, l95, h95, h998) = funnel_limits(80.0, 100);
        // 80% of 100: standard error 4 points.
        assert!(
            (h95 - 87.84).abs() < 0.01 && (l95 - 72.16).abs() < 0.01,
            "{l95} {h95}"
        );
        assert!((h998 - 92.36).abs() < 0.01 && (l998 - 67.64).abs() < 0.01);
        let (_, wide_low, wide_high, _) = funnel_limits(80.0, 25);
        assert!(wide_high > h95 && wide_low < l95);
        let (_, _, _, top) = funnel_limits(99.0, 5);
        assert_eq!(top, 100.0);
    }

    #[test]
    fn the_funnel_marks_units_outside_the_limits() {
        let units = vec![
            FunnelUnit {
                label: "Big and ordinary".into(),
                n: 1000,
                percent: 81.0,
            },
            FunnelUnit {
                label: "Small and high".into(),
                n: 50,
                percent: 95.0,
            },
            FunnelUnit {
                label: "Big and low".into(),
                n: 2000,
                percent: 70.0,
            },
        ];
        assert_eq!(funnel_position(80.0, &units[0]), "within the limits");
        assert_eq!(funnel_position(80.0, &units[1]), "above 95%");
        assert_eq!(
            funnel_position(80.0, &units[2]),
            "below 99.8%: special cause"
        );
        let svg = funnel_svg(&units, 80.0, "Funnel <plot>", "funnel");
        assert!(svg.contains(r#"aria-labelledby="funnel-title funnel-desc""#));
        assert!(svg.contains("Funnel &lt;plot&gt;"));
        assert!(svg.contains("1 outside the 99.8% limits"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("#ED8B00"), "the low outlier is a concern");
        assert!(!svg.contains("style="));
    }

    #[test]
    fn icons_say_the_latest_variation_and_the_assurance() {
        let svg = icons_svg(&chart());
        assert!(
            svg.contains(r#"aria-label="Special cause variation: concern (low)""#),
            "{svg}"
        );
        assert!(svg.contains("Assurance: the target will consistently be missed"));
        assert_eq!(icons_svg(&SpcChart::default()), "");
        assert!(spc_svg_with_id(&chart(), "t", "%", "rza").contains(r#"id="rza-title""#));
    }
}
