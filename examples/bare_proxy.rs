//! The floor under hookgate's request path, measured beside it by `bench/run.sh`.
//!
//! The same stack as the sidecar, with nothing of hookgate in it: one current-thread tokio
//! event loop per worker on its own `SO_REUSEPORT` socket, hyper 1's HTTP/1 server, the body
//! buffered whole before it is sent, hyper 1's `client::conn::http1` on a per-worker pool of
//! keep-alive upstream connections. No verification, no dedup, no metrics, no timers, no
//! HTTP/2 detection, no TLS, no limits: not a proxy to deploy, a lower bound of what any
//! verifying proxy on hyper and tokio costs per request. The distance from this to hookgate is
//! hookgate's own work; the distance from this to nginx is the stack's.
//!
//! ```text
//! cargo run --release --example bare_proxy -- 127.0.0.1:8081 127.0.0.1:8080 [workers]
//! ```
//! (listen address, upstream address, workers: default one per core). Every request, whatever
//! its path, goes to the upstream with its method, path, headers and body.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

type Sender = SendRequest<Full<Bytes>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(listen), Some(upstream)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bare_proxy LISTEN_ADDR UPSTREAM_ADDR [WORKERS]");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().expect("LISTEN_ADDR is host:port");
    let upstream: SocketAddr = upstream.parse().expect("UPSTREAM_ADDR is host:port");
    let workers = args.get(2).map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n.parse().expect("WORKERS is a number"),
    );
    let threads: Vec<_> = (0..workers)
        .map(|_| std::thread::spawn(move || worker(listen, upstream)))
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

/// Each worker's own listening socket on the shared port (the kernel spreads connections).
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn worker(listen: SocketAddr, upstream: SocketAddr) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = reuseport_listener(listen).expect("cannot listen");
        let idle: Arc<Mutex<Vec<Sender>>> = Arc::default();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let idle = idle.clone();
            let service = hyper::service::service_fn(move |request| {
                let idle = idle.clone();
                async move { Ok::<_, hyper::Error>(forward(&idle, upstream, request).await) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

async fn forward(
    idle: &Mutex<Vec<Sender>>,
    upstream: SocketAddr,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let request = Request::from_parts(parts, Full::new(body));
    // The most recently used connection that the upstream has not closed meanwhile.
    let pooled = loop {
        match idle.lock().unwrap().pop() {
            Some(sender) if sender.is_closed() => continue,
            other => break other,
        }
    };
    let mut sender = match pooled {
        Some(sender) => sender,
        None => {
            let Ok(stream) = tokio::net::TcpStream::connect(upstream).await else {
                return status(StatusCode::BAD_GATEWAY);
            };
            let _ = stream.set_nodelay(true);
            let Ok((sender, connection)) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
            else {
                return status(StatusCode::BAD_GATEWAY);
            };
            tokio::spawn(connection);
            sender
        }
    };
    let Ok(response) = sender.send_request(request).await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let (parts, body) = response.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return status(StatusCode::BAD_GATEWAY);
    };
    idle.lock().unwrap().push(sender);
    Response::from_parts(parts, Full::new(body))
}

fn status(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}
