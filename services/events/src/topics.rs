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
pub const FEEDBACK_PLACES: &str = "feedback.places.v1";
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
        key: "tenant/fft/month/site/pathway (docs/asyncapi.yaml)",
        retention_days: None,
    },
    Topic {
        name: FEEDBACK_PLACES,
        producer: "feedback",
        key: "tenant/kind/code (lower case)",
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

/// How long dead letters are kept, whatever their topic's retention: long enough to investigate
/// and replay, and never compacted away.
pub const DLQ_RETENTION_DAYS: u64 = 30;

/// A topic as a broker is asked to create it: a registry topic or a dead-letter twin.
#[derive(Debug, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    /// `delete` or `compact`.
    pub cleanup_policy: &'static str,
    pub retention_ms: Option<u64>,
    pub dlq: bool,
}

impl TopicSpec {
    /// The topic-level configuration to create it with.
    pub fn configs(&self) -> Vec<(&'static str, String)> {
        let mut configs = vec![("cleanup.policy", self.cleanup_policy.to_string())];
        if let Some(ms) = self.retention_ms {
            configs.push(("retention.ms", ms.to_string()));
        }
        configs
    }
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Every topic to create, each followed by its dead-letter twin.
pub fn specs() -> Vec<TopicSpec> {
    REGISTRY
        .iter()
        .flat_map(|topic| {
            [
                TopicSpec {
                    name: topic.name.to_string(),
                    cleanup_policy: if topic.retention_days.is_some() {
                        "delete"
                    } else {
                        "compact"
                    },
                    retention_ms: topic.retention_days.map(|days| u64::from(days) * DAY_MS),
                    dlq: false,
                },
                TopicSpec {
                    name: dlq(topic.name),
                    cleanup_policy: "delete",
                    retention_ms: Some(DLQ_RETENTION_DAYS * DAY_MS),
                    dlq: true,
                },
            ]
        })
        .collect()
}

/// The Helm chart's copy of the registry (`helm/alongside/files/topics.yaml`), from which it
/// provisions topics; a test keeps the two the same.
pub fn chart_file() -> String {
    let mut out = String::from(
        "# The Kafka topics Alongside uses, each followed by its dead-letter twin.\n\
         # Generated from the registry in services/events/src/topics.rs: do not edit by hand.\n\
         # `make topics-file` rewrites it; a test fails when the two differ.\n",
    );
    for spec in specs() {
        out.push_str(&format!(
            "- name: {}\n  cleanupPolicy: {}\n  retentionMs: {}\n  dlq: {}\n",
            spec.name,
            spec.cleanup_policy,
            spec.retention_ms
                .map_or_else(|| "null".to_string(), |ms| ms.to_string()),
            spec.dlq
        ));
    }
    out
}

/// Every topic name, with its dead-letter twin.
pub fn all_names() -> Vec<String> {
    REGISTRY
        .iter()
        .flat_map(|t| [t.name.to_string(), dlq(t.name)])
        .collect()
}

/// The topics others may read or write (ICS data teams, survey tools), each described in
/// `docs/asyncapi.yaml`; every other topic is Alongside's own.
pub fn public_names() -> Vec<String> {
    vec![
        FEEDBACK_INSIGHTS.to_string(),
        FEEDBACK_RESPONSES.to_string(),
        dlq(FEEDBACK_RESPONSES),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asyncapi_document_describes_every_public_topic_as_created() {
        let doc = include_str!("../../../docs/asyncapi.yaml");
        // The document's second-level blocks (channels, operations, ...), each as its lines.
        let mut blocks: Vec<String> = Vec::new();
        for line in doc.lines() {
            let top = line.starts_with("  ") && !line.starts_with("   ");
            match blocks.last_mut() {
                Some(block) if !top => block.push_str(&format!("{line}\n")),
                _ => blocks.push(format!("{line}\n")),
            }
        }
        for spec in specs() {
            let address = format!("    address: {}\n", spec.name);
            let channel = blocks.iter().find(|block| block.contains(&address));
            if !public_names().contains(&spec.name) {
                assert!(channel.is_none(), "{} is not for others", spec.name);
                continue;
            }
            let channel = channel.unwrap_or_else(|| panic!("{} has a channel", spec.name));
            assert!(
                channel.contains(&format!(
                    "cleanup.policy:\n            - {}\n",
                    spec.cleanup_policy
                )),
                "{}: {}",
                spec.name,
                spec.cleanup_policy
            );
            match spec.retention_ms {
                Some(ms) => assert!(
                    channel.contains(&format!("retention.ms: {ms}\n")),
                    "{}: retention {ms}",
                    spec.name
                ),
                None => assert!(!channel.contains("retention.ms"), "{}", spec.name),
            }
        }
        // Keys are where Java clients put them, as the producers are configured.
        assert!(doc.contains("murmur2_random"));
        assert!(include_str!("kafka.rs").contains(r#".set("partitioner", "murmur2_random")"#));
    }

    #[test]
    fn every_topic_has_a_dlq_twin_and_a_versioned_name() {
        let names = all_names();
        assert_eq!(names.len(), REGISTRY.len() * 2);
        for topic in REGISTRY {
            assert!(topic.name.ends_with(".v1"), "{}", topic.name);
            assert!(names.contains(&format!("{}.dlq", topic.name)));
        }
        let specs = specs();
        assert_eq!(
            specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            names
        );
        let insights = specs.iter().find(|s| s.name == FEEDBACK_INSIGHTS).unwrap();
        assert_eq!(
            insights.configs(),
            vec![("cleanup.policy", "compact".to_string())]
        );
        let insights_dlq = specs
            .iter()
            .find(|s| s.name == "feedback.insights.v1.dlq")
            .unwrap();
        assert_eq!(
            insights_dlq.configs(),
            vec![
                ("cleanup.policy", "delete".to_string()),
                ("retention.ms", "2592000000".to_string())
            ]
        );
    }

    /// The chart provisions topics from its copy of the registry; the copy must match.
    #[test]
    fn the_helm_chart_lists_the_same_topics() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../helm/alongside/files/topics.yaml");
        if std::env::var_os("ALONGSIDE_UPDATE_TOPICS_FILE").is_some() {
            std::fs::write(&path, chart_file()).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk,
            chart_file(),
            "{} differs from the registry: run `make topics-file`",
            path.display()
        );
    }
}
