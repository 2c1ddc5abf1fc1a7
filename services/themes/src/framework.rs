//! NHS England's patient-experience qualitative framework, version 7 (as used by pxtextmining):
//! 10 major categories, 32 sub-categories and "Not assigned", and how the public v6-labelled
//! data maps onto it.

/// A sub-category a comment can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Category {
    /// A stable code for storage and APIs.
    pub code: &'static str,
    pub name: &'static str,
    pub major: &'static str,
}

const fn c(code: &'static str, name: &'static str, major: &'static str) -> Category {
    Category { code, name, major }
}

pub const GENERAL: &str = "General";
pub const STAFF: &str = "Staff";
pub const ACCESS: &str = "Access to medical care & support";
pub const COMMUNICATION: &str = "Communication & involvement";
pub const JOURNEY: &str = "Patient journey & service coordination";
pub const MEDICATION: &str = "Medication & pain";
pub const ENVIRONMENT: &str = "Environment, equipment & catering";
pub const LOCATION: &str = "Service location, travel & transport";
pub const ACTIVITIES: &str = "Activities";
pub const MENTAL_HEALTH: &str = "Mental health specifics";

/// The major categories in the framework's order.
pub const MAJORS: [&str; 10] = [
    GENERAL,
    STAFF,
    ACCESS,
    COMMUNICATION,
    JOURNEY,
    MEDICATION,
    ENVIRONMENT,
    LOCATION,
    ACTIVITIES,
    MENTAL_HEALTH,
];

/// The 32 sub-categories a model predicts, in the framework's order.
pub const CATEGORIES: [Category; 32] = [
    c(
        "positive_experience",
        "Positive experience & gratitude",
        GENERAL,
    ),
    c(
        "organisation_efficiency",
        "Organisation & efficiency",
        GENERAL,
    ),
    c("funding", "Funding & use of financial resources", GENERAL),
    c("feeling_safe", "Feeling safe", GENERAL),
    c("labelling_not_possible", "Labelling not possible", GENERAL),
    c("staff_manner", "Staff manner & personal attributes", STAFF),
    c("staffing_levels", "Staffing levels & responsiveness", STAFF),
    c("competence_training", "Competence & training", STAFF),
    c("contacting_services", "Contacting services", ACCESS),
    c(
        "appointment_arrangements",
        "Appointment arrangements",
        ACCESS,
    ),
    c("appointment_method", "Appointment method", ACCESS),
    c("timeliness", "Timeliness of care", ACCESS),
    c(
        "unspecified_communication",
        "Unspecified communication",
        COMMUNICATION,
    ),
    c(
        "listening_involving",
        "Staff listening, understanding & involving patients",
        COMMUNICATION,
    ),
    c(
        "information_from_staff",
        "Information directly from staff during care",
        COMMUNICATION,
    ),
    c(
        "information_provision",
        "Information provision & guidance",
        COMMUNICATION,
    ),
    c(
        "kept_informed",
        "Being kept informed, clarity & consistency of information",
        COMMUNICATION,
    ),
    c(
        "family_carers",
        "Interaction with family/ carers",
        COMMUNICATION,
    ),
    c("continuity_of_care", "Continuity of care", JOURNEY),
    c("discharge", "Discharge", JOURNEY),
    c(
        "medication",
        "Supplying & understanding medication",
        MEDICATION,
    ),
    c("pain_management", "Pain management", MEDICATION),
    c(
        "cleanliness",
        "Cleanliness, tidiness & infection control",
        ENVIRONMENT,
    ),
    c("sensory_experience", "Sensory experience", ENVIRONMENT),
    c(
        "environment_facilities",
        "Environment, facilities & equipment",
        ENVIRONMENT,
    ),
    c(
        "food_drink",
        "Food & drink provision & facilities",
        ENVIRONMENT,
    ),
    c("service_location", "Service location", LOCATION),
    c("transport", "Transport to/ from services", LOCATION),
    c("parking", "Parking", LOCATION),
    c("activities", "Activities & access to fresh air", ACTIVITIES),
    c(
        "electronic_entertainment",
        "Electronic entertainment",
        ACTIVITIES,
    ),
    c("mental_health_act", "Mental Health Act", MENTAL_HEALTH),
];

/// The fallback when a comment has content but fits no category.
pub const NOT_ASSIGNED: Category = c("not_assigned", "Not assigned", GENERAL);

/// Looks a category up by its code, "not_assigned" included.
pub fn by_code(code: &str) -> Option<Category> {
    CATEGORIES
        .iter()
        .copied()
        .chain([NOT_ASSIGNED])
        .find(|c| c.code == code)
}

/// Position of a category among [`CATEGORIES`].
pub fn index_of(code: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| c.code == code)
}

/// Where a v6 column's label goes in v7: a category code, or `None` for a column v7 retired (or
/// that the v6 model never used). "Not assigned" maps to nothing: it is what is left.
pub fn v6_to_v7(column: &str) -> Option<&'static str> {
    Some(match column {
        "Organisation & efficiency" => "organisation_efficiency",
        "Funding & use of financial resources" => "funding",
        "Staff manner & personal attributes" => "staff_manner",
        "Number & deployment of staff" | "Staff responsiveness" => "staffing_levels",
        "Staff continuity"
        | "Diagnosis & triage"
        | "Referals & continuity of care"
        | "Care plans" => "continuity_of_care",
        "Competence & training" => "competence_training",
        "Unspecified communication" => "unspecified_communication",
        "Staff listening, understanding & involving patients" => "listening_involving",
        "Information directly from staff during care" => "information_from_staff",
        "Information provision & guidance" => "information_provision",
        "Being kept informed, clarity & consistency of information" => "kept_informed",
        "Contacting services" => "contacting_services",
        "Appointment arrangements" => "appointment_arrangements",
        "Appointment method" => "appointment_method",
        "Timeliness of care" => "timeliness",
        "Pain management" => "pain_management",
        "Discharge" => "discharge",
        "Cleanliness, tidiness & infection control" => "cleanliness",
        "Provision of medical equipment" | "Environment & Facilities" => "environment_facilities",
        "Service location" => "service_location",
        "Transport to/ from services" => "transport",
        "Parking" => "parking",
        "Electronic entertainment" => "electronic_entertainment",
        "Feeling safe" => "feeling_safe",
        "Mental Health Act" => "mental_health_act",
        "Labelling not possible" => "labelling_not_possible",
        "Supplying & understanding medication" => "medication",
        "Activities & access to fresh air" => "activities",
        "Food & drink provision & facilities" => "food_drink",
        "Sensory experience" => "sensory_experience",
        "Interaction with family/ carers" => "family_carers",
        "Positive experience & gratitude" => "positive_experience",
        _ => return None,
    })
}

/// The 5-point sentiment of the framework (mixed comments are neutral).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sentiment {
    VeryPositive = 1,
    Positive = 2,
    Neutral = 3,
    Negative = 4,
    VeryNegative = 5,
}

impl Sentiment {
    pub const ALL: [Sentiment; 5] = [
        Sentiment::VeryPositive,
        Sentiment::Positive,
        Sentiment::Neutral,
        Sentiment::Negative,
        Sentiment::VeryNegative,
    ];

    pub fn from_score(score: u8) -> Option<Self> {
        Self::ALL.get(usize::from(score).checked_sub(1)?).copied()
    }

    pub fn score(self) -> u8 {
        self as u8
    }

    pub fn code(self) -> &'static str {
        match self {
            Sentiment::VeryPositive => "very_positive",
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
            Sentiment::VeryNegative => "very_negative",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Sentiment::VeryPositive => "Very positive",
            Sentiment::Positive => "Positive",
            Sentiment::Neutral => "Neutral or mixed",
            Sentiment::Negative => "Negative",
            Sentiment::VeryNegative => "Very negative",
        }
    }
}

/// The question a comment answers, which changes what its words mean ("nothing" is praise after
/// "what could we do better?").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Question {
    WorkedWell,
    CouldImprove,
    /// "Why did you answer as you did?" and other open questions.
    Unspecified,
}

impl Question {
    pub fn code(self) -> &'static str {
        match self {
            Question::WorkedWell => "worked_well",
            Question::CouldImprove => "could_improve",
            Question::Unspecified => "unspecified",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            Question::WorkedWell,
            Question::CouldImprove,
            Question::Unspecified,
        ]
        .into_iter()
        .find(|q| q.code() == code)
    }

    /// The question of a pxtextmining row, from its wording.
    pub fn of_fft_question(text: &str) -> Self {
        match text.trim() {
            "What was good?" => Question::WorkedWell,
            "How could we improve?" | "What could we do better?" => Question::CouldImprove,
            _ => Question::Unspecified,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_two_categories_in_ten_majors_with_unique_codes() {
        let codes: std::collections::BTreeSet<_> = CATEGORIES.iter().map(|c| c.code).collect();
        assert_eq!(codes.len(), 32);
        for major in MAJORS {
            assert!(CATEGORIES.iter().any(|c| c.major == major), "{major}");
        }
        assert!(CATEGORIES.iter().all(|c| MAJORS.contains(&c.major)));
    }

    #[test]
    fn v6_columns_merge_as_v7_did() {
        assert_eq!(v6_to_v7("Staff responsiveness"), Some("staffing_levels"));
        assert_eq!(
            v6_to_v7("Number & deployment of staff"),
            Some("staffing_levels")
        );
        assert_eq!(v6_to_v7("Care plans"), Some("continuity_of_care"));
        assert_eq!(v6_to_v7("Impact of treatment/ care"), None, "retired in v7");
        assert_eq!(v6_to_v7("Not assigned"), None, "the fallback, not a label");
        // Every v7 category has a v6 source, so every one can be learned.
        let names = [
            "Organisation & efficiency",
            "Funding & use of financial resources",
            "Staff manner & personal attributes",
            "Staff responsiveness",
            "Care plans",
            "Competence & training",
            "Unspecified communication",
            "Staff listening, understanding & involving patients",
            "Information directly from staff during care",
            "Information provision & guidance",
            "Being kept informed, clarity & consistency of information",
            "Contacting services",
            "Appointment arrangements",
            "Appointment method",
            "Timeliness of care",
            "Pain management",
            "Discharge",
            "Cleanliness, tidiness & infection control",
            "Environment & Facilities",
            "Service location",
            "Transport to/ from services",
            "Parking",
            "Electronic entertainment",
            "Feeling safe",
            "Mental Health Act",
            "Labelling not possible",
            "Supplying & understanding medication",
            "Activities & access to fresh air",
            "Food & drink provision & facilities",
            "Sensory experience",
            "Interaction with family/ carers",
            "Positive experience & gratitude",
        ];
        let covered: std::collections::BTreeSet<_> =
            names.iter().filter_map(|n| v6_to_v7(n)).collect();
        assert_eq!(covered.len(), 32);
    }

    #[test]
    fn questions_and_sentiments_round_trip() {
        assert_eq!(
            Question::of_fft_question("What could we do better?"),
            Question::CouldImprove
        );
        assert_eq!(Question::of_fft_question("FFT Why?"), Question::Unspecified);
        for s in Sentiment::ALL {
            assert_eq!(Sentiment::from_score(s.score()), Some(s));
            assert_eq!(Sentiment::parse(s.code()), Some(s));
        }
        assert_eq!(Sentiment::from_score(0), None);
        assert_eq!(Sentiment::from_score(6), None);
    }
}
