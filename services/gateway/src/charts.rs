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
    let mut svg = format!(
        r#"<svg class="alongside-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
        escape(title),
        escape(&description)
    );
    // The y axis: five labelled gridlines.
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
}
