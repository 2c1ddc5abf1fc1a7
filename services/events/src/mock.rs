//! librdkafka's in-process mock cluster, the broker of the embedded run. It speaks the real Kafka
//! protocol on a loopback port, so a standard Kafka client can read the embedded suite's topics.

use std::ffi::{CStr, CString};

use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::ClientConfig;
use rdkafka_sys as rdsys;

pub struct MockBroker {
    cluster: *mut rdsys::rd_kafka_mock_cluster_t,
    bootstrap: String,
    // The mock cluster lives inside this client's handle; it must outlive the cluster.
    _handle: BaseProducer,
}

// SAFETY: librdkafka's mock cluster API is thread-safe; the pointer is only used through it.
unsafe impl Send for MockBroker {}
unsafe impl Sync for MockBroker {}

#[derive(Debug, thiserror::Error)]
#[error("mock Kafka cluster: {0}")]
pub struct MockError(String);

impl MockBroker {
    /// Starts a one-broker cluster whose consumer groups rebalance at once (not after 3 s).
    pub fn start() -> Result<Self, MockError> {
        let handle: BaseProducer = ClientConfig::new()
            .create()
            .map_err(|e| MockError(e.to_string()))?;
        // SAFETY: the handle is a valid rd_kafka_t for as long as `self` lives.
        let cluster = unsafe { rdsys::rd_kafka_mock_cluster_new(handle.client().native_ptr(), 1) };
        if cluster.is_null() {
            return Err(MockError(
                "librdkafka could not create the mock cluster".into(),
            ));
        }
        // SAFETY: `cluster` is non-null and owned by us; bootstraps returns a string it owns.
        let bootstrap = unsafe {
            rdsys::rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0);
            CStr::from_ptr(rdsys::rd_kafka_mock_cluster_bootstraps(cluster))
                .to_string_lossy()
                .into_owned()
        };
        Ok(Self {
            cluster,
            bootstrap,
            _handle: handle,
        })
    }

    /// Settings for a client of this broker (plaintext, no topics created): `partitions` is
    /// what topics it would create have.
    pub fn client_settings(&self, partitions: i32) -> alongside_platform::config::KafkaSettings {
        alongside_platform::config::KafkaSettings {
            brokers: self.bootstrap_servers().to_string(),
            security_protocol: "plaintext".into(),
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            partitions,
            replication_factor: 1,
            create_topics: false,
            republish_on_start: false,
            ssl_ca_location: None,
        }
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates the registry's topics and their dead-letter twins.
    pub fn create_registry_topics(&self, partitions: i32) -> Result<(), MockError> {
        for name in crate::topics::all_names() {
            let topic = CString::new(name.clone()).map_err(|e| MockError(e.to_string()))?;
            // SAFETY: valid cluster pointer and NUL-terminated topic name.
            let err = unsafe {
                rdsys::rd_kafka_mock_topic_create(self.cluster, topic.as_ptr(), partitions, 1)
            };
            if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(MockError(format!("creating {name}: {err:?}")));
            }
        }
        Ok(())
    }
}

impl Drop for MockBroker {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_mock_cluster_new and destroyed once.
        unsafe { rdsys::rd_kafka_mock_cluster_destroy(self.cluster) };
    }
}
