//! What the derivation tests share: published figures as linear equations over the responses'
//! cells, and whether a figure follows from them.

#![allow(dead_code)]

/// Linear equations over the cells' answers, reduced as they come (row echelon form).
pub struct Span {
    pub width: usize,
    pub rows: Vec<(usize, Vec<f64>)>,
}

impl Span {
    pub fn reduce(&self, mut v: Vec<f64>) -> Vec<f64> {
        for (pivot, row) in &self.rows {
            let f = v[*pivot];
            if f.abs() > 1e-9 {
                for (x, r) in v.iter_mut().zip(row) {
                    *x -= f * r;
                }
            }
        }
        v
    }

    pub fn add(&mut self, v: Vec<f64>) {
        let v = self.reduce(v);
        if let Some(pivot) = v.iter().position(|x| x.abs() > 1e-9) {
            let p = v[pivot];
            self.rows
                .push((pivot, v.into_iter().map(|x| x / p).collect()));
        }
    }

    pub fn contains(&self, v: Vec<f64>) -> bool {
        self.reduce(v).iter().all(|x| x.abs() < 1e-6)
    }
}

pub const POSITIVE: [usize; 2] = [0, 1];
pub const NEGATIVE: [usize; 2] = [3, 4];
pub const EVERY: [usize; 6] = [0, 1, 2, 3, 4, 5];

/// An attacker with a linear-programming solver: every shown figure's value is an equation over
/// the cells' answers (each at least 0); each hidden figure of 1 to 4 responses is bounded by
/// minimising and maximising its number of responses subject to them all.
pub struct Attacker {
    pub width: usize,
    pub facts: Vec<(Vec<f64>, f64)>,
    pub small: Vec<(String, Vec<f64>)>,
    seen: std::collections::HashSet<(Vec<u64>, u64)>,
}

impl Attacker {
    pub fn new(width: usize) -> Self {
        Self {
            width,
            facts: Vec::new(),
            small: Vec::new(),
            seen: Default::default(),
        }
    }

    fn first(&mut self, eq: &[f64], value: f64) -> bool {
        self.seen
            .insert((eq.iter().map(|x| x.to_bits()).collect(), value.to_bits()))
    }

    /// A shown figure: `eq` (over the cells' answers) is `value`.
    pub fn know(&mut self, eq: Vec<f64>, value: f64) {
        if self.first(&eq, value) {
            self.facts.push((eq, value));
        }
    }

    /// A hidden figure of 1 to 4 responses, whose number of responses is `eq`.
    pub fn bound(&mut self, name: String, eq: Vec<f64>) {
        if self.first(&eq, -1.0) {
            self.small.push((name, eq));
        }
    }

    /// The least and the most `eq` can be, given the facts and `extra` ones.
    pub fn bounds(&self, eq: &[f64], extra: &[(Vec<f64>, f64)]) -> (f64, f64) {
        use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome};
        let solve = |direction| {
            let mut p = Problem::new(direction);
            let vars: Vec<_> = eq
                .iter()
                .map(|&c| p.add_var(c, (0.0, f64::INFINITY)))
                .collect();
            for (fact, value) in self.facts.iter().chain(extra) {
                let expr: Vec<_> = fact
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0.0)
                    .map(|(i, c)| (vars[i], *c))
                    .collect();
                p.add_constraint(expr.as_slice(), ComparisonOp::Eq, *value);
            }
            match p.solve() {
                Ok(SolveOutcome::Solution(s)) => s.objective(),
                Err(microlp::Error::Unbounded) => f64::INFINITY,
                other => panic!("the published figures have no solution: {other:?}"),
            }
        };
        (
            solve(OptimizationDirection::Minimize),
            solve(OptimizationDirection::Maximize),
        )
    }

    /// Every small hidden figure's bounds include 0 and at least 5; and the check can fail:
    /// had the figures hidden only to protect others shown their number of responses (as NHS
    /// England's publication does), some small figure would have been narrowed.
    pub fn assert_standard(&self, truth: &[f64], protecting: &[Vec<f64>]) {
        assert!(
            self.small.len() >= 3,
            "the seeded set has small figures to bound: {}",
            self.small.len()
        );
        let narrowed: Vec<String> = self
            .small
            .iter()
            .filter_map(|(name, eq)| {
                let (low, high) = self.bounds(eq, &[]);
                (low > 1e-6 || high < 5.0 - 1e-6).then(|| format!("{name}: [{low}, {high}]"))
            })
            .collect();
        assert!(
            narrowed.is_empty(),
            "{} of {} small hidden figures are narrowed below the standard: {narrowed:#?}",
            narrowed.len(),
            self.small.len()
        );
        let value = |eq: &Vec<f64>| eq.iter().zip(truth).map(|(a, b)| a * b).sum::<f64>();
        let shown: Vec<(Vec<f64>, f64)> = protecting
            .iter()
            .map(|eq| (eq.clone(), value(eq)))
            .collect();
        assert!(
            self.small.iter().any(|(_, eq)| {
                let (low, high) = self.bounds(eq, &shown);
                low > 1e-6 || high < 5.0 - 1e-6
            }),
            "without the protection, some small figure would be narrowed"
        );
    }
}

/// What the published figures say, and which hidden figures to check: hidden for being small
/// (or of a small unit), and hidden only to protect another (secondary).
pub struct Published {
    pub attacker: Attacker,
    /// The number of responses of each figure hidden only to protect another.
    pub protecting_totals: Vec<Vec<f64>>,
    pub span: Span,
    pub hidden: Vec<(String, Vec<f64>)>,
    pub protecting: Vec<Vec<f64>>,
    pub suppressed: std::collections::BTreeMap<String, usize>,
}

impl Published {
    pub fn new(cells: usize) -> Self {
        Self {
            attacker: Attacker::new(cells * 6),
            protecting_totals: Vec::new(),
            span: Span {
                width: cells * 6,
                rows: Vec::new(),
            },
            hidden: Vec::new(),
            protecting: Vec::new(),
            suppressed: Default::default(),
        }
    }

    /// The equation of the sum of `answers` over the cells `of`.
    pub fn equation(&self, of: &[usize], answers: &[usize]) -> Vec<f64> {
        let mut v = vec![0.0; self.span.width];
        for &i in of {
            for &a in answers {
                v[i * 6 + a] = 1.0;
            }
        }
        v
    }

    /// A published row over the cells `of`: its number of responses, each count and each
    /// percentage are known when shown, and to check when hidden.
    pub fn row(
        &mut self,
        name: &str,
        row: &alongside_proto::feedback::v1::FftBreakdownRow,
        of: &[usize],
    ) {
        *self.suppressed.entry(row.suppression.clone()).or_insert(0) += 1;
        let total = self.equation(of, &EVERY);
        match row.total {
            Some(n) => self.attacker.know(total.clone(), n as f64),
            None if row.suppression == "primary" => self
                .attacker
                .bound(format!("{name} responses"), total.clone()),
            None => self.protecting_totals.push(total.clone()),
        }
        match row.total {
            Some(0) => {
                // Nothing there: every cell of it is known to be empty.
                for &i in of {
                    for a in 0..6 {
                        self.span.add(self.equation(&[i], &[a]));
                    }
                }
                return;
            }
            Some(_) => self.span.add(total),
            None if row.suppression == "secondary" => self.protecting.push(total),
            None => self.hidden.push((format!("{name} responses"), total)),
        }
        let counts = [
            row.very_good,
            row.good,
            row.neither,
            row.poor,
            row.very_poor,
            row.dont_know,
        ];
        let mut each: Vec<(bool, Vec<usize>, String)> = counts
            .iter()
            .enumerate()
            .map(|(a, c)| (c.is_some(), vec![a], format!("{name} answer {a}")))
            .collect();
        each.push((
            row.percent_positive.is_some(),
            POSITIVE.to_vec(),
            format!("{name} positive"),
        ));
        each.push((
            row.percent_negative.is_some(),
            NEGATIVE.to_vec(),
            format!("{name} negative"),
        ));
        for (a, count) in counts.iter().enumerate() {
            if let Some(n) = count {
                self.attacker.know(self.equation(of, &[a]), *n as f64);
            }
        }
        for (shown, answers, what) in each {
            let eq = self.equation(of, &answers);
            if shown {
                self.span.add(eq);
            } else if row.suppression == "secondary" {
                self.protecting.push(eq);
            } else {
                self.hidden.push((what, eq));
            }
        }
    }

    /// A month of a chart over the cells `of` with `n` responses: its % positive (and, taken as
    /// known, its number of responses) when drawn, and to check when not.
    pub fn chart_month(&mut self, name: &str, of: &[usize], n: u64, drawn: bool) {
        let eq = self.equation(of, &POSITIVE);
        if drawn {
            self.span.add(self.equation(of, &EVERY));
            self.span.add(eq);
        } else if (1..=4).contains(&n) {
            self.hidden.push((format!("chart {name}"), eq));
        } else if n > 0 {
            self.protecting.push(eq);
        }
    }

    /// No hidden figure follows from the published ones; and the check can fail: had the
    /// protecting figures been shown, some small one would have followed.
    pub fn assert_protected(&self) {
        assert!(
            self.suppressed.get("primary").copied().unwrap_or(0) >= 3,
            "the seeded set has small figures to hide: {:?}",
            self.suppressed
        );
        assert!(
            self.hidden.len() > 20,
            "{} hidden figures",
            self.hidden.len()
        );
        assert!(
            !self.protecting.is_empty(),
            "some figures are hidden only to protect others"
        );
        for eq in &self.protecting {
            assert!(
                !self.span.contains(eq.clone()),
                "a protecting figure is hidden too"
            );
        }
        let mut naive = Span {
            width: self.span.width,
            rows: self.span.rows.clone(),
        };
        for eq in &self.protecting {
            naive.add(eq.clone());
        }
        assert!(
            self.hidden.iter().any(|(_, eq)| naive.contains(eq.clone())),
            "without the protection, some small figure would follow by subtraction"
        );
        let derivable: Vec<&String> = self
            .hidden
            .iter()
            .filter(|(_, eq)| self.span.contains(eq.clone()))
            .map(|(name, _)| name)
            .collect();
        assert!(
            derivable.is_empty(),
            "{} of {} hidden figures follow from the published ones: {derivable:#?}",
            derivable.len(),
            self.hidden.len()
        );
    }
}

/// Lists `places` ((kind, code)) for `tenant`, as its administrator would: responses may name
/// only listed places.
pub async fn list_places(
    svc: &alongside_events::testing::TestService,
    tenant: &str,
    places: &[(&str, &str)],
) {
    use alongside_proto::feedback::v1::{
        feedback_service_client::FeedbackServiceClient, PlaceInput, SavePlacesRequest,
    };
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let request = SavePlacesRequest {
        places: places
            .iter()
            .map(|(kind, code)| PlaceInput {
                kind: kind.to_string(),
                code: code.to_string(),
                name: String::new(),
            })
            .collect(),
        dry_run: false,
    };
    let admin = svc.token(tenant, alongside_platform::Role::Admin);
    let saved = client
        .save_places(alongside_platform::grpc::outgoing(request, &admin))
        .await
        .unwrap()
        .into_inner();
    assert!(saved.saved, "places not listed: {:?}", saved.rejected);
}
