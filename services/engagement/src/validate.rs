//! Checks on opportunities and attendance, each with a message that says what to fix.

use alongside_events::places::Listed;
use alongside_platform::error::{ServiceError, Violations};
use alongside_proto::engagement::v1::{
    CorrectAttendanceRequest, CreateOpportunityRequest, RecordAttendanceRequest,
};

/// The kinds of work from the source practice (DOMAIN.md §3).
pub use alongside_proto::ACTIVITY_KINDS as KINDS;

/// A session's date, start and length, before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedSession {
    pub on: String,
    pub start_time: String,
    pub minutes: u32,
}

/// How a session may overrun and still be recorded in full.
pub const OVERRUN_MINUTES: u32 = 60;

/// The dates of `count` sessions from `first`, repeating as asked.
pub fn session_dates(first: time::Date, repeat: &str, count: u32) -> Vec<time::Date> {
    let mut dates = Vec::with_capacity(count as usize);
    for n in 0..count {
        let date = match repeat {
            "weekly" => first + time::Duration::weeks(n as i64),
            "fortnightly" => first + time::Duration::weeks(2 * n as i64),
            "monthly" => {
                // The same day of the month, or the month's last day when it is shorter.
                let index = first.year() * 12 + i32::from(u8::from(first.month())) - 1 + n as i32;
                let year = index.div_euclid(12);
                let month = time::Month::try_from(index.rem_euclid(12) as u8 + 1)
                    .unwrap_or(time::Month::January);
                time::Date::from_calendar_date(year, month, first.day().min(month.length(year)))
                    .unwrap_or(first)
            }
            _ => first,
        };
        dates.push(date);
    }
    dates
}

/// Checks an opportunity and plans its sessions; `today` decides what may be published, and
/// its pathway, when given, must be one of the trust's `pathways` (stored as its listed code).
pub fn opportunity(
    mut r: CreateOpportunityRequest,
    today: &str,
    pathways: &Listed,
) -> Result<(CreateOpportunityRequest, Vec<PlannedSession>), ServiceError> {
    r.title = r.title.trim().to_string();
    r.kind = r.kind.trim().to_string();
    r.starts_on = r.starts_on.trim().to_string();
    let mut v = Violations::default();
    if r.title.is_empty() {
        v.push("title", "is required");
    } else if r.title.chars().count() > 200 {
        v.push("title", "must be 200 characters or fewer");
    }
    v.check(
        KINDS.contains(&r.kind.as_str()),
        "kind",
        &format!("must be one of {}", KINDS.join(", ")),
    );
    v.check(
        (1..=4).contains(&r.involvement_level),
        "involvement_level",
        "must be 1, 2, 3 or 4 (NHS England involvement levels)",
    );
    v.check(
        alongside_platform::parse_date(&r.starts_on).is_some(),
        "starts_on",
        alongside_platform::DATE_FORM,
    );
    v.check(
        (1..=200).contains(&r.places),
        "places",
        "must be between 1 and 200",
    );
    r.required_role = r.required_role.trim().to_string();
    v.check(
        r.required_role.is_empty()
            || alongside_proto::PARTNER_ROLES.contains(&r.required_role.as_str()),
        "required_role",
        &format!(
            "must be empty or one of {}",
            alongside_proto::PARTNER_ROLES.join(", ")
        ),
    );
    // Published figures are by pathway: only the trust's listed ones are taken.
    match pathways.check("pathway", &r.pathway) {
        Ok(code) => r.pathway = code,
        Err(reason) => v.push("pathway", reason),
    }
    r.cost_centre = r.cost_centre.trim().to_string();
    v.check(
        r.cost_centre.len() <= 20
            && r.cost_centre
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "cost_centre",
        "must be up to 20 letters, digits or dashes, like CC-4410",
    );
    r.remuneration = match r.remuneration.trim() {
        "" => "rate_card".to_string(),
        other => other.to_string(),
    };
    v.check(
        REMUNERATION.contains(&r.remuneration.as_str()),
        "remuneration",
        "must be rate_card (paid by the trust's rate card) or expenses_only",
    );
    r.description = r.description.trim().to_string();
    v.check(
        r.description.chars().count() <= 4_000,
        "description",
        "must be 4,000 characters or fewer",
    );
    for (field, value) in [
        ("locality", &mut r.locality),
        ("accessibility", &mut r.accessibility),
        ("contact", &mut r.contact),
    ] {
        *value = value.trim().to_string();
        v.check(
            value.chars().count() <= 500,
            field,
            "must be 500 characters or fewer",
        );
    }
    if r.expected_minutes == 0 {
        r.expected_minutes = 120;
    }
    v.check(
        (15..=720).contains(&r.expected_minutes),
        "expected_minutes",
        "must be between 15 and 720 minutes (12 hours) a session",
    );
    r.start_time = match r.start_time.trim() {
        "" => "10:00".to_string(),
        t => t.to_string(),
    };
    v.check(
        time::Time::parse(
            &r.start_time,
            time::macros::format_description!("[hour]:[minute]"),
        )
        .is_ok(),
        "start_time",
        "must be a time of day as HH:MM, like 14:30",
    );
    r.repeat = r.repeat.trim().to_string();
    v.check(
        REPEATS.contains(&r.repeat.as_str()),
        "repeat",
        "must be empty (one session), weekly, fortnightly or monthly",
    );
    if r.session_count == 0 {
        r.session_count = 1;
    }
    if r.repeat.is_empty() && r.session_count > 1 {
        v.push(
            "session_count",
            "a one-off opportunity has one session: choose how it repeats",
        );
    }
    v.check(
        (1..=52).contains(&r.session_count),
        "session_count",
        "must be between 1 and 52 sessions",
    );
    if r.draft && r.held {
        v.push(
            "held",
            "a record of work already done cannot also be a draft",
        );
    }
    let mut sessions = Vec::new();
    if let Some(first) = alongside_platform::parse_date(&r.starts_on) {
        let dates = session_dates(first, &r.repeat, r.session_count.clamp(1, 52));
        let last_on = dates.last().copied().unwrap_or(first);
        let last = last_on.to_string();
        if !alongside_platform::YEARS.contains(&last_on.year()) {
            v.push(
                "starts_on",
                format!("the sessions would run on to {last}: every session must fall in the years 1900 to 2199"),
            );
        } else if r.held && last.as_str() > today {
            v.push(
                "starts_on",
                format!("work already done must have its sessions today or earlier; the last would be on {last}"),
            );
        } else if !r.draft && !r.held && r.starts_on.as_str() < today {
            v.push(
                "starts_on",
                format!("a published opportunity's sessions must be today ({today}) or later: save it as a draft, or record it as work already done"),
            );
        }
        sessions = dates
            .into_iter()
            .map(|on| PlannedSession {
                on: on.to_string(),
                start_time: r.start_time.clone(),
                minutes: r.expected_minutes,
            })
            .collect();
    }
    v.finish()?;
    Ok((r, sessions))
}

/// How an opportunity's sessions repeat: once, or every week, fortnight or month.
pub const REPEATS: &[&str] = &["", "weekly", "fortnightly", "monthly"];

/// What became of a partner's place at a session.
pub const OUTCOMES: &[&str] = &["attended", "apologies", "no_show"];

/// Minutes and outcome agree, and the minutes fit the session with its margin.
pub fn outcome_minutes(v: &mut Violations, outcome: &str, minutes: u32, session_minutes: u32) {
    if !OUTCOMES.contains(&outcome) {
        v.push("outcome", "must be attended, apologies or no_show");
        return;
    }
    if outcome == "attended" {
        let most = session_minutes + OVERRUN_MINUTES;
        if minutes == 0 {
            v.push(
                "minutes",
                "enter the minutes they took part (or choose apologies or did not attend)",
            );
        } else if minutes > most {
            v.push(
                "minutes",
                format!("must be at most {most}: the session is {session_minutes} minutes, and up to {OVERRUN_MINUTES} more may be recorded when it overran"),
            );
        }
    } else if minutes != 0 {
        v.push(
            "minutes",
            "must be 0 when the partner sent apologies or did not attend",
        );
    }
}

/// How an opportunity pays: by the trust's rate card, or expenses only (DOMAIN.md §3).
pub const REMUNERATION: &[&str] = &["rate_card", "expenses_only"];

/// A correction says why, and may bring the minutes to 0 (did not take part after all).
pub fn correction(r: &CorrectAttendanceRequest) -> Result<(), ServiceError> {
    let mut v = Violations::default();
    v.check(
        !r.attendance_id.trim().is_empty(),
        "attendance_id",
        "is required",
    );
    v.check(
        r.minutes <= 1440,
        "minutes",
        "must be between 0 (did not take part) and 1440 (one day)",
    );
    v.check(
        r.outcome.is_empty() || OUTCOMES.contains(&r.outcome.as_str()),
        "outcome",
        "must be empty, attended, apologies or no_show",
    );
    let reason = r.reason.trim();
    v.check(
        !reason.is_empty(),
        "reason",
        "say why the attendance is corrected",
    );
    v.check(
        reason.chars().count() <= 500,
        "reason",
        "must be 500 characters or fewer",
    );
    v.finish()
}

/// Attendance at a session of `session_minutes`: the outcome, and minutes that fit it.
pub fn attendance(r: &RecordAttendanceRequest, session_minutes: u32) -> Result<(), ServiceError> {
    let mut v = Violations::default();
    v.check(
        !r.assignment_id.trim().is_empty(),
        "assignment_id",
        "is required",
    );
    let outcome = if r.outcome.is_empty() {
        "attended"
    } else {
        r.outcome.as_str()
    };
    outcome_minutes(&mut v, outcome, r.minutes, session_minutes);
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: &str = "2026-12-01";

    fn valid() -> CreateOpportunityRequest {
        CreateOpportunityRequest {
            title: "Rheumatology MDT seat".into(),
            kind: "mdt_seat".into(),
            involvement_level: 4,
            starts_on: "2026-12-01".into(),
            places: 1,
            pathway: "rheumatology".into(),
            cost_centre: "CC-4410".into(),
            ..Default::default()
        }
    }

    fn pathways() -> Listed {
        Listed::of([
            ("rheumatology".into(), "active".into(), String::new()),
            ("Spinal".into(), "active".into(), String::new()),
            ("back".into(), "merged".into(), "Spinal".into()),
            ("falls".into(), "retired".into(), String::new()),
        ])
    }

    #[test]
    fn a_pathway_must_be_one_of_the_trusts() {
        let with = |pathway: &str| {
            checked(CreateOpportunityRequest {
                pathway: pathway.into(),
                ..valid()
            })
        };
        assert_eq!(with(" RHEUMATOLOGY ").unwrap().pathway, "rheumatology");
        assert_eq!(
            with("back").unwrap().pathway,
            "Spinal",
            "merged: its successor"
        );
        assert_eq!(with("").unwrap().pathway, "", "none given");
        for (typed, says) in [
            ("Dr Jones's clinic", "is not one of the trust's pathways"),
            ("falls", "falls is retired"),
        ] {
            let ServiceError::Invalid(errors) = with(typed).unwrap_err() else {
                panic!("{typed}")
            };
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "pathway");
            assert!(errors[0].reason.contains(says), "{typed}: {errors:?}");
        }
    }

    fn checked(r: CreateOpportunityRequest) -> Result<CreateOpportunityRequest, ServiceError> {
        opportunity(r, TODAY, &pathways()).map(|(r, _)| r)
    }

    #[test]
    fn accepts_a_valid_opportunity() {
        assert!(checked(valid()).is_ok());
    }

    #[test]
    fn recurring_sessions_follow_the_pattern() {
        let (_, sessions) = super::opportunity(
            CreateOpportunityRequest {
                starts_on: "2027-01-31".into(),
                repeat: "monthly".into(),
                session_count: 3,
                expected_minutes: 90,
                start_time: "14:30".into(),
                ..valid()
            },
            TODAY,
            &pathways(),
        )
        .unwrap();
        let dates: Vec<_> = sessions.iter().map(|s| s.on.as_str()).collect();
        // February has no 31st: its last day.
        assert_eq!(dates, ["2027-01-31", "2027-02-28", "2027-03-31"]);
        assert!(sessions
            .iter()
            .all(|s| s.minutes == 90 && s.start_time == "14:30"));
        let weekly = session_dates(time::macros::date!(2026 - 12 - 03), "fortnightly", 3);
        assert_eq!(weekly[2], time::macros::date!(2026 - 12 - 31));
    }

    #[test]
    fn sessions_past_the_last_year_are_refused_by_field() {
        for (starts_on, repeat) in [("2199-06-30", "monthly"), ("2199-12-01", "weekly")] {
            let ServiceError::Invalid(errors) = checked(CreateOpportunityRequest {
                starts_on: starts_on.into(),
                repeat: repeat.into(),
                session_count: 52,
                ..valid()
            })
            .unwrap_err() else {
                panic!("refused by field")
            };
            assert_eq!(errors[0].field, "starts_on");
            assert!(
                errors[0].reason.contains("1900 to 2199"),
                "{}",
                errors[0].reason
            );
        }
        for year_zero in ["0000-01-01", "9999-12-31"] {
            let ServiceError::Invalid(errors) = checked(CreateOpportunityRequest {
                starts_on: year_zero.into(),
                ..valid()
            })
            .unwrap_err() else {
                panic!("refused by field")
            };
            assert_eq!(errors[0].field, "starts_on");
        }
    }

    #[test]
    fn published_sessions_are_in_the_future_and_held_ones_in_the_past() {
        let past = CreateOpportunityRequest {
            starts_on: "2026-11-20".into(),
            ..valid()
        };
        let ServiceError::Invalid(errors) = checked(past.clone()).unwrap_err() else {
            panic!()
        };
        assert_eq!(errors[0].field, "starts_on");
        assert!(
            errors[0].reason.contains("today (2026-12-01) or later"),
            "{errors:?}"
        );
        assert!(checked(CreateOpportunityRequest {
            draft: true,
            ..past.clone()
        })
        .is_ok());
        assert!(checked(CreateOpportunityRequest {
            held: true,
            ..past.clone()
        })
        .is_ok());
        let ServiceError::Invalid(errors) = checked(CreateOpportunityRequest {
            held: true,
            repeat: "weekly".into(),
            session_count: 3,
            ..past
        })
        .unwrap_err() else {
            panic!()
        };
        assert!(errors[0].reason.contains("2026-12-04"), "{errors:?}");
    }

    #[test]
    fn minutes_fit_the_session_and_its_outcome() {
        let check = |outcome: &str, minutes: u32| {
            let mut v = Violations::default();
            outcome_minutes(&mut v, outcome, minutes, 120);
            v.finish().is_ok()
        };
        assert!(check("attended", 180));
        assert!(!check("attended", 181));
        assert!(!check("attended", 0));
        assert!(check("apologies", 0));
        assert!(!check("no_show", 30));
        assert!(!check("late", 0));
    }

    #[test]
    fn names_every_bad_field() {
        let bad = CreateOpportunityRequest {
            title: "".into(),
            kind: "party".into(),
            involvement_level: 5,
            starts_on: "1/12/2026".into(),
            places: 0,
            required_role: "chair".into(),
            pathway: "Ward 9".into(),
            cost_centre: "CC 44".into(),
            remuneration: "gift".into(),
            ..Default::default()
        };
        let ServiceError::Invalid(errors) = checked(bad).unwrap_err() else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "kind",
                "involvement_level",
                "starts_on",
                "places",
                "required_role",
                "pathway",
                "cost_centre",
                "remuneration"
            ]
        );
    }

    #[test]
    fn remuneration_defaults_to_the_rate_card() {
        assert_eq!(checked(valid()).unwrap().remuneration, "rate_card");
    }

    #[test]
    fn a_correction_needs_a_reason_and_may_be_zero() {
        let ok = CorrectAttendanceRequest {
            attendance_id: "att_1".into(),
            minutes: 0,
            reason: "Recorded against the wrong partner".into(),
            outcome: String::new(),
        };
        assert!(correction(&ok).is_ok());
        let ServiceError::Invalid(errors) = correction(&CorrectAttendanceRequest {
            minutes: 1441,
            reason: " ".into(),
            ..ok
        })
        .unwrap_err() else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["minutes", "reason"]);
    }

    #[test]
    fn attendance_minutes_are_bounded_by_the_session() {
        let ok = RecordAttendanceRequest {
            assignment_id: "asg_1".into(),
            minutes: 240,
            ..Default::default()
        };
        assert!(attendance(&ok, 180).is_ok());
        assert!(attendance(&ok, 120).is_err());
        assert!(attendance(
            &RecordAttendanceRequest {
                minutes: 0,
                outcome: "apologies".into(),
                ..ok
            },
            120
        )
        .is_ok());
    }
}
