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

/// What the published figures say, and which hidden figures to check: hidden for being small
/// (or of a small unit), and hidden only to protect another (secondary).
pub struct Published {
    pub span: Span,
    pub hidden: Vec<(String, Vec<f64>)>,
    pub protecting: Vec<Vec<f64>>,
    pub suppressed: std::collections::BTreeMap<String, usize>,
}

impl Published {
    pub fn new(cells: usize) -> Self {
        Self {
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

    /// A published row over the cells `of`: its number of responses is known; each count and
    /// percentage is known when shown, and to check when hidden.
    pub fn row(
        &mut self,
        name: &str,
        row: &alongside_proto::feedback::v1::FftBreakdownRow,
        of: &[usize],
    ) {
        *self.suppressed.entry(row.suppression.clone()).or_insert(0) += 1;
        self.span.add(self.equation(of, &EVERY));
        if row.total == 0 {
            // Nothing there: every cell of it is known to be empty.
            for &i in of {
                for a in 0..6 {
                    self.span.add(self.equation(&[i], &[a]));
                }
            }
            return;
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

    /// A month of a chart over the cells `of` with `n` responses (taken as known): its %
    /// positive is known when drawn, and to check when not.
    pub fn chart_month(&mut self, name: &str, of: &[usize], n: u64, drawn: bool) {
        self.span.add(self.equation(of, &EVERY));
        let eq = self.equation(of, &POSITIVE);
        if drawn {
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
