//! The topic registry: every topic Alongside produces or consumes. The Helm chart provisions the
//! same list; the embedded suite and tests create it at start-up.

pub struct Topic {
    pub name: &'static str,
    pub producer: &'static str,
    /// What the message key is; messages with one key keep their order.
    pub key: &'static str,
    /// Retention in days; `None` for compacted topics.
    pub retention_days: Option<u32>,
}

pub const PEOPLE_PARTNERS: &str = "people.partners.v1";
pub const ENGAGEMENT_ACTIVITIES: &str = "engagement.activities.v1";
pub const FEEDBACK_RESPONSES: &str = "feedback.responses.v1";
pub const FEEDBACK_INSIGHTS: &str = "feedback.insights.v1";
pub const PAYMENTS_CLAIMS: &str = "payments.claims.v1";

pub const REGISTRY: &[Topic] = &[
    Topic {
        name: PEOPLE_PARTNERS,
        producer: "people",
        key: "partner id",
        retention_days: Some(30),
    },
    Topic {
        name: ENGAGEMENT_ACTIVITIES,
        producer: "engagement",
        key: "opportunity id",
        retention_days: Some(30),
    },
    Topic {
        name: FEEDBACK_RESPONSES,
        producer: "survey tools, gateway uploads",
        key: "tenant:source",
        retention_days: Some(7),
    },
    Topic {
        name: FEEDBACK_INSIGHTS,
        producer: "feedback",
        key: "tenant",
        retention_days: None,
    },
    Topic {
        name: PAYMENTS_CLAIMS,
        producer: "payments",
        key: "partner id",
        retention_days: Some(30),
    },
];

/// The dead-letter twin of a topic.
pub fn dlq(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Every topic name, with its dead-letter twin.
pub fn all_names() -> Vec<String> {
    REGISTRY
        .iter()
        .flat_map(|t| [t.name.to_string(), dlq(t.name)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_has_a_dlq_twin_and_a_versioned_name() {
        let names = all_names();
        assert_eq!(names.len(), REGISTRY.len() * 2);
        for topic in REGISTRY {
            assert!(topic.name.ends_with(".v1"), "{}", topic.name);
            assert!(names.contains(&format!("{}.dlq", topic.name)));
        }
    }
}
