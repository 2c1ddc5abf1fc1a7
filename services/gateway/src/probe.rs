//! `alongside-gateway probe`: checks that services answer, for Helm test hooks and operators.
//! gRPC targets are asked for their overall health (`grpc.health.v1`, service ""); HTTP targets
//! must answer `GET` with a 2xx status.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Checks one gRPC server's health.
pub async fn grpc(url: &str) -> Result<(), String> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("{url}: not a URL: {e}"))?
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("{url}: cannot connect: {e}"))?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|e| format!("{url}: health check failed: {}", e.message()))?
        .into_inner()
        .status;
    if status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        Err(format!(
            "{url}: not serving ({})",
            ServingStatus::try_from(status)
                .map(|s| s.as_str_name())
                .unwrap_or("unknown status")
        ))
    }
}

/// `GET`s a plain `http://host:port/path` URL and wants a 2xx answer.
pub async fn http(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs can be probed"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("{url}: cannot connect: {e}"))?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let mut head = Vec::new();
        stream
            .read_to_end(&mut head)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        Ok::<_, String>(head)
    };
    let answer = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{url}: no answer within {}s", TIMEOUT.as_secs()))??;
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    match status_line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        _ => Err(format!("{url}: answered {status_line:?}")),
    }
}

/// Probes every target; returns one line per failure.
pub async fn all(grpc_urls: &[String], http_urls: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    for url in grpc_urls {
        if let Err(err) = grpc(url).await {
            failures.push(err);
        }
    }
    for url in http_urls {
        if let Err(err) = http(url).await {
            failures.push(err);
        }
    }
    failures
}
