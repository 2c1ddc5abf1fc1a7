//! Checks on opportunities and attendance, each with a message that says what to fix.

use alongside_platform::error::{ServiceError, Violations};
use alongside_proto::engagement::v1::{CreateOpportunityRequest, RecordAttendanceRequest};

/// The kinds of work from the source practice (DOMAIN.md §3).
pub const KINDS: &[&str] = &[
    "forum_meeting",
    "mdt_seat",
    "improvement_group",
    "pathway_redesign",
    "discussion_group",
    "training_codelivery",
    "recruitment_panel",
    "co_research",
    "story_video",
    "health_equity",
    "digital_advisory",
];

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
    v.finish()?;
    Ok(r)
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
                "required_role"
            ]
        );
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
