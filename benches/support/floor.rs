//! The floor of the gateway's stack: the thinnest proxy actix-web and hyper make, run by the benchmark as a child
//! process (this same executable, with [`ARG`]) so that its CPU and memory are its own.
//!
//! It does only what no gateway on this stack can skip. `POST /rpc/v1`: the body goes to the node on a kept-alive
//! connection of the worker's own (with the client's `Authorization`), and the node's reply comes back as it came:
//! no token check, permission, rate limit, parsing, validation, access log or metrics. `GET /v1/streams/heads`: an
//! SSE stream that is sent one event at once and then one for each `POST /floor/emit`. What the gateway measures
//! above these rows is what its own work costs; what the floor measures against nginx is what the stack costs.

use std::cell::RefCell;
use std::net::SocketAddr;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};

/// The argument that makes the benchmark executable serve as the floor.
pub const ARG: &str = "--floor";
/// The node to forward to (`host:port`).
pub const UPSTREAM: &str = "BENCH_FLOOR_UPSTREAM";
/// The address to listen on (`host:port`).
pub const LISTEN: &str = "BENCH_FLOOR_LISTEN";
/// The number of HTTP workers (as many as the gateway's).
pub const WORKERS: &str = "BENCH_FLOOR_WORKERS";
/// A file whose bytes are the data of every stream event.
pub const EVENT_DATA: &str = "BENCH_FLOOR_EVENT_DATA";
/// `1`: each worker's app also declares the gateway's `/v1` routes (registered as the gateway registers them, never
/// served here), to measure what declaring the gateway's API surface costs actix-web, beside the floor's own.
pub const ROUTES: &str = "BENCH_FLOOR_ROUTES";

thread_local! {
    /// Idle connections to the node made by this worker's runtime.
    static IDLE: RefCell<Vec<SendRequest<Full<Bytes>>>> = const { RefCell::new(Vec::new()) };
}

struct Floor {
    upstream: SocketAddr,
    host: HeaderValue,
    /// The first event of every stream.
    current: Bytes,
    /// The event sent on each emit; streams wait on its changes.
    events: tokio::sync::watch::Sender<Bytes>,
}

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// Serves until killed.
pub fn main() {
    let upstream: SocketAddr = setting(UPSTREAM).parse().expect("an upstream host:port");
    let listen: SocketAddr = setting(LISTEN).parse().expect("a listen host:port");
    let workers: usize = setting(WORKERS).parse().expect("a number of workers");
    let data = std::fs::read(setting(EVENT_DATA)).expect("the event data file");
    let event = |name: &str| {
        let mut e = format!("event: {name}\ndata: ").into_bytes();
        e.extend_from_slice(&data);
        e.extend_from_slice(b"\n\n");
        Bytes::from(e)
    };
    let floor = web::Data::new(Floor {
        upstream,
        host: HeaderValue::from_str(&upstream.to_string()).expect("a host header"),
        current: event("current"),
        events: tokio::sync::watch::channel(event("apply")).0,
    });
    let routes = std::env::var(ROUTES).is_ok_and(|v| v == "1");
    let served = actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(floor.clone())
                .route("/rpc/v1", web::post().to(rpc))
                .route("/v1/streams/heads", web::get().to(heads))
                .route("/floor/emit", web::post().to(emit))
                .configure(|cfg| {
                    if routes {
                        cfg.service(web::scope("/v1").configure(|cfg| {
                            lotus_rest::routes::v1(&mut lotus_rest::routes::ServiceConfig::Plain(
                                cfg,
                            ))
                        }));
                    }
                })
        })
        .workers(workers)
        .bind(listen)?
        .run()
        .await
    });
    if let Err(e) = served {
        eprintln!("the floor server stopped: {e}");
        std::process::exit(1);
    }
}

async fn rpc(req: HttpRequest, floor: web::Data<Floor>, body: Bytes) -> HttpResponse {
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    match forward(&floor, token, body).await {
        Ok(reply) => HttpResponse::Ok()
            .content_type("application/json")
            .body(reply),
        Err(e) => HttpResponse::BadGateway().body(e.to_string()),
    }
}

async fn forward(
    floor: &Floor,
    token: Option<HeaderValue>,
    body: Bytes,
) -> Result<Bytes, Box<dyn std::error::Error>> {
    let kept = IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        std::iter::from_fn(|| idle.pop()).find(|s| !s.is_closed())
    });
    let mut sender = match kept {
        Some(sender) => sender,
        None => {
            let stream = tokio::net::TcpStream::connect(floor.upstream).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            actix_web::rt::spawn(connection);
            sender
        }
    };
    sender.ready().await?;
    let mut request = hyper::Request::post("/rpc/v1")
        .header(HOST, floor.host.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, token);
    }
    let response = sender.send_request(request.body(Full::new(body))?).await?;
    let reply = response.into_body().collect().await?.to_bytes();
    IDLE.with(|idle| idle.borrow_mut().push(sender));
    Ok(reply)
}

async fn heads(floor: web::Data<Floor>) -> HttpResponse {
    use futures_util::StreamExt;
    let first = floor.current.clone();
    let events = futures_util::stream::unfold(floor.events.subscribe(), |mut rx| async move {
        rx.changed().await.ok()?;
        let event = rx.borrow_and_update().clone();
        Some((Ok::<_, std::io::Error>(event), rx))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(futures_util::stream::once(async move { Ok(first) }).chain(events))
}

async fn emit(floor: web::Data<Floor>) -> HttpResponse {
    // Marks the event as new to every stream (with or without streams to tell).
    floor.events.send_modify(|_| ());
    HttpResponse::Ok().finish()
}
