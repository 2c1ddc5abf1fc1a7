//! The gateway: the only thing a browser or an external HTTP client reaches. It signs people in,
//! serves the NHS.UK-styled pages and the JSON API, and calls the services over gRPC.

pub mod access;
pub mod api;
pub mod charts;
pub mod clients;
pub mod comments;
pub mod comments_api;
pub mod complaints;
pub mod complaints_api;
pub mod config;
pub mod dashboard;
pub mod engagement_pages;
pub mod equality;
pub mod error;
pub mod feedback_upload;
pub mod fft;
pub mod fhir;
pub mod held_data;
pub mod impact;
pub mod join;
pub mod pages;
pub mod payment_controls;
pub mod payments;
pub mod payments_api;
pub mod pdf;
pub mod places;
pub mod probe;
pub mod profile;
pub mod proms;
pub mod roundup;
pub mod seed;
pub mod session;
pub mod sharing;
pub mod store;
pub mod survey;
pub mod survey_page;
pub mod throttle;

use std::net::SocketAddr;
use std::sync::Arc;

use alongside_platform::auth::TokenSigner;
use axum::routing::get;
use axum::Router;
use http::header::{self, HeaderValue};
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::clients::Clients;
use crate::config::GatewaySettings;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub clients: Clients,
    pub settings: Arc<GatewaySettings>,
    pub templates: Arc<minijinja::Environment<'static>>,
    /// What time and day it is for the portal's rules and defaults (see `alongside_platform::clock`).
    pub clock: alongside_platform::SharedClock,
    /// Sign-in delays, public form limits and the password hashing threads.
    pub limits: Arc<throttle::Limits>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("service address: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("HTTP listener: {0}")]
    Io(#[from] std::io::Error),
}

/// All routes: pages, the JSON API, health and static assets.
pub fn router(state: AppState) -> Router {
    let public_posts = axum::middleware::from_fn_with_state(state.clone(), throttle::public_posts);
    let assets = &state.settings.http.assets_dir;
    let nhsuk = ServeDir::new(assets);
    let images = ServeDir::new(format!("{assets}/assets"));
    Router::new()
        .merge(pages::routes())
        .merge(engagement_pages::routes())
        .merge(api::routes())
        .merge(profile::routes())
        .merge(join::routes().route_layer(public_posts.clone()))
        .merge(equality::routes())
        .merge(sharing::routes())
        .merge(payments::routes())
        .merge(feedback_upload::routes())
        .merge(fft::routes())
        .merge(fhir::routes())
        .merge(proms::routes())
        .merge(comments::routes())
        .merge(complaints::routes())
        .merge(complaints_api::routes())
        .merge(roundup::routes())
        .merge(dashboard::routes())
        .merge(impact::routes())
        .merge(comments_api::routes())
        .merge(survey::routes().route_layer(public_posts))
        .merge(survey_page::routes())
        .merge(payments_api::routes())
        .merge(payment_controls::routes())
        .merge(places::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest_service("/nhsuk", nhsuk)
        .nest_service("/assets", images)
        .layer(axum::middleware::from_fn(error::api_problems))
        .layer(axum::middleware::from_fn(count_request))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &http::Request<_>| {
            tracing::info_span!("http.server", otel.name = %format!("{} {}", request.method(), request.uri().path()), otel.kind = "server")
        }))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .with_state(state)
}

/// Counts and times each request by its route pattern (never the raw path: ids would make a
/// series per partner).
async fn count_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = std::time::Instant::now();
    let response = next.run(request).await;
    let metrics = alongside_platform::metrics::global();
    metrics
        .http_requests
        .get_or_create(&alongside_platform::metrics::HttpLabels {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    metrics
        .http_duration
        .get_or_create(&alongside_platform::metrics::RouteLabels { method, route })
        .observe(start.elapsed().as_secs_f64());
    response
}

/// Ready when the gateway's database answers and every service reports SERVING.
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (http::StatusCode, axum::Json<serde_json::Value>) {
    let database = alongside_platform::db::ping(&state.db).await;
    let services = state.clients.health().await;
    let ready = database && services.iter().all(|(_, ok)| *ok);
    let body = serde_json::json!({
        "ready": ready,
        "database": database,
        "services": services.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
    });
    let status = if ready {
        http::StatusCode::OK
    } else {
        http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

pub struct Gateway {
    addr: SocketAddr,
    task: JoinHandle<()>,
    pub state: AppState,
}

impl Gateway {
    /// Connects and migrates the gateway's database and serves HTTP until `shutdown`.
    pub async fn start(
        settings: GatewaySettings,
        shutdown: CancellationToken,
    ) -> Result<Self, GatewayError> {
        let db = alongside_platform::db::connect(&settings.database).await?;
        alongside_platform::db::prepare_schema::<store::Migrator>(
            &db,
            &settings.database,
            std::time::Duration::from_secs(600),
        )
        .await?;
        if !std::path::Path::new(&settings.http.assets_dir)
            .join("nhsuk-frontend.min.css")
            .exists()
        {
            tracing::warn!(assets_dir = %settings.http.assets_dir, "nhsuk-frontend not installed: pages will be unstyled (run `npm ci` in services/gateway/web)");
        }
        let clients = Clients::new(&settings.services, TokenSigner::new(&settings.auth))?;
        let state = AppState {
            db,
            clients,
            clock: settings.clock.clock(),
            limits: Arc::new(throttle::Limits::new(settings.limits.clone())),
            settings: Arc::new(settings),
            templates: Arc::new(pages::templates()),
        };
        if let Some(listen) = state.settings.metrics.listen {
            alongside_platform::metrics::spawn(listen, shutdown.clone().cancelled_owned()).await?;
        }
        let listener = tokio::net::TcpListener::bind(state.settings.http.listen).await?;
        let addr = listener.local_addr()?;
        // Responses go out in several writes; without TCP_NODELAY the later ones wait on the
        // client's delayed ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "TCP_NODELAY not set");
            }
        });
        let app =
            router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
        // The services learn of every tenant; retried until they answer.
        let (db, clients, registering) =
            (state.db.clone(), state.clients.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                match seed::register_tenants(&db, &clients).await {
                    Ok(n) => {
                        tracing::info!(tenants = n, "tenants registered with the services");
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "tenants not yet registered; retrying")
                    }
                }
                tokio::select! {
                    _ = registering.cancelled() => return,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                }
            }
        });
        let limits = state.limits.clone();
        let tidying = shutdown.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tidying.cancelled() => return,
                    _ = every.tick() => limits.tidy(),
                }
            }
        });
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "gateway stopped");
            }
        });
        Ok(Self { addr, task, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
