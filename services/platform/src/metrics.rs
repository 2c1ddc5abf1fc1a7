//! Prometheus metrics: request rates and latencies (gRPC and HTTP), events consumed by outcome,
//! dead letters, outbox depth and consumer lag. One registry per process (the embedded suite's
//! services share it; the labels tell them apart), served as OpenMetrics text on `metrics.listen`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::AtomicI64;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcLabels {
    /// `/package.Service/Method`.
    pub method: String,
    /// The gRPC status code name (`OK`, `INVALID_ARGUMENT`, ...).
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The matched route (`/partners/{id}`), never the raw path: ids would explode the series.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumedLabels {
    /// The consumer group (the consuming service).
    pub group: String,
    pub topic: String,
    /// `applied`, `duplicate` (redelivered, no effect) or `dead_lettered`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LagLabels {
    pub group: String,
    pub topic: String,
    pub partition: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    pub service: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    pub grpc_requests: Family<GrpcLabels, Counter>,
    pub grpc_duration: HistogramFamily<MethodLabels>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistogramFamily<RouteLabels>,
    pub events_consumed: Family<ConsumedLabels, Counter>,
    pub consumer_lag: Family<LagLabels, Gauge<i64, AtomicI64>>,
    pub outbox_pending: Family<ServiceLabels, Gauge<i64, AtomicI64>>,
    pub outbox_published: Family<ServiceLabels, Counter>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("alongside");
        let metrics = Self {
            grpc_requests: Family::default(),
            grpc_duration: Family::new_with_constructor(latency_histogram),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            events_consumed: Family::default(),
            consumer_lag: Family::default(),
            outbox_pending: Family::default(),
            outbox_published: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "grpc_requests",
            "gRPC requests served, by method and status code",
            metrics.grpc_requests.clone(),
        );
        registry.register(
            "grpc_request_duration_seconds",
            "Time to answer a gRPC request",
            metrics.grpc_duration.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests served by the gateway, by route and status",
            metrics.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            metrics.http_duration.clone(),
        );
        registry.register(
            "events_consumed",
            "Kafka events handled, by consumer group, topic and outcome",
            metrics.events_consumed.clone(),
        );
        registry.register(
            "consumer_lag",
            "Messages behind the end of the partition, per consumer group (from librdkafka statistics)",
            metrics.consumer_lag.clone(),
        );
        registry.register(
            "outbox_pending",
            "Outbox rows not yet published (a broker outage makes this grow; nothing is lost)",
            metrics.outbox_pending.clone(),
        );
        registry.register(
            "outbox_published",
            "Outbox rows published to Kafka",
            metrics.outbox_published.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts one consumed event.
    pub fn consumed(&self, group: &str, topic: &str, outcome: &str) {
        self.events_consumed
            .get_or_create(&ConsumedLabels {
                group: group.to_string(),
                topic: topic.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}

/// The process's metrics registry.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    http::header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                global().encode(),
            )
        }),
    );
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `listen` and serves metrics there in the background; returns the bound address.
pub async fn spawn(
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(err) = serve(listener, shutdown).await {
            tracing::error!(error = %err, "metrics endpoint stopped");
        }
    });
    tracing::info!(%addr, "metrics on /metrics");
    Ok(addr)
}

/// Counts and times every gRPC request a server answers.
#[derive(Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService { inner }
    }
}

#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for GrpcMetricsService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_string();
        let start = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            // An error answer carries grpc-status in its headers; a success carries it in the
            // trailers, which come after the body.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or("OK", |c| tonic::Code::from_i32(c).description_name()),
                Err(_) => "TRANSPORT_ERROR",
            };
            let metrics = global();
            metrics
                .grpc_requests
                .get_or_create(&GrpcLabels {
                    method: method.clone(),
                    code: code.to_string(),
                })
                .inc();
            metrics
                .grpc_duration
                .get_or_create(&MethodLabels { method })
                .observe(start.elapsed().as_secs_f64());
            result
        })
    }
}

/// Upper-case gRPC code names, as the gRPC spec writes them.
trait CodeName {
    fn description_name(self) -> &'static str;
}

impl CodeName for tonic::Code {
    fn description_name(self) -> &'static str {
        use tonic::Code::*;
        match self {
            Ok => "OK",
            Cancelled => "CANCELLED",
            Unknown => "UNKNOWN",
            InvalidArgument => "INVALID_ARGUMENT",
            DeadlineExceeded => "DEADLINE_EXCEEDED",
            NotFound => "NOT_FOUND",
            AlreadyExists => "ALREADY_EXISTS",
            PermissionDenied => "PERMISSION_DENIED",
            ResourceExhausted => "RESOURCE_EXHAUSTED",
            FailedPrecondition => "FAILED_PRECONDITION",
            Aborted => "ABORTED",
            OutOfRange => "OUT_OF_RANGE",
            Unimplemented => "UNIMPLEMENTED",
            Internal => "INTERNAL",
            Unavailable => "UNAVAILABLE",
            DataLoss => "DATA_LOSS",
            Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_gauges_and_histograms_with_labels() {
        let metrics = global();
        metrics.consumed("payments", "engagement.activities.v1", "applied");
        metrics
            .outbox_pending
            .get_or_create(&ServiceLabels {
                service: "people".into(),
            })
            .set(7);
        metrics
            .grpc_duration
            .get_or_create(&MethodLabels {
                method: "/alongside.people.v1.PeopleService/GetPartner".into(),
            })
            .observe(0.003);
        let text = metrics.encode();
        assert!(
            text.contains(r#"alongside_events_consumed_total{group="payments",topic="engagement.activities.v1",outcome="applied"} "#),
            "{text}"
        );
        assert!(
            text.contains(r#"alongside_outbox_pending{service="people"} 7"#),
            "{text}"
        );
        assert!(
            text.contains(r#"alongside_grpc_request_duration_seconds_bucket{le="0.004",method="/alongside.people.v1.PeopleService/GetPartner"} "#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
