//! Checks on opportunities and attendance, each with a message that says what to fix.

use alongside_platform::error::{ServiceError, Violations};
use alongside_proto::engagement::v1::{
    CorrectAttendanceRequest, CreateOpportunityRequest, RecordAttendanceRequest,
};

/// The kinds of work from the source practice (DOMAIN.md §3).
pub use alongside_proto::ACTIVITY_KINDS as KINDS;

pub fn opportunity(
    mut r: CreateOpportunityRequest,
) -> Result<CreateOpportunityRequest, ServiceError> {
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
        "must be a date in the form YYYY-MM-DD",
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
    r.pathway = r.pathway.trim().to_string();
    v.check(
        r.pathway.chars().count() <= 100,
        "pathway",
        "must be 100 characters or fewer",
    );
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
    v.finish()?;
    Ok(r)
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

/// A day at most: longer sessions are recorded as several attendances.
pub fn attendance(r: &RecordAttendanceRequest) -> Result<(), ServiceError> {
    let mut v = Violations::default();
    v.check(
        !r.assignment_id.trim().is_empty(),
        "assignment_id",
        "is required",
    );
    v.check(
        (1..=1440).contains(&r.minutes),
        "minutes",
        "must be between 1 and 1440 (one day)",
    );
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> CreateOpportunityRequest {
        CreateOpportunityRequest {
            title: "Rheumatology MDT seat".into(),
            kind: "mdt_seat".into(),
            involvement_level: 4,
            starts_on: "2026-12-01".into(),
            places: 1,
            required_role: String::new(),
            pathway: "rheumatology".into(),
            cost_centre: "CC-4410".into(),
            remuneration: String::new(),
        }
    }

    #[test]
    fn accepts_a_valid_opportunity() {
        assert!(opportunity(valid()).is_ok());
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
            pathway: String::new(),
            cost_centre: "CC 44".into(),
            remuneration: "gift".into(),
        };
        let ServiceError::Invalid(errors) = opportunity(bad).unwrap_err() else {
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
                "cost_centre",
                "remuneration"
            ]
        );
    }

    #[test]
    fn remuneration_defaults_to_the_rate_card() {
        assert_eq!(opportunity(valid()).unwrap().remuneration, "rate_card");
    }

    #[test]
    fn a_correction_needs_a_reason_and_may_be_zero() {
        let ok = CorrectAttendanceRequest {
            attendance_id: "att_1".into(),
            minutes: 0,
            reason: "Recorded against the wrong partner".into(),
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
    fn attendance_minutes_are_bounded() {
        let ok = RecordAttendanceRequest {
            assignment_id: "asg_1".into(),
            minutes: 240,
        };
        assert!(attendance(&ok).is_ok());
        assert!(attendance(&RecordAttendanceRequest {
            minutes: 0,
            ..ok.clone()
        })
        .is_err());
        assert!(attendance(&RecordAttendanceRequest {
            minutes: 1441,
            ..ok
        })
        .is_err());
    }
}
