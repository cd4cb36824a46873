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
    /// `idempotent`: the call may be sent again when a kept-alive connection was closed under it (see below).
    pub async fn post(
        &self,
        token: Option<&str>,
        body: Bytes,
        limit: usize,
        idempotent: bool,
    ) -> Result<Reply, Failure> {
        let here = std::thread::current().id();
        let authorization = match token {
            Some(token) => Some(HeaderValue::from_str(&format!("Bearer {token}")).map_err(
                |_| Failure::Unreachable("the token is not a valid header value".into()),
            )?),
            None => None,
        };
        let make = || {
            let mut request = hyper::Request::post(self.path.as_str())
                .header(HOST, self.host.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .header(USER_AGENT, HeaderValue::from_static(AGENT))
                .header(CONTENT_LENGTH, body.len());
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value.clone());
            }
            request
                .body(Full::new(body.clone()))
                .map_err(|e| Failure::Unreachable(format!("cannot make the request: {e}")))
        };
        let (mut sender, mut kept) = self.sender(here).await?;
        let mut request = make()?;
        let response = loop {
            match sender.try_send_request(request).await {
                Ok(response) => break response,
                Err(mut e) => {
                    let unsent = e.take_message();
                    match unsent {
                        // Never written: a kept-alive connection the node closed as it was taken. Once more, on a
                        // new connection.
                        Some(unsent) if kept => request = unsent,
                        // Written, and the connection closed before any reply: the node closed a kept-alive
                        // connection as the call went out (its idle timeout, or a proxy's). A call that changes
                        // nothing is sent once more on a new connection; any other may have reached the node and
                        // is never sent again.
                        None if kept && idempotent && e.error().is_incomplete_message() => {
                            log::debug!("a kept-alive connection to the node closed under a call; once more");
                            request = make()?;
                        }
                        _ => return Err(Failure::Unreachable(with_causes(e.error()))),
                    }
                    kept = false;
                    sender = self.connect().await?;
                }
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

    /// A kept-alive connection of thread `here` that can take a request now (and `true`), or a new one.
    async fn sender(&self, here: ThreadId) -> Result<(SendRequest<Full<Bytes>>, bool), Failure> {
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
                        return Ok((sender, true));
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        Ok((self.connect().await?, false))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A node that answers every request but the second, which it reads and then closes the connection on, as a
    /// server closing an idle kept-alive connection does when the call arrives just then. Counts what it read.
    async fn closes_under_the_second_call() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/rpc/v1", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let seen = counter.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // One request: its head, then its body of Content-Length bytes.
                        let mut chunk = [0u8; 4096];
                        let head_end = loop {
                            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break at + 4;
                            }
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < head_end + len {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + len);
                        if seen.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
                            return;
                        }
                        let reply = b"{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}";
                        let head =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", reply.len());
                        if socket.write_all(head.as_bytes()).await.is_err()
                            || socket.write_all(reply).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        (url, seen)
    }

    /// Two calls to a node that closes the connection under the second: what the second got, and how many
    /// requests the node read in all.
    async fn second_call_under_a_closing_connection(
        idempotent: bool,
    ) -> (Result<Reply, Failure>, usize) {
        let (url, seen) = closes_under_the_second_call().await;
        let node = Lean::for_url(&url.parse().unwrap(), 4, Duration::from_secs(2)).unwrap();
        let body = Bytes::from_static(b"{}");
        let first = node.post(None, body.clone(), 1024, idempotent).await;
        assert_eq!(first.unwrap().status, 200);
        let second = node.post(None, body, 1024, idempotent).await;
        (second, seen.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_read_is_sent_again_when_its_kept_alive_connection_closes_under_it() {
        let (again, seen) = second_call_under_a_closing_connection(true).await;
        let again = again.unwrap();
        assert_eq!(
            (again.status, &again.body[..]),
            (200, &b"{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}"[..])
        );
        assert_eq!(seen, 3);
    }

    #[tokio::test]
    async fn any_other_call_is_never_sent_twice() {
        let (again, seen) = second_call_under_a_closing_connection(false).await;
        match again {
            Err(Failure::Unreachable(why)) => assert!(why.contains("closed"), "{why}"),
            other => panic!("{:?}", other.map(|r| r.status)),
        }
        assert_eq!(seen, 2);
    }
}
