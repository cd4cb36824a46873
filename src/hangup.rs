//! Noticing that a client closed its connection while the gateway has nothing to write to it.
//!
//! actix-web learns that a client went away when a write to it fails. A live stream that is idle writes nothing
//! until its next event or heartbeat, so it would hold its place (`[Streams] MaxStreams`, `MaxPerClient`) for up to
//! a block time after its client left. Each connection's socket is therefore remembered when it is accepted
//! ([`on_connect`]), and a stream watches it ([`Watcher`]): one thread polls every watched socket for a hang-up
//! (`POLLRDHUP`: the client closed or shut down its side; `POLLHUP`, `POLLERR`) every [`SWEEP`], with one `poll`
//! call for all of them, and wakes the streams whose client is gone.
//!
//! Polling a socket reads nothing from it and changes nothing, so a stale descriptor (a connection closed while its
//! stream is being dropped, its number already reused) costs at most a wrong verdict for a stream that is ending.

use std::any::Any;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;

/// How often the watched sockets are polled: a stream's place is free within this (and the stream's own wake-up)
/// of its client closing the connection.
pub const SWEEP: Duration = Duration::from_millis(200);

/// The socket of the connection a request came on, kept in the connection's data by [`on_connect`].
#[derive(Clone, Copy, Debug)]
pub struct ConnectionFd(RawFd);

/// actix-web's connection hook: remembers the socket of a plain or TLS connection.
pub fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    let fd = if let Some(tcp) = connection.downcast_ref::<TcpStream>() {
        tcp.as_raw_fd()
    } else if let Some(tls) =
        connection.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
    {
        tls.get_ref().0.as_raw_fd()
    } else {
        return;
    };
    data.insert(ConnectionFd(fd));
}

struct Watch {
    fd: RawFd,
    gone: AtomicBool,
    wake: tokio::sync::Notify,
}

/// Watches one connection until dropped.
pub struct Watcher {
    id: u64,
    watch: Arc<Watch>,
}

impl Watcher {
    /// Starts watching the connection.
    pub fn new(fd: ConnectionFd) -> Watcher {
        let registry = registry();
        let id = registry.next.fetch_add(1, Ordering::Relaxed);
        let watch = Arc::new(Watch {
            fd: fd.0,
            gone: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        });
        let mut all = registry.watched.lock().unwrap_or_else(|e| e.into_inner());
        all.insert(id, watch.clone());
        registry.nonempty.notify_one();
        Watcher { id, watch }
    }

    /// Resolves once the client has closed (or shut down its side of) the connection.
    pub async fn gone(&self) {
        while !self.watch.gone.load(Ordering::Acquire) {
            self.watch.wake.notified().await;
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let mut all = registry().watched.lock().unwrap_or_else(|e| e.into_inner());
        all.remove(&self.id);
    }
}

/// Resolves once the client of `watcher` is gone; never without one.
pub async fn gone(watcher: Option<&Watcher>) {
    match watcher {
        Some(w) => w.gone().await,
        None => std::future::pending().await,
    }
}

struct Registry {
    next: AtomicU64,
    watched: Mutex<HashMap<u64, Arc<Watch>>>,
    nonempty: Condvar,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("lotus-rest-hangup".into())
            .spawn(sweep);
        if let Err(e) = spawned {
            log::warn!("cannot start the thread that notices closed stream connections: {e}; a stream's place is then freed at its next event or heartbeat");
        }
        Registry {
            next: AtomicU64::new(0),
            watched: Mutex::new(HashMap::new()),
            nonempty: Condvar::new(),
        }
    })
}

#[cfg(target_os = "linux")]
const HANGUP: libc::c_short = libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
#[cfg(not(target_os = "linux"))]
const HANGUP: libc::c_short = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;

fn sweep() {
    let mut polled: Vec<libc::pollfd> = Vec::new();
    let mut watches: Vec<Arc<Watch>> = Vec::new();
    loop {
        std::thread::sleep(SWEEP);
        {
            let registry = registry();
            let mut all = registry.watched.lock().unwrap_or_else(|e| e.into_inner());
            while all.is_empty() {
                all = registry
                    .nonempty
                    .wait(all)
                    .unwrap_or_else(|e| e.into_inner());
            }
            watches.extend(
                all.values()
                    .filter(|w| !w.gone.load(Ordering::Relaxed))
                    .cloned(),
            );
        }
        polled.extend(watches.iter().map(|w| libc::pollfd {
            fd: w.fd,
            events: HANGUP,
            revents: 0,
        }));
        // SAFETY: `polled` is a valid array of `polled.len()` pollfd structures; poll with a zero timeout only
        // writes their `revents` and reads nothing from the sockets.
        let ready = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, 0) };
        if ready > 0 {
            for (p, w) in polled.iter().zip(&watches) {
                if p.revents & HANGUP != 0 {
                    w.gone.store(true, Ordering::Release);
                    w.wake.notify_one();
                }
            }
        }
        polled.clear();
        watches.clear();
    }
}
