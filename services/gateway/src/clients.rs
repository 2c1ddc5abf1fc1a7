//! gRPC clients of the four services. Every call carries a short-lived internal token for the
//! signed-in caller and the current trace context.

use alongside_platform::auth::TokenSigner;
use alongside_platform::grpc::outgoing;
use alongside_platform::Caller;
use alongside_proto::engagement::v1::engagement_service_client::EngagementServiceClient;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::payments::v1::payments_service_client::PaymentsServiceClient;
use alongside_proto::people::v1::people_service_client::PeopleServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::config::ServiceUrls;

#[derive(Clone)]
pub struct Clients {
    signer: TokenSigner,
    people: Channel,
    engagement: Channel,
    feedback: Channel,
    payments: Channel,
}

fn channel(url: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_string())?
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(30))
        .connect_lazy())
}

impl Clients {
    pub fn new(urls: &ServiceUrls, signer: TokenSigner) -> Result<Self, tonic::transport::Error> {
        Ok(Self {
            signer,
            people: channel(&urls.people)?,
            engagement: channel(&urls.engagement)?,
            feedback: channel(&urls.feedback)?,
            payments: channel(&urls.payments)?,
        })
    }

    /// A request as `caller`, with the internal token and trace context.
    pub fn request<T>(&self, caller: &Caller, message: T) -> tonic::Request<T> {
        outgoing(message, &self.signer.sign(caller))
    }

    pub fn people(&self) -> PeopleServiceClient<Channel> {
        PeopleServiceClient::new(self.people.clone())
    }

    pub fn engagement(&self) -> EngagementServiceClient<Channel> {
        EngagementServiceClient::new(self.engagement.clone())
    }

    pub fn feedback(&self) -> FeedbackServiceClient<Channel> {
        FeedbackServiceClient::new(self.feedback.clone())
    }

    /// Receipts come back whole (5 MB at most each), past gRPC's usual 4 MB for a reply.
    pub fn payments(&self) -> PaymentsServiceClient<Channel> {
        PaymentsServiceClient::new(self.payments.clone())
            .max_decoding_message_size(16 * 1024 * 1024)
    }

    /// Each service's gRPC health: (name, serving).
    pub async fn health(&self) -> Vec<(&'static str, bool)> {
        let checks = [
            ("people", &self.people, "alongside.people.v1.PeopleService"),
            (
                "engagement",
                &self.engagement,
                "alongside.engagement.v1.EngagementService",
            ),
            (
                "feedback",
                &self.feedback,
                "alongside.feedback.v1.FeedbackService",
            ),
            (
                "payments",
                &self.payments,
                "alongside.payments.v1.PaymentsService",
            ),
        ];
        let mut out = Vec::new();
        for (name, channel, service) in checks {
            let mut client = HealthClient::new(channel.clone());
            let serving = client
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .is_ok_and(|r| {
                    r.into_inner().status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                });
            out.push((name, serving));
        }
        out
    }
}
