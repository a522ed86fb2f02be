//! The webhook sender: one POST with a short time-out, to an address checked at send time.
//! The resolver refuses a name that resolves to any address the policy forbids, and the
//! connection goes to exactly the addresses it checked (no second lookup to rebind). Redirects
//! are never followed: a 3xx is a failed attempt like any non-2xx.

use crate::domain::webhooks::{AddressPolicy, allowed, check_url};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The resolver that enforces the address policy.
#[derive(Clone)]
pub struct GuardedResolver(AddressPolicy);

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.0;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addrs.is_empty() || addrs.iter().any(|a| !allowed(a.ip(), policy)) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{name} resolves to an address webhooks may not call"),
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type HttpsClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>;

pub struct Sender {
    client: Result<HttpsClient, String>,
    policy: AddressPolicy,
    timeout: Duration,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// Refused before sending (policy), timed out, or the connection failed.
    Failed(String),
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        matches!(self, Outcome::Status(code) if (200..300).contains(code))
    }
}

impl Sender {
    pub fn new(policy: AddressPolicy, timeout: Duration) -> Sender {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver(policy));
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let client = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("no TLS root certificates: {e}"))
            .map(|builder| {
                let connector = builder.https_or_http().enable_http1().wrap_connector(http);
                Client::builder(hyper_util::rt::TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build(connector)
            });
        Sender {
            client,
            policy,
            timeout,
        }
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> Outcome {
        // Again at send time: an IP-literal host never reaches the resolver.
        if let Err(reason) = check_url(url, self.policy) {
            return Outcome::Failed(reason.to_owned());
        }
        let client = match &self.client {
            Ok(client) => client,
            Err(e) => return Outcome::Failed(e.clone()),
        };
        let mut request = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", "GAME-webhooks/1");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(e) => return Outcome::Failed(format!("invalid request: {e}")),
        };
        match tokio::time::timeout(self.timeout, client.request(request)).await {
            Ok(Ok(response)) => Outcome::Status(response.status().as_u16()),
            Ok(Err(e)) => Outcome::Failed(crate::store::fault::chain(&e)),
            Err(_) => Outcome::Failed(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }
}
