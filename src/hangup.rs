//! Noticing that a client closed its connection while the gateway has nothing to write to it.
//!
//! actix-web learns that a client went away when a write to it fails. A live stream that is idle writes nothing
//! until its next event or heartbeat, so it would hold its place (`[Streams] MaxStreams`, `MaxPerClient`) for up to
//! a block time after its client left. Each connection's socket is therefore remembered when it is accepted
//! ([`on_connect`]), and a stream watches it ([`Watcher`]): the socket is added to one epoll set, waiting for a
//! hang-up (`EPOLLRDHUP`: the client closed or shut down its side; `EPOLLHUP`, `EPOLLERR`), and one thread, asleep
//! until the kernel reports one, wakes the streams of a socket whose client is gone. Watching costs nothing while
//! nobody leaves, however many streams are open. (epoll is Linux's: elsewhere, a stream's place is freed at its
//! next event or heartbeat.)
//!
//! A socket is known by its descriptor and its inode: a descriptor closed while its stream is being dropped and
//! already reused by a new connection is told apart from it, and the old stream's end never removes the new
//! connection's watch.

use std::any::Any;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use futures_util::task::AtomicWaker;

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

/// What one stream waits on.
#[derive(Default)]
struct Watch {
    gone: AtomicBool,
    waker: AtomicWaker,
}

impl Watch {
    fn hang_up(&self) {
        self.gone.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Watches one connection until dropped.
pub struct Watcher {
    id: u64,
    socket: Option<Socket>,
    watch: Arc<Watch>,
}

/// A socket as the kernel knows it: its descriptor now, and the inode that stays its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Socket {
    fd: RawFd,
    inode: u64,
}

impl Watcher {
    /// Starts watching the connection. Without epoll (it could not be set up), the watcher never fires: the
    /// stream's place is then freed at its next event or heartbeat.
    pub fn new(fd: ConnectionFd) -> Watcher {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let watch = Arc::new(Watch::default());
        let socket = registry().and_then(|r| r.watch(fd.0, id, &watch));
        Watcher { id, socket, watch }
    }

    /// Resolves once the client has closed (or shut down its side of) the connection.
    pub async fn gone(&self) {
        std::future::poll_fn(|cx| {
            if self.watch.gone.load(Ordering::Acquire) {
                return std::task::Poll::Ready(());
            }
            self.watch.waker.register(cx.waker());
            if self.watch.gone.load(Ordering::Acquire) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let (Some(socket), Some(registry)) = (self.socket, registry()) {
            registry.unwatch(socket, self.id);
        }
    }
}

/// Resolves once the client of `watcher` is gone; never without one.
pub async fn gone(watcher: Option<&Watcher>) {
    match watcher {
        Some(w) => w.gone().await,
        None => std::future::pending().await,
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The streams watching one socket (more than one only when requests share a connection, as over HTTP/2).
struct Watched {
    inode: u64,
    /// The number of its epoll registration, which the kernel's reports carry with the descriptor: a report made
    /// for a socket that has since gone is not taken for the one now under its descriptor.
    registration: u32,
    streams: HashMap<u64, Arc<Watch>>,
}

struct Registry {
    epoll: std::os::fd::OwnedFd,
    registrations: std::sync::atomic::AtomicU32,
    /// By descriptor: what is in the epoll set is exactly what is here.
    sockets: Mutex<HashMap<RawFd, Watched>>,
}

/// The registry and its thread, made at the first stream; `None` where epoll cannot be set up.
fn registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Registry::start).as_ref()
}

impl Registry {
    fn start() -> Option<Registry> {
        let epoll = match sys::create() {
            Ok(epoll) => epoll,
            Err(e) => {
                log::warn!("cannot watch stream connections for clients leaving ({e}); a stream's place is then freed at its next event or heartbeat");
                return None;
            }
        };
        let waiting = epoll.as_raw_fd();
        let spawned = std::thread::Builder::new()
            .name("lotus-rest-hangup".into())
            .spawn(move || wait(waiting));
        if let Err(e) = spawned {
            log::warn!("cannot start the thread that notices closed stream connections: {e}; a stream's place is then freed at its next event or heartbeat");
            return None;
        }
        Some(Registry {
            epoll,
            registrations: Default::default(),
            sockets: Mutex::new(HashMap::new()),
        })
    }

    /// Adds a stream's watch on socket `fd`; the socket it is now, or `None` if it cannot be watched.
    fn watch(&self, fd: RawFd, id: u64, watch: &Arc<Watch>) -> Option<Socket> {
        let inode = inode(fd)?;
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(watched) = sockets.get_mut(&fd) {
            if watched.inode == inode {
                watched.streams.insert(id, watch.clone());
                return Some(Socket { fd, inode });
            }
        }
        // A descriptor known for another socket: that socket closed (which took it out of the epoll set) before
        // its streams ended. They are told their client is gone, and the descriptor is the new socket's.
        if let Some(stale) = sockets.remove(&fd) {
            stale.streams.values().for_each(|w| w.hang_up());
        }
        let registration = self.registrations.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = sys::add(self.epoll.as_raw_fd(), fd, registration) {
            log::debug!("cannot watch the connection of a stream: {e}");
            return None;
        }
        sockets.insert(
            fd,
            Watched {
                inode,
                registration,
                streams: HashMap::from([(id, watch.clone())]),
            },
        );
        Some(Socket { fd, inode })
    }

    /// Removes a stream's watch; the socket leaves the epoll set with its last stream.
    fn unwatch(&self, socket: Socket, id: u64) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(watched) = sockets.get_mut(&socket.fd) else {
            return;
        };
        // Another socket's now: this one closed, and left the epoll set as it did.
        if watched.inode != socket.inode {
            return;
        }
        watched.streams.remove(&id);
        if watched.streams.is_empty() {
            sockets.remove(&socket.fd);
            // The socket may have closed already (then it left the set by itself and this fails harmlessly): any
            // socket now under this descriptor that is in the set would be in `sockets` with its own inode.
            let _ = sys::remove(self.epoll.as_raw_fd(), socket.fd);
        }
    }

    /// Tells the streams of socket `fd` (registered as `registration`) that their client is gone; the socket
    /// leaves the epoll set (it would be reported again and again until it closes).
    fn hung_up(&self, fd: RawFd, registration: u32) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        if sockets.get(&fd).map(|w| w.registration) != Some(registration) {
            return;
        }
        if let Some(watched) = sockets.remove(&fd) {
            let _ = sys::remove(self.epoll.as_raw_fd(), fd);
            watched.streams.values().for_each(|w| w.hang_up());
        }
    }
}

/// The inode of the socket under descriptor `fd`.
fn inode(fd: RawFd) -> Option<u64> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` into the buffer it is given and reads nothing else.
    let done = unsafe { libc::fstat(fd, stat.as_mut_ptr()) };
    // SAFETY: fstat succeeded, so it filled the whole structure.
    (done == 0).then(|| unsafe { stat.assume_init() }.st_ino)
}

/// The watching thread: asleep until a watched client hangs up.
fn wait(epoll: RawFd) {
    let mut hung_up = Vec::new();
    loop {
        if let Err(e) = sys::wait(epoll, &mut hung_up) {
            log::warn!("stopped watching stream connections for clients leaving: {e}");
            return;
        }
        let Some(registry) = registry() else {
            return;
        };
        for (fd, registration) in hung_up.drain(..) {
            registry.hung_up(fd, registration);
        }
    }
}

/// The epoll calls.
#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};

    const HANGUP: u32 = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;

    fn check(done: libc::c_int) -> io::Result<libc::c_int> {
        if done < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(done)
        }
    }

    pub fn create() -> io::Result<OwnedFd> {
        // SAFETY: epoll_create1 takes no pointers.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by epoll_create1 and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn ctl(epoll: RawFd, op: libc::c_int, fd: RawFd, registration: u32) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: HANGUP,
            u64: (u64::from(fd as u32) << 32) | u64::from(registration),
        };
        // SAFETY: `event` is a valid epoll_event for the call's duration; epoll_ctl only reads it.
        check(unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) }).map(drop)
    }

    /// Adds socket `fd`, reported (with its descriptor and `registration`) when its peer hangs up.
    pub fn add(epoll: RawFd, fd: RawFd, registration: u32) -> io::Result<()> {
        ctl(epoll, libc::EPOLL_CTL_ADD, fd, registration)
    }

    pub fn remove(epoll: RawFd, fd: RawFd) -> io::Result<()> {
        ctl(epoll, libc::EPOLL_CTL_DEL, fd, 0)
    }

    /// Waits for hang-ups; adds the descriptor and registration of each socket that hung up to `hung_up`.
    pub fn wait(epoll: RawFd, hung_up: &mut Vec<(RawFd, u32)>) -> io::Result<()> {
        const EMPTY: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };
        let mut events = [EMPTY; 64];
        loop {
            // SAFETY: `events` has room for the 64 events epoll_wait may write; `epoll` stays open for the life of
            // the process (the registry that owns it is never dropped).
            match check(unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), 64, -1) }) {
                Ok(n) => {
                    hung_up.extend(events[..n as usize].iter().map(|e| {
                        let data = e.u64;
                        ((data >> 32) as RawFd, data as u32)
                    }));
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Elsewhere, no watching: a stream's place is freed at its next event or heartbeat.
#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;
    use std::os::fd::{OwnedFd, RawFd};

    fn unsupported() -> io::Error {
        io::Error::new(io::ErrorKind::Unsupported, "epoll is Linux's")
    }

    pub fn create() -> io::Result<OwnedFd> {
        Err(unsupported())
    }

    pub fn add(_: RawFd, _: RawFd, _: u32) -> io::Result<()> {
        Err(unsupported())
    }

    pub fn remove(_: RawFd, _: RawFd) -> io::Result<()> {
        Err(unsupported())
    }

    pub fn wait(_: RawFd, _: &mut Vec<(RawFd, u32)>) -> io::Result<()> {
        Err(unsupported())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream as StdStream};
    use std::time::Duration;

    /// A connected pair: the client's end, and the server's end (the one watched).
    fn pair(listener: &TcpListener) -> (StdStream, StdStream) {
        let client = StdStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    async fn fires(watcher: &Watcher) -> bool {
        tokio::time::timeout(Duration::from_secs(5), watcher.gone())
            .await
            .is_ok()
    }

    async fn stays(watcher: &Watcher) -> bool {
        tokio::time::timeout(Duration::from_millis(100), watcher.gone())
            .await
            .is_err()
    }

    #[actix_web::test]
    async fn a_watcher_fires_when_its_client_leaves_and_only_then() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, server) = pair(&listener);
        let watcher = Watcher::new(ConnectionFd(server.as_raw_fd()));
        assert!(stays(&watcher).await, "fired while the client was there");
        // A second stream on the same connection (as over HTTP/2) is told too.
        let second = Watcher::new(ConnectionFd(server.as_raw_fd()));
        drop(client);
        assert!(fires(&watcher).await, "not told that the client left");
        assert!(fires(&second).await, "the second stream not told");
    }

    #[actix_web::test]
    async fn a_reused_descriptor_is_the_new_connections_own() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (old_client, old_server) = pair(&listener);
        let fd = old_server.as_raw_fd();
        let old = Watcher::new(ConnectionFd(fd));
        // The old connection closes before its stream ends; a new one gets its descriptor (placed there, since
        // other tests open descriptors at the same time).
        let (new_client, new_server) = pair(&listener);
        drop(old_server);
        // SAFETY: dup2 makes `fd`, free since the old connection closed, a second descriptor of the new socket.
        let reused = unsafe { libc::dup2(new_server.as_raw_fd(), fd) };
        assert_eq!(reused, fd, "{}", std::io::Error::last_os_error());
        // SAFETY: `fd` is now a descriptor of the new socket that nothing else owns.
        let new_server_fd =
            unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let new = Watcher::new(ConnectionFd(fd));
        assert!(
            fires(&old).await,
            "the old stream not told that its connection is gone"
        );
        // The old stream's end leaves the new connection watched.
        drop(old);
        assert!(stays(&new).await, "fired while the new client was there");
        drop(old_client);
        drop(new_client);
        assert!(fires(&new).await, "the new connection no longer watched");
        drop((new_server, new_server_fd));
    }
}
