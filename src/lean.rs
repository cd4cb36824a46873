//! The client the gateway calls a node over plain HTTP with: HTTP/1.1 on kept-alive connections, one request at a
//! time on each, with nothing a JSON-RPC POST does not need (no redirects, cookies, proxies, URL handling or header
//! maps built per call). A node reached over HTTPS, or with a CA file, is called with the general client instead.

use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};

/// How a call failed, before any reply or while reading it.
#[derive(Debug)]
pub enum Failure {
    /// No connection could be made, or it broke before the whole reply came: why.
    Unreachable(String),
    /// The reply is longer than the limit.
    TooLarge,
}

/// A node's reply: its status and its body.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// Kept-alive connections to one node.
pub struct Lean {
    /// `host:port`, to connect to.
    authority: String,
    host: HeaderValue,
    /// The path (and query) of the node's endpoint.
    path: String,
    /// Idle connections by the thread whose runtime drives them: a call takes one of its own thread's, so that the
    /// request and its reply never wake another thread (each HTTP worker runs its own single-threaded runtime, and a
    /// connection's task stays on the runtime that made it).
    idle: Mutex<Vec<(ThreadId, SendRequest<Full<Bytes>>)>>,
    max_idle: usize,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Lean {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lean")
            .field("authority", &self.authority)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

const AGENT: &str = concat!("lotus-rest/", env!("CARGO_PKG_VERSION"));

impl Lean {
    /// For a node at an `http://` URL; `None` for any other.
    pub fn for_url(url: &url::Url, max_idle: usize, connect_timeout: Duration) -> Option<Lean> {
        if url.scheme() != "http" {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        // An IPv6 address keeps its brackets, as `host:port` needs them.
        let authority = match url.host()? {
            url::Host::Ipv6(_) => format!("[{}]:{port}", host.trim_matches(['[', ']'])),
            _ => format!("{host}:{port}"),
        };
        let host = HeaderValue::from_str(&match url.port() {
            Some(_) => authority.clone(),
            None => authority.trim_end_matches(&format!(":{port}")).to_string(),
        })
        .ok()?;
        let mut path = url.path().to_string();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        Some(Lean {
            authority,
            host,
            path,
            idle: Mutex::new(Vec::new()),
            max_idle,
            connect_timeout,
        })
    }

    /// Posts a JSON body and reads the reply, up to `limit` bytes. The caller bounds the whole call in time.
    pub async fn post(
        &self,
        token: Option<&str>,
        body: Bytes,
        limit: usize,
    ) -> Result<Reply, Failure> {
        let here = std::thread::current().id();
        let mut sender = self.sender(here).await?;
        let mut request = hyper::Request::post(self.path.as_str())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(AGENT))
            .header(CONTENT_LENGTH, body.len());
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Failure::Unreachable("the token is not a valid header value".into())
            })?;
            request = request.header(AUTHORIZATION, value);
        }
        let mut request = request
            .body(Full::new(body))
            .map_err(|e| Failure::Unreachable(format!("cannot make the request: {e}")))?;
        let mut fresh = false;
        let response = loop {
            match sender.try_send_request(request).await {
                Ok(response) => break response,
                Err(mut e) => match e.take_message() {
                    // Never written: a kept-alive connection the node closed as it was taken. Once more, on a new
                    // connection; a request that may have reached the node is never sent again.
                    Some(unsent) if !fresh => {
                        request = unsent;
                        fresh = true;
                        sender = self.connect().await?;
                    }
                    _ => return Err(Failure::Unreachable(with_causes(e.error()))),
                },
            }
        };
        let status = response.status().as_u16();
        if response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|len| len > limit as u64)
        {
            return Err(Failure::TooLarge);
        }
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(e) => Failure::Unreachable(with_causes(&e)),
                Err(_) => Failure::TooLarge,
            })?
            .to_bytes();
        // The connection serves the next call, unless the node closed it.
        if !sender.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() >= self.max_idle {
                // The connections of a thread whose runtime has ended are closed: they give their places up.
                idle.retain(|(_, sender)| !sender.is_closed());
            }
            if idle.len() < self.max_idle {
                idle.push((here, sender));
            }
        }
        Ok(Reply { status, body })
    }

    /// A kept-alive connection of thread `here` that can take a request now, or a new one.
    async fn sender(&self, here: ThreadId) -> Result<SendRequest<Full<Bytes>>, Failure> {
        loop {
            let kept = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.iter()
                    .rposition(|(thread, _)| *thread == here)
                    .map(|at| idle.remove(at).1)
            };
            match kept {
                // Ready once its connection has read the end of the last reply; an error if the node closed it.
                Some(mut sender) if !sender.is_closed() => {
                    if sender.ready().await.is_ok() {
                        return Ok(sender);
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        self.connect().await
    }

    /// A new connection, ready for a request.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let stream = tokio::time::timeout(
            self.connect_timeout,
            tokio::net::TcpStream::connect(&self.authority),
        )
        .await
        .map_err(|_| {
            Failure::Unreachable(format!(
                "no connection within {} ms",
                self.connect_timeout.as_millis()
            ))
        })?
        .map_err(|e| Failure::Unreachable(format!("cannot connect: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| Failure::Unreachable(with_causes(&e)))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("a connection to the node ended: {e}");
            }
        });
        sender
            .ready()
            .await
            .map_err(|e| Failure::Unreachable(with_causes(&e)))?;
        Ok(sender)
    }
}

/// An error with its causes (refused, reset, DNS...), as the log and a client are told it.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut why = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        why = format!("{why}: {s}");
        source = s.source();
    }
    why
}
