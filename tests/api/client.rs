//! The upstream client tells each kind of upstream fault apart, against a small HTTP server that misbehaves on
//! purpose (one path per fault).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use lotus_rest::lotus::methods::FULL_NODE;
use lotus_rest::upstream::{Client, ClientOptions, UpstreamError};
use serde_json::{json, Value};

async fn misbehave(req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    let id = body["id"].clone();
    match req.path() {
        "/unauthorized" => HttpResponse::Unauthorized().finish(),
        "/html" => HttpResponse::Ok().content_type("text/html").body("<html>proxy error</html>"),
        "/wrong-id" => HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": 424242, "result": 1})),
        "/rpc-error" => HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": 11, "message": "resolution lookup failed (f0999): actor not found", "data": {"x": 1}}})),
        "/busy" => HttpResponse::ServiceUnavailable().body("try later"),
        "/stall" => {
            // Far longer than the client's timeout, so that an error well before it can only be the timeout.
            actix_web::rt::time::sleep(Duration::from_secs(120)).await;
            HttpResponse::Ok().finish()
        }
        "/server-error" => HttpResponse::InternalServerError().body("panic: runtime error"),
        _ => HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": {"ok": true}})),
    }
}

fn client(base: &str, path: &str) -> Client {
    Client::new(
        ClientOptions {
            url: Some(format!("{base}{path}").parse().unwrap()),
            timeout: Duration::from_millis(300),
            connect_timeout: Duration::from_secs(1),
            max_idle_per_host: 4,
            max_concurrent: 16,
            queue_timeout: Duration::from_secs(1),
            max_response_bytes: 1 << 20,
            not_configured: "not configured".into(),
            ca_file: None,
            name: "node",
            ..ClientOptions::default()
        },
        FULL_NODE,
    )
    .unwrap()
}

#[actix_web::test]
async fn each_fault_is_its_own_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| App::new().default_service(web::to(misbehave)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let call = |path: &'static str| {
        let c = client(&base, path);
        async move { c.request(None, "Filecoin.ChainHead", json!([])).await }
    };
    assert_eq!(call("/ok").await.unwrap().get(), r#"{"ok":true}"#);
    assert_eq!(
        call("/unauthorized").await.unwrap_err(),
        UpstreamError::Unauthorized
    );
    assert!(
        matches!(call("/html").await.unwrap_err(), UpstreamError::BadResponse(m) if m.contains("proxy error"))
    );
    assert!(
        matches!(call("/server-error").await.unwrap_err(), UpstreamError::Failing(m) if m.contains("500"))
    );
    assert!(
        matches!(call("/wrong-id").await.unwrap_err(), UpstreamError::BadResponse(m) if m.contains("424242"))
    );
    assert!(matches!(
        call("/busy").await.unwrap_err(),
        UpstreamError::Unavailable(_)
    ));
    match call("/rpc-error").await.unwrap_err() {
        UpstreamError::Rpc(e) => {
            assert_eq!(e.code, 11);
            assert!(e.message.contains("actor not found"));
            assert_eq!(e.data, Some(json!({"x": 1})));
        }
        other => panic!("{other:?}"),
    }
    let start = Instant::now();
    assert_eq!(
        call("/stall").await.unwrap_err(),
        UpstreamError::Timeout(Duration::from_millis(300))
    );
    assert!(start.elapsed() < Duration::from_secs(60));

    handle.stop(false).await;
    assert!(matches!(
        call("/ok").await.unwrap_err(),
        UpstreamError::Unreachable(_)
    ));
}

#[actix_web::test]
async fn an_unconfigured_upstream_says_so() {
    let c = Client::new(
        ClientOptions {
            url: None,
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            max_idle_per_host: 1,
            max_concurrent: 16,
            queue_timeout: Duration::from_secs(1),
            max_response_bytes: 1 << 20,
            not_configured: "set FULLNODE_API_INFO".into(),
            ca_file: None,
            name: "node",
            ..ClientOptions::default()
        },
        FULL_NODE,
    )
    .unwrap();
    assert_eq!(
        c.request(None, "Filecoin.ChainHead", json!([]))
            .await
            .unwrap_err(),
        UpstreamError::NotConfigured("set FULLNODE_API_INFO".into())
    );
}

#[actix_web::test]
async fn an_https_upstream_is_trusted_through_a_configured_ca_file() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, ca_file) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let store = lotus_rest::tls::CertStore::open(&cert_file, &key_file).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| App::new().default_service(web::to(misbehave)))
        .workers(1)
        .listen_rustls_0_23(listener, store.server_config().unwrap())
        .unwrap()
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let https = |ca: Option<std::path::PathBuf>| {
        Client::new(
            ClientOptions {
                url: Some(format!("https://localhost:{port}/ok").parse().unwrap()),
                timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(2),
                max_idle_per_host: 1,
                max_concurrent: 16,
                queue_timeout: Duration::from_secs(1),
                max_response_bytes: 1 << 20,
                not_configured: String::new(),
                ca_file: ca,
                name: "node",
                ..ClientOptions::default()
            },
            FULL_NODE,
        )
        .unwrap()
    };
    let trusted = https(Some(ca_file))
        .request(None, "Filecoin.ChainHead", json!([]))
        .await;
    assert_eq!(trusted.unwrap().get(), r#"{"ok":true}"#);
    let untrusted = https(None)
        .request(None, "Filecoin.ChainHead", json!([]))
        .await;
    assert!(
        matches!(&untrusted, Err(UpstreamError::Unreachable(why)) if why.to_lowercase().contains("certificate")),
        "{untrusted:?}"
    );
    handle.stop(false).await;
}

/// A node that closes each connection right after its reply, without saying so (no `Connection: close`), as a node
/// restarting or a proxy timing out an idle connection does: the next call must not fail on the dead connection.
#[actix_web::test]
async fn a_connection_the_node_closed_is_not_used_again() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    actix_web::rt::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            actix_web::rt::spawn(async move {
                // One request: its head, then as many body bytes as it says.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let request: Value = serde_json::from_slice(&buf[head_end..]).unwrap();
                let body = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"ok": true}})
                    .to_string();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                // Closed at once, without a word.
            });
        }
    });
    let c = client(&base, "/rpc/v1");
    for i in 0..5 {
        let answer = c.request(None, "Filecoin.ChainHead", json!([])).await;
        assert_eq!(answer.unwrap().get(), r#"{"ok":true}"#, "call {i}");
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 5);
}
