//! The sidecar's one path router: exact path → the route's `WebhookLayer` + `Forward` stack,
//! with the client address resolved first.

use crate::core::Rejection;
use crate::forward::{Forward, ForwardBody};
use crate::layer::{ResponseBody, WebhookService};
use crate::metrics::{self, Outcome};
use crate::webhook::ClientAddr;
use http::{Request, Response};
use hyper::body::Incoming;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tower_service::Service;

/// What one route's stack answers.
pub(crate) type SidecarResponse = Response<ResponseBody<ForwardBody>>;

/// One route's stack: forwarded at once, or queued.
// Cloned per request (tower's readiness contract): boxing the large variant would allocate
// on every request instead.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum RouteService {
    Direct(WebhookService<Forward>),
    Queued(WebhookService<super::queued::Enqueue>),
}

/// Routes requests by exact path.
pub(crate) struct Router {
    routes: HashMap<String, RouteService>,
    trusted_proxies: Vec<IpNet>,
}

impl Router {
    pub(crate) fn new(
        routes: impl IntoIterator<Item = (String, RouteService)>,
        trusted_proxies: Vec<IpNet>,
    ) -> Self {
        Router {
            routes: routes.into_iter().collect(),
            trusted_proxies,
        }
    }

    pub(crate) async fn handle(
        &self,
        peer: SocketAddr,
        tls: bool,
        mut request: Request<Incoming>,
    ) -> SidecarResponse {
        let Some(service) = self.routes.get(request.uri().path()) else {
            // The path comes from the client: logged escaped, never raw.
            tracing::info!(path = ?request.uri().path(), "no webhook route for this path");
            let rejection = Rejection::UnknownRoute;
            let response = rejection
                .to_response::<bytes::Bytes>()
                .map(ResponseBody::own);
            static UNKNOWN: std::sync::LazyLock<std::sync::Arc<str>> =
                std::sync::LazyLock::new(|| std::sync::Arc::from(""));
            metrics::request(
                &UNKNOWN,
                Outcome::Rejected(rejection.code()),
                response.status(),
                std::time::Duration::ZERO,
            );
            return response;
        };
        let client = client_addr(&self.trusted_proxies, peer, request.headers()).over_tls(tls);
        request.extensions_mut().insert(client);
        let mut service = service.clone();
        let result = match &mut service {
            RouteService::Direct(service) => service.call(request).await,
            RouteService::Queued(service) => service.call(request).await,
        };
        match result {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// The client of a request: the peer, or, when the peer is a trusted proxy, the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy (each trusted hop appended
/// the address it saw; the first untrusted one from the right is the client as far as any
/// trusted party knows).
pub(crate) fn client_addr(
    trusted_proxies: &[IpNet],
    peer: SocketAddr,
    headers: &http::HeaderMap,
) -> ClientAddr {
    let is_trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer.ip()) {
        return ClientAddr::direct(peer);
    }
    let mut client = peer.ip();
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Vec<_>>();
    'hops: for value in hops.iter().rev() {
        // A header that is not text, or an entry that is not an address: stop believing the
        // chain there, and keep the last trusted hop's word.
        let Some(value) = value else { break };
        for part in value.rsplit(',') {
            let Ok(ip) = part.trim().parse::<IpAddr>() else {
                break 'hops;
            };
            client = ip;
            if !is_trusted(&ip) {
                break 'hops;
            }
        }
    }
    ClientAddr::new(peer, client, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(trusted: &[&str], peer: &str, xff: &[&str]) -> IpAddr {
        let trusted: Vec<IpNet> = trusted.iter().map(|n| n.parse().unwrap()).collect();
        let mut headers = http::HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        client_addr(&trusted, peer.parse().unwrap(), &headers).client
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            resolve(&["10.0.0.0/8"], "203.0.113.5:1", &["198.51.100.1"]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn chained_trusted_proxies_are_skipped_from_the_right() {
        // client 198.51.100.7 -> proxy 10.0.0.2 -> proxy 10.0.0.3 -> hookgate
        assert_eq!(
            resolve(
                &["10.0.0.0/8"],
                "10.0.0.3:1",
                &["1.2.3.4, 198.51.100.7, 10.0.0.2"]
            ),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "a spoofed left-most entry is not believed"
        );
        // The same chain over two header lines.
        assert_eq!(
            resolve(&["10.0.0.0/8"], "10.0.0.3:1", &["198.51.100.7", "10.0.0.2"]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn garbage_stops_the_chain_at_the_last_trusted_hop() {
        assert_eq!(
            resolve(
                &["10.0.0.0/8"],
                "10.0.0.3:1",
                &["198.51.100.7, junk, 10.0.0.2"]
            ),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            resolve(&["10.0.0.0/8"], "10.0.0.3:1", &[]),
            "10.0.0.3".parse::<IpAddr>().unwrap()
        );
    }
}
