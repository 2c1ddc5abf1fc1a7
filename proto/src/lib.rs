//! Alongside's contracts: gRPC services and Kafka event payloads, one module per proto package.

/// Encoded `FileDescriptorSet` of every contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/alongside_descriptor.bin"));

pub mod contracts;

pub mod common {
    pub mod v1 {
        tonic::include_proto!("alongside.common.v1");
    }
}

pub mod people {
    pub mod v1 {
        tonic::include_proto!("alongside.people.v1");
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("alongside.people.events.v1");
        }
    }
}

pub mod engagement {
    pub mod v1 {
        tonic::include_proto!("alongside.engagement.v1");
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("alongside.engagement.events.v1");
        }
    }
}

pub mod feedback {
    pub mod v1 {
        tonic::include_proto!("alongside.feedback.v1");
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("alongside.feedback.events.v1");
        }
    }
}

pub mod payments {
    pub mod v1 {
        tonic::include_proto!("alongside.payments.v1");
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("alongside.payments.events.v1");
        }
    }
}

/// The kinds of involvement work (DOMAIN.md §3): engagement offers them, payments prices them.
pub const ACTIVITY_KINDS: &[&str] = &[
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

/// The roles a partner can hold in the People Bank (DOMAIN.md §2): the people service grants
/// them, engagement matches opportunities on them.
pub const PARTNER_ROLES: &[&str] = &[
    "forum_member",
    "patient_carer_partner",
    "governance_partner",
    "improvement_partner",
    "peer_support_worker",
    "co_researcher",
    "trainer",
    "recruitment_panel_member",
];

/// The purposes a partner consents to (DOMAIN.md §2), with what each means, in the order they
/// are shown: the people service records them, the portal asks for them.
pub const CONSENT_PURPOSES: &[(&str, &str)] = &[
    ("contact", "Being contacted about involvement opportunities"),
    ("data", "The trust keeping these details in its People Bank"),
    (
        "sharing",
        "Being offered to other trusts of the same Integrated Care System",
    ),
    (
        "equality",
        "Equality monitoring answers, used only in anonymous totals",
    ),
];

/// Reasonable adjustments a partner may need (DOMAIN.md §2): (code, label).
pub const ADJUSTMENTS: &[(&str, &str)] = &[
    ("large_print", "Large print"),
    ("bsl", "A British Sign Language interpreter"),
    ("easy_read", "Easy read documents"),
    ("hearing_loop", "A hearing loop"),
    ("step_free", "Step-free access"),
];

/// Benefits a partner may say they receive (DOMAIN.md §5), so that payments can warn them and
/// finance near that benefit's earnings limit: (code, label).
pub const BENEFITS: &[(&str, &str)] = &[
    ("esa", "Employment and Support Allowance (ESA)"),
    ("carers_allowance", "Carer's Allowance"),
    ("universal_credit", "Universal Credit"),
    ("pip_dla_aa", "PIP, DLA or Attendance Allowance"),
    ("other", "Another benefit"),
];

/// (code, label) of one answer.
pub type Answer = (&'static str, &'static str);

/// The answers of the survey's other questions, by scale (see `SurveyQuestion.scale`).
pub const SURVEY_AGREEMENT: &[Answer] = &[
    ("yes_definitely", "Yes, definitely"),
    ("yes_somewhat", "Yes, to some extent"),
    ("no", "No"),
    ("dont_know", "Don't know"),
];
pub const SURVEY_RATING: &[Answer] = &[
    ("very_good", "Very good"),
    ("good", "Good"),
    ("neither", "Neither good nor poor"),
    ("poor", "Poor"),
    ("very_poor", "Very poor"),
    ("dont_know", "Don't know"),
];

/// The answers of a survey scale: rating, or agreement (the default).
pub fn survey_answers(scale: &str) -> &'static [Answer] {
    if scale == "rating" {
        SURVEY_RATING
    } else {
        SURVEY_AGREEMENT
    }
}

/// The FFT question in NHS England's wording for most settings (since April 2020).
pub const FFT_QUESTION: &str = "Overall, how was your experience of our service?";

/// The equality monitoring questions (DOMAIN.md §2) and their answers, in the order asked;
/// "prefer_not_to_say" is always allowed besides. The people service keeps the answers, the
/// portal asks them.
pub const EQUALITY_QUESTIONS: &[(&str, &str, &[Answer])] = &[
    (
        "age_band",
        "Age",
        &[
            ("16_24", "16 to 24"),
            ("25_34", "25 to 34"),
            ("35_44", "35 to 44"),
            ("45_54", "45 to 54"),
            ("55_64", "55 to 64"),
            ("65_74", "65 to 74"),
            ("75_plus", "75 or over"),
        ],
    ),
    ("sex", "Sex", &[("female", "Female"), ("male", "Male")]),
    (
        "ethnic_group",
        "Ethnic group",
        // The five high-level groups of the 2021 Census in England and Wales.
        &[
            ("asian", "Asian or Asian British"),
            ("black", "Black, Black British, Caribbean or African"),
            ("mixed", "Mixed or multiple ethnic groups"),
            ("white", "White"),
            ("other", "Other ethnic group"),
        ],
    ),
    (
        "disability",
        "Disability or long-term condition that limits day-to-day activities",
        &[("yes", "Yes"), ("no", "No")],
    ),
    (
        "carer",
        "Caring for someone",
        &[("yes", "Yes"), ("no", "No")],
    ),
];

impl feedback::v1::FftAnswer {
    /// The six answers in the order asked (NHS England, since 1 April 2020).
    pub const ALL: [Self; 6] = [
        Self::VeryGood,
        Self::Good,
        Self::Neither,
        Self::Poor,
        Self::VeryPoor,
        Self::DontKnow,
    ];

    /// The stored name of an answer (stable: the database, CSV files and the API use it).
    pub fn code(self) -> &'static str {
        match self {
            Self::VeryGood => "very_good",
            Self::Good => "good",
            Self::Neither => "neither",
            Self::Poor => "poor",
            Self::VeryPoor => "very_poor",
            Self::DontKnow => "dont_know",
            Self::Unspecified => "unspecified",
        }
    }

    /// As the question's answers are worded.
    pub fn label(self) -> &'static str {
        match self {
            Self::VeryGood => "Very good",
            Self::Good => "Good",
            Self::Neither => "Neither good nor poor",
            Self::Poor => "Poor",
            Self::VeryPoor => "Very poor",
            Self::DontKnow => "Don't know",
            Self::Unspecified => "",
        }
    }

    /// The answer a stored code names; `Unspecified` for anything else.
    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|a| a.code() == code)
            .unwrap_or(Self::Unspecified)
    }

    /// The answer as a person or a survey tool might write it: its code, its wording (any case,
    /// any apostrophe) or its number 1 to 6.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i32>() {
            return Self::ALL.into_iter().find(|a| *a as i32 == n);
        }
        let fold = |s: &str| s.to_lowercase().replace(['’', '\''], "");
        Self::ALL
            .into_iter()
            .find(|a| a.code() == text || fold(a.label()) == fold(text))
    }
}

/// The full protobuf name of an event message, used as the envelope's `event_type`.
pub trait EventName: prost::Message + Default {
    const EVENT_TYPE: &'static str;
}

macro_rules! event_names {
    ($($ty:path => $name:literal),* $(,)?) => {
        $(impl EventName for $ty { const EVENT_TYPE: &'static str = $name; })*
    };
}

event_names! {
    people::events::v1::PartnerRegistered => "alongside.people.events.v1.PartnerRegistered",
    people::events::v1::PartnerStatusChanged => "alongside.people.events.v1.PartnerStatusChanged",
    people::events::v1::PartnerErased => "alongside.people.events.v1.PartnerErased",
    people::events::v1::PartnerEligibilityChanged => "alongside.people.events.v1.PartnerEligibilityChanged",
    people::events::v1::PartnerConsentChanged => "alongside.people.events.v1.PartnerConsentChanged",
    engagement::events::v1::OpportunityPublished => "alongside.engagement.events.v1.OpportunityPublished",
    engagement::events::v1::OpportunityCancelled => "alongside.engagement.events.v1.OpportunityCancelled",
    engagement::events::v1::PartnerAssigned => "alongside.engagement.events.v1.PartnerAssigned",
    engagement::events::v1::AttendanceRecorded => "alongside.engagement.events.v1.AttendanceRecorded",
    engagement::events::v1::AttendanceCorrected => "alongside.engagement.events.v1.AttendanceCorrected",
    people::events::v1::PartnerPaymentTermsChanged => "alongside.people.events.v1.PartnerPaymentTermsChanged",
    people::events::v1::PartnerBankDetailsChanged => "alongside.people.events.v1.PartnerBankDetailsChanged",
    feedback::events::v1::FftResponseReceived => "alongside.feedback.events.v1.FftResponseReceived",
    feedback::events::v1::FftInsight => "alongside.feedback.events.v1.FftInsight",
    feedback::events::v1::SpcInsight => "alongside.feedback.events.v1.SpcInsight",
    feedback::events::v1::ThemeInsight => "alongside.feedback.events.v1.ThemeInsight",
    feedback::events::v1::PromInsight => "alongside.feedback.events.v1.PromInsight",
    feedback::events::v1::InvolvementInsight => "alongside.feedback.events.v1.InvolvementInsight",
    feedback::events::v1::PlaceChanged => "alongside.feedback.events.v1.PlaceChanged",
    payments::events::v1::ClaimCreated => "alongside.payments.events.v1.ClaimCreated",
    payments::events::v1::ClaimCorrected => "alongside.payments.events.v1.ClaimCorrected",
    payments::events::v1::ClaimApproved => "alongside.payments.events.v1.ClaimApproved",
    payments::events::v1::ClaimRejected => "alongside.payments.events.v1.ClaimRejected",
    payments::events::v1::PaymentRunCreated => "alongside.payments.events.v1.PaymentRunCreated",
    payments::events::v1::PaymentRunCancelled => "alongside.payments.events.v1.PaymentRunCancelled",
    payments::events::v1::PaymentRunCompleted => "alongside.payments.events.v1.PaymentRunCompleted",
    payments::events::v1::PaymentIssued => "alongside.payments.events.v1.PaymentIssued",
}
