//! Throughput and latency of the gateway on loopback, against the simulated Lotus node as the upstream.
//!
//! Run with `cargo bench --bench gateway`. The simulated node runs in this process (block time 1 h, so the head
//! stays still); the gateway is the release `lotus-rest` binary, started as a child process (`lotus-rest run`) so
//! that its memory and CPU are its own; nginx, when installed, runs as a child process too, and so does the floor of
//! the stack (`support/floor.rs`: actix-web and hyper passing `/rpc/v1` through and holding SSE streams with nothing
//! else, rows m and n), which shows what the stack alone costs against nginx. The load generator is a
//! closed loop of keep-alive HTTP/1.1 connections (one request in flight per connection) over raw tokio sockets,
//! with a log-bucketed latency histogram per connection.
//!
//! Settings (environment): BENCH_CONNECTIONS (64), BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1),
//! BENCH_COALESCE_CLIENTS (256), BENCH_IDLE_CONNECTIONS (1000), BENCH_MAX_REQUESTS (per scenario, 5000000),
//! BENCH_THREADS (load generator threads; default: the number of CPUs), BENCH_TOKEN (1: send a read token instead
//! of calling anonymously), BENCH_STREAMS (SSE clients held at once, then as many WebSocket clients, 10000),
//! BENCH_STREAM_EVENTS (head events sent to them, 5), BENCH_ONLY (the rows to run besides 0 and a, by key, e.g.
//! `c,l,m,streams,websockets,n`; default all), RUST_LOG (the gateway's log level; default `info`, its shipped default, which writes
//! one access line per request).

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lotus_rest::auth::{Perm, Secret};
use lotus_rest::sim::{self, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/floor.rs"]
mod floor;

/// The JSON-RPC request every "head" scenario amounts to.
const CHAIN_HEAD_RPC: &str =
    r#"{"jsonrpc":"2.0","method":"Filecoin.ChainHead","params":[],"id":1}"#;
/// How long one request may take before it counts as an IO error and its connection is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a process may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// The name of the load generator's threads (their CPU time is reported as the generator's).
const LOAD_THREAD: &str = "bench-load";
/// Linux reports CPU time in /proc in ticks of 1/100 s (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

// ---------------------------------------------------------------------------------------------------------------
// Settings

struct Config {
    connections: usize,
    seconds: f64,
    warmup: f64,
    coalesce_clients: usize,
    idle_connections: usize,
    max_requests: u64,
    threads: usize,
    token: bool,
    log_level: String,
    streams: usize,
    stream_events: usize,
    /// The rows to run (their keys), besides 0 and a; empty: all.
    only: Vec<String>,
}

impl Config {
    fn runs(&self, key: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|k| k == key)
    }
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("ignoring {name}={v:?}: not a number");
            default
        }),
        _ => default,
    }
}

impl Config {
    fn from_env() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Config {
            connections: env_num("BENCH_CONNECTIONS", 64usize).clamp(1, 10_000),
            seconds: env_num("BENCH_SECONDS", 5.0f64).clamp(0.5, 60.0),
            warmup: env_num("BENCH_WARMUP_SECONDS", 1.0f64).clamp(0.0, 10.0),
            coalesce_clients: env_num("BENCH_COALESCE_CLIENTS", 256usize).clamp(1, 10_000),
            idle_connections: env_num("BENCH_IDLE_CONNECTIONS", 1000usize).clamp(0, 10_000),
            max_requests: env_num("BENCH_MAX_REQUESTS", 5_000_000u64).max(1),
            threads: env_num("BENCH_THREADS", cpus).clamp(1, 64),
            token: std::env::var("BENCH_TOKEN").is_ok_and(|v| v == "1"),
            streams: env_num("BENCH_STREAMS", 10_000usize).clamp(0, 50_000),
            stream_events: env_num("BENCH_STREAM_EVENTS", 5usize).clamp(1, 100),
            only: std::env::var("BENCH_ONLY")
                .unwrap_or_default()
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
            log_level: std::env::var("RUST_LOG")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "info".into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Latency histogram: log-linear buckets over nanoseconds, 64 sub-buckets per power of two (under 1.6% error).

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
const LINEAR: usize = 2 * SUB;

#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: vec![0; LINEAR + (64 - SUB_BITS as usize) * SUB],
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < LINEAR as u64 {
            return v as usize;
        }
        let e = 63 - v.leading_zeros();
        let m = (v >> (e - SUB_BITS)) as usize;
        LINEAR + (e - SUB_BITS - 1) as usize * SUB + (m - SUB)
    }

    /// The lowest value of bucket `i` and the bucket's width.
    fn bucket(i: usize) -> (u64, u64) {
        if i < LINEAR {
            return (i as u64, 1);
        }
        let e = ((i - LINEAR) / SUB) as u32 + SUB_BITS + 1;
        let m = ((i - LINEAR) % SUB + SUB) as u64;
        (m << (e - SUB_BITS), 1 << (e - SUB_BITS))
    }

    fn record(&mut self, nanos: u64) {
        self.counts[Self::index(nanos)] += 1;
        self.total += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The value at quantile `q`, as the middle of its bucket, in nanoseconds.
    fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, width) = Self::bucket(i);
                return low + width / 2;
            }
        }
        0
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal keep-alive HTTP/1.1 client connection.

struct Reply {
    status: u16,
    close: bool,
    body: Vec<u8>,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl Conn {
    async fn open(addr: SocketAddr) -> io::Result<Conn> {
        let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    async fn fill(&mut self) -> io::Result<()> {
        self.buf.reserve(16 * 1024);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        Ok(())
    }

    /// Sends one request and reads its response; the body is kept only when `keep_body`.
    async fn roundtrip(&mut self, request: &[u8], keep_body: bool) -> io::Result<Reply> {
        self.stream.write_all(request).await?;
        self.read_response(keep_body).await
    }

    async fn read_response(&mut self, keep_body: bool) -> io::Result<Reply> {
        let (head_len, status, length, chunked, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut res = httparse::Response::new(&mut headers);
            match res.parse(&self.buf).map_err(|e| invalid(e.to_string()))? {
                httparse::Status::Complete(n) => {
                    let status = res.code.unwrap_or(0);
                    let mut length = None;
                    let mut chunked = false;
                    let mut close = res.version == Some(0);
                    for h in res.headers.iter() {
                        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = Some(
                                value
                                    .parse::<usize>()
                                    .map_err(|_| invalid("bad content-length"))?,
                            );
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = value.to_ascii_lowercase().contains("chunked");
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            close = value.eq_ignore_ascii_case("close");
                        }
                    }
                    break (n, status, length, chunked, close);
                }
                httparse::Status::Partial => self.fill().await?,
            }
        };
        let mut body = Vec::new();
        if status == 204 || status == 304 || (100..200).contains(&status) {
            self.buf.drain(..head_len);
        } else if chunked {
            let mut pos = head_len;
            loop {
                let line_end = loop {
                    if let Some(i) = self.buf[pos..].windows(2).position(|w| w == b"\r\n") {
                        break pos + i;
                    }
                    self.fill().await?;
                };
                let size_text = std::str::from_utf8(&self.buf[pos..line_end])
                    .map_err(|_| invalid("bad chunk size"))?;
                let size_text = size_text.split(';').next().unwrap_or("").trim();
                let size =
                    usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
                let data = line_end + 2;
                while self.buf.len() < data + size + 2 {
                    self.fill().await?;
                }
                if keep_body {
                    body.extend_from_slice(&self.buf[data..data + size]);
                }
                pos = data + size + 2;
                if size == 0 {
                    break;
                }
            }
            self.buf.drain(..pos);
        } else if let Some(length) = length {
            while self.buf.len() < head_len + length {
                self.fill().await?;
            }
            if keep_body {
                body.extend_from_slice(&self.buf[head_len..head_len + length]);
            }
            self.buf.drain(..head_len + length);
        } else {
            // The body runs until the server closes the connection.
            loop {
                self.buf.reserve(16 * 1024);
                if self.stream.read_buf(&mut self.buf).await? == 0 {
                    break;
                }
            }
            if keep_body {
                body.extend_from_slice(&self.buf[head_len..]);
            }
            self.buf.clear();
            return Ok(Reply {
                status,
                close: true,
                body,
            });
        }
        Ok(Reply {
            status,
            close,
            body,
        })
    }
}

fn get_request(addr: SocketAddr, path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").into_bytes()
}

fn post_request(addr: SocketAddr, path: &str, body: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One request on a fresh connection.
async fn probe(addr: SocketAddr, request: &[u8]) -> io::Result<Reply> {
    let mut conn = Conn::open(addr).await?;
    tokio::time::timeout(REQUEST_TIMEOUT, conn.roundtrip(request, true))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))?
}

/// Probes until the answer is a 200 or the time is up.
async fn wait_ready(addr: SocketAddr, request: &[u8], what: &str) -> Result<Reply, String> {
    let until = Instant::now() + START_TIMEOUT;
    let mut last = String::new();
    while Instant::now() < until {
        match probe(addr, request).await {
            Ok(reply) if reply.status == 200 => return Ok(reply),
            Ok(reply) => {
                last = format!(
                    "status {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                )
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what} did not answer 200 in time ({last})"))
}

// ---------------------------------------------------------------------------------------------------------------
// The load loop.

#[derive(Clone, Default)]
struct Tally {
    ok: u64,
    status_errors: u64,
    io_errors: u64,
}

struct WorkerResult {
    hist: Histogram,
    tally: Tally,
    finished: Instant,
}

/// One closed-loop connection: sends `request` until `deadline` or `max` requests; records what starts at or
/// after `measure_from`.
async fn worker(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    measure_from: Instant,
    deadline: Instant,
    max: u64,
) -> WorkerResult {
    let mut hist = Histogram::new();
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    let mut sent = 0u64;
    while sent < max {
        let t0 = Instant::now();
        if t0 >= deadline {
            break;
        }
        let measured = t0 >= measure_from;
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::open(addr).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    if measured {
                        tally.io_errors += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        sent += 1;
        let result = tokio::time::timeout(REQUEST_TIMEOUT, c.roundtrip(&request, false)).await;
        let elapsed = t0.elapsed();
        match result {
            Ok(Ok(reply)) => {
                if measured {
                    hist.record(elapsed.as_nanos() as u64);
                    if (200..300).contains(&reply.status) {
                        tally.ok += 1;
                    } else {
                        tally.status_errors += 1;
                    }
                }
                if reply.close {
                    conn = None;
                }
            }
            _ => {
                if measured {
                    tally.io_errors += 1;
                }
                conn = None;
            }
        }
    }
    WorkerResult {
        hist,
        tally,
        finished: Instant::now(),
    }
}

/// Where CPU time goes during a scenario, in ticks.
#[derive(Clone, Copy, Default)]
struct CpuSample {
    load: u64,
    upstream: u64,
    proxy: Option<u64>,
    /// Busy time of the whole machine (all CPUs).
    machine: u64,
}

/// The machine's busy ticks, summed over its CPUs, from /proc/stat.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next().and_then(|l| l.strip_prefix("cpu ")) else {
        return 0;
    };
    let v: Vec<u64> = cpu
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    total.saturating_sub(v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0))
}

/// Parses `/proc/.../stat`: the command name and utime + stime.
fn stat_ticks(path: &Path) -> Option<(String, u64, i64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Fields after the command: state(3) ppid(4) ... utime(14) stime(15).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime, ppid))
}

/// The processes measured as "the proxy": the gateway, or nginx's master and workers.
#[derive(Clone)]
enum ProxyProcs {
    None,
    Pid(u32),
    WithChildren(u32),
}

impl ProxyProcs {
    fn ticks(&self) -> Option<u64> {
        let pid = match self {
            ProxyProcs::None => return None,
            ProxyProcs::Pid(pid) | ProxyProcs::WithChildren(pid) => *pid,
        };
        let mut total = stat_ticks(&PathBuf::from(format!("/proc/{pid}/stat")))?.1;
        if let ProxyProcs::WithChildren(_) = self {
            for entry in std::fs::read_dir("/proc").ok()?.flatten() {
                if let Some((_, ticks, ppid)) = stat_ticks(&entry.path().join("stat")) {
                    if ppid == i64::from(pid) {
                        total += ticks;
                    }
                }
            }
        }
        Some(total)
    }
}

/// CPU of this process's load generator threads, of its simulated node threads, and of the proxy.
fn cpu_sample(proxy: &ProxyProcs) -> CpuSample {
    let mut sample = CpuSample {
        proxy: proxy.ticks(),
        machine: machine_busy_ticks(),
        ..CpuSample::default()
    };
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Some((comm, ticks, _)) = stat_ticks(&task.path().join("stat")) {
                if comm.starts_with(LOAD_THREAD) {
                    sample.load += ticks;
                } else if comm.starts_with("actix") {
                    // actix-server's acceptor and worker threads: the simulated node's HTTP server.
                    sample.upstream += ticks;
                }
            }
        }
    }
    sample
}

#[derive(Clone)]
struct Measured {
    rps: f64,
    p50: u64,
    p99: u64,
    tally: Tally,
    upstream_calls_per_s: f64,
    head_calls_per_s: f64,
    cpu_load: f64,
    cpu_upstream: f64,
    cpu_proxy: Option<f64>,
    /// CPU used by everything else on the machine: noise.
    cpu_other: f64,
    body_bytes: usize,
}

/// Drains the simulated node's call log every half second while running, counting calls (all methods and
/// `Filecoin.ChainHead`).
struct CallCounter {
    stop: Arc<AtomicBool>,
    all: Arc<AtomicU64>,
    head: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
    sim: SimHandle,
}

fn drain_calls(sim: &SimHandle, all: &AtomicU64, head: &AtomicU64) {
    let calls = sim.calls();
    sim.reset_calls();
    all.fetch_add(calls.len() as u64, Ordering::Relaxed);
    let heads = calls.iter().filter(|m| *m == "Filecoin.ChainHead").count();
    head.fetch_add(heads as u64, Ordering::Relaxed);
}

impl CallCounter {
    fn start(sim: &SimHandle) -> Self {
        sim.reset_calls();
        let stop = Arc::new(AtomicBool::new(false));
        let all = Arc::new(AtomicU64::new(0));
        let head = Arc::new(AtomicU64::new(0));
        let task = {
            let (stop, all, head, sim) = (stop.clone(), all.clone(), head.clone(), sim.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    drain_calls(&sim, &all, &head);
                }
            })
        };
        CallCounter {
            stop,
            all,
            head,
            task,
            sim: sim.clone(),
        }
    }

    async fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        drain_calls(&self.sim, &self.all, &self.head);
        (
            self.all.load(Ordering::Relaxed),
            self.head.load(Ordering::Relaxed),
        )
    }
}

/// Runs `connections` closed-loop connections for the warm-up then the measured time.
async fn run_load(
    cfg: &Config,
    addr: SocketAddr,
    request: Vec<u8>,
    connections: usize,
    sim: &SimHandle,
    proxy: &ProxyProcs,
    body_bytes: usize,
) -> Measured {
    let request = Arc::new(request);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(cfg.warmup);
    let deadline = measure_from + Duration::from_secs_f64(cfg.seconds);
    let per_conn = cfg.max_requests.div_ceil(connections as u64).max(1);
    let handles: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(worker(
                addr,
                request.clone(),
                measure_from,
                deadline,
                per_conn,
            ))
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let counter = CallCounter::start(sim);
    let cpu0 = cpu_sample(proxy);
    let window_start = Instant::now();
    let mut hist = Histogram::new();
    let mut tally = Tally::default();
    let mut finished = window_start;
    for handle in handles {
        let r = handle.await.expect("a load connection panicked");
        hist.merge(&r.hist);
        tally.ok += r.tally.ok;
        tally.status_errors += r.tally.status_errors;
        tally.io_errors += r.tally.io_errors;
        finished = finished.max(r.finished);
    }
    let cpu1 = cpu_sample(proxy);
    let (all_calls, head_calls) = counter.finish().await;
    let window = finished
        .duration_since(window_start)
        .as_secs_f64()
        .max(1e-3);
    let pct = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / TICKS_PER_SECOND / window * 100.0;
    Measured {
        rps: tally.ok as f64 / window,
        p50: hist.quantile(0.50),
        p99: hist.quantile(0.99),
        tally,
        upstream_calls_per_s: all_calls as f64 / window,
        head_calls_per_s: head_calls as f64 / window,
        cpu_load: pct(cpu0.load, cpu1.load),
        cpu_upstream: pct(cpu0.upstream, cpu1.upstream),
        cpu_proxy: cpu0.proxy.zip(cpu1.proxy).map(|(a, b)| pct(a, b)),
        cpu_other: (pct(cpu0.machine, cpu1.machine)
            - pct(cpu0.load, cpu1.load)
            - pct(cpu0.upstream, cpu1.upstream)
            - cpu0.proxy.zip(cpu1.proxy).map_or(0.0, |(a, b)| pct(a, b)))
        .max(0.0),
        body_bytes,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A trivial responder: the load generator's ceiling on this machine.

/// Answers every request on every connection with `response`, reading (and ignoring) each request.
async fn trivial_responder(listener: TcpListener, response: Arc<Vec<u8>>) {
    let mut conns = tokio::task::JoinSet::new();
    while let Ok((mut stream, _)) = listener.accept().await {
        let response = response.clone();
        conns.spawn(async move {
            let _ = stream.set_nodelay(true);
            let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
            loop {
                let consumed = loop {
                    let mut headers = [httparse::EMPTY_HEADER; 32];
                    let mut req = httparse::Request::new(&mut headers);
                    match req.parse(&buf) {
                        Ok(httparse::Status::Complete(n)) => {
                            let length = req
                                .headers
                                .iter()
                                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                                .and_then(|h| std::str::from_utf8(h.value).ok())
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if buf.len() >= n + length {
                                break n + length;
                            }
                        }
                        Ok(httparse::Status::Partial) => {}
                        Err(_) => return,
                    }
                    buf.reserve(8 * 1024);
                    match stream.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                };
                buf.drain(..consumed);
                if stream.write_all(&response).await.is_err() {
                    return;
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes.

/// A child process stopped when dropped: SIGTERM first (nginx's master then stops its workers), then SIGKILL.
struct ChildGuard {
    child: Child,
    what: &'static str,
}

impl ChildGuard {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(format!("{} exited: {status}", self.what)),
            _ => Ok(()),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .stderr(Stdio::null())
                .status();
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The release `lotus-rest` binary cargo built for this benchmark.
fn gateway_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lotus-rest"))
}

fn start_gateway(
    cfg: &Config,
    sim: &SimHandle,
    dir: &Path,
    secret_path: &Path,
) -> Result<(ChildGuard, SocketAddr), String> {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = File::create(dir.join("gateway.log")).map_err(|e| e.to_string())?;
    // Other LOTUS_REST_* variables of the environment reach the gateway, to measure other settings.
    let mut cmd = Command::new(gateway_binary());
    cmd.arg("run")
        .env_remove("FULLNODE_API_INFO")
        .env("HOME", dir)
        .env("LOTUS_PATH", dir.join("no-lotus-repo"))
        .env("LOTUS_REST_API_LISTENADDRESS", addr.to_string())
        .env("LOTUS_REST_FULLNODE_APIINFO", sim.url())
        .env("LOTUS_REST_AUTH_SECRETFILE", secret_path)
        .env("RUST_LOG", &cfg.log_level)
        // Every stream of the streams scenario comes from this one address; the cap is what is measured.
        .env(
            "LOTUS_REST_STREAMS_MAXSTREAMS",
            cfg.streams.max(1).to_string(),
        )
        // A WebSocket client holds two places of its address: its connection and its ChainNotify channel.
        .env(
            "LOTUS_REST_STREAMS_MAXPERCLIENT",
            (2 * cfg.streams.max(1)).to_string(),
        )
        .env(
            "LOTUS_REST_JSONRPC_MAXSOCKETS",
            cfg.streams.max(1).to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", gateway_binary().display()))?;
    Ok((
        ChildGuard {
            child,
            what: "lotus-rest",
        },
        addr,
    ))
}

/// The floor of the stack (see `support/floor.rs`): this executable as a thin actix-web + hyper proxy.
fn start_floor(
    sim: &SimHandle,
    dir: &Path,
    workers: usize,
    event_data: &[u8],
    routes: bool,
) -> Result<(ChildGuard, SocketAddr), String> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let data = dir.join("floor-event");
    std::fs::write(&data, event_data).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = File::create(dir.join("floor.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&exe)
        .arg(floor::ARG)
        .env(floor::UPSTREAM, sim.addr().to_string())
        .env(floor::LISTEN, addr.to_string())
        .env(floor::WORKERS, workers.to_string())
        .env(floor::EVENT_DATA, &data)
        .env(floor::ROUTES, if routes { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {} {}: {e}", exe.display(), floor::ARG))?;
    Ok((
        ChildGuard {
            child,
            what: "the floor server",
        },
        addr,
    ))
}

/// The floor started and answering `probe`: the server, its address, and its resident memory (KiB) once idle.
async fn ready_floor(
    sim: &SimHandle,
    dir: &Path,
    workers: usize,
    event_data: &[u8],
    routes: bool,
    probe: impl Fn(SocketAddr) -> Vec<u8>,
) -> Result<(ChildGuard, SocketAddr, Option<u64>), String> {
    let (guard, addr) = start_floor(sim, dir, workers, event_data, routes)?;
    wait_ready(addr, &probe(addr), "the floor server").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = vm_kib(guard.pid(), "VmRSS:");
    Ok((guard, addr, idle))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What nginx serves at one path: the JSON-RPC body it sends the node in place of the client's request (a REST
/// read translated, as the gateway does), or `None` to pass the request through as it came (`/rpc/v1`).
struct Location {
    path: String,
    body: Option<String>,
}

fn nginx_location(l: &Location) -> String {
    match &l.body {
        Some(body) => format!(
            r#"        location = {path} {{
            proxy_pass http://lotus/rpc/v1;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_method POST;
            proxy_set_header Content-Type application/json;
            proxy_set_body '{body}';
        }}
"#,
            path = l.path
        ),
        None => format!(
            r#"        location = {path} {{
            proxy_pass http://lotus;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
"#,
            path = l.path
        ),
    }
}

fn start_nginx(
    nginx: &Path,
    sim: &SimHandle,
    dir: &Path,
    workers: usize,
    keepalive: usize,
    locations: &[Location],
) -> Result<(ChildGuard, SocketAddr), String> {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
master_process on;
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 10000000;
    upstream lotus {{
        server {upstream};
        keepalive {keepalive};
        keepalive_requests 10000000;
    }}
    server {{
        listen {addr};
{locations}    }}
}}
"#,
        upstream = sim.addr(),
        locations = locations.iter().map(nginx_location).collect::<String>(),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let log = File::create(dir.join("nginx-stderr.log")).map_err(|e| e.to_string())?;
    let child = Command::new(nginx)
        .arg("-c")
        .arg(&conf_path)
        .arg("-p")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start nginx: {e}"))?;
    Ok((
        ChildGuard {
            child,
            what: "nginx",
        },
        addr,
    ))
}

/// A `Vm*` line of /proc/<pid>/status, in KiB.
fn vm_kib(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
}

/// How many HTTP worker threads a process runs (actix-server names them).
fn actix_workers(pid: u32) -> Option<usize> {
    let n = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("actix-server wo"))
        })
        .count();
    (n > 0).then_some(n)
}

/// Opens `n` keep-alive connections, one request on each, and keeps them open.
async fn open_idle(addr: SocketAddr, request: &[u8], n: usize) -> (Vec<Conn>, usize) {
    let request = Arc::new(request.to_vec());
    let mut open = Vec::with_capacity(n);
    let mut failed = 0;
    for batch in (0..n).collect::<Vec<_>>().chunks(100) {
        let handles: Vec<_> = batch
            .iter()
            .map(|_| {
                let request = request.clone();
                tokio::spawn(async move {
                    let mut c = Conn::open(addr).await?;
                    let r = tokio::time::timeout(REQUEST_TIMEOUT, c.roundtrip(&request, false))
                        .await
                        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))??;
                    if r.status == 200 && !r.close {
                        Ok(c)
                    } else {
                        Err(invalid(format!("status {}", r.status)))
                    }
                })
            })
            .collect();
        for h in handles {
            match h.await {
                Ok(Ok(c)) => open.push(c),
                _ => failed += 1,
            }
        }
    }
    (open, failed)
}

// ---------------------------------------------------------------------------------------------------------------
// Live streams: many SSE clients on /v1/streams/heads.

/// What the streams scenario measured.
struct StreamsMeasured {
    server: &'static str,
    /// Whether the server has an open-streams gauge, and so `released` was measured.
    gauged: bool,
    transport: Transport,
    clients: usize,
    failed: usize,
    rss_before_kib: Option<u64>,
    rss_held_kib: Option<u64>,
    /// For each head event, how long after the first client each client got it, in nanoseconds (all events).
    spread: Histogram,
    events: usize,
    missing: u64,
    /// From closing every client to the gateway's open-streams gauge at 0.
    released: Option<Duration>,
}

/// One SSE client: the times it saw each `apply` event, in order. It reads as a lean client would, so that what it
/// measures is the gateway: a read buffer that takes a whole head event, and each byte looked at once.
async fn sse_client(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    opened: tokio::sync::mpsc::Sender<bool>,
    seen: Arc<std::sync::Mutex<Vec<Vec<Instant>>>>,
    index: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(&request).await?;
    let frame_end = memchr::memmem::Finder::new(b"\n\n");
    let mut text: Vec<u8> = Vec::with_capacity(16 * 1024);
    // Where the next frame starts, and how far the text was already searched for its end.
    let mut searched = 0;
    let mut started = false;
    loop {
        if text.capacity() - text.len() < 8 * 1024 {
            text.reserve(16 * 1024);
        }
        let n = tokio::select! {
            n = stream.read_buf(&mut text) => n?,
            _ = stop.changed() => return Ok(()),
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended",
            ));
        }
        let now = Instant::now();
        // The events of this read; an unfinished one stays for the next.
        let mut start = 0;
        while let Some(at) = frame_end.find(&text[searched..]) {
            let end = searched + at + 2;
            let frame = &text[start..end];
            start = end;
            searched = end;
            if !started {
                if !frame.starts_with(b"HTTP/1.1 200") && !contains(frame, b"event: ") {
                    let _ = opened.send(false).await;
                    return Err(invalid(format!(
                        "the stream was refused: {}",
                        String::from_utf8_lossy(&frame[..frame.len().min(200)])
                    )));
                }
                if contains(frame, b"event: current\n") {
                    started = true;
                    let _ = opened.send(true).await;
                }
            } else if contains(&frame[..frame.len().min(80)], b"\nevent: apply\n") {
                // A frame is the chunk's size line, `id: …`, then `event: …`: its name is in its first bytes.
                seen.lock().unwrap()[index].push(now);
            }
        }
        // The search goes on from the last byte looked at: a frame's end may be split between two reads.
        let resume = text.len().saturating_sub(1).max(searched);
        text.drain(..start);
        searched = resume - start;
    }
}

/// How the live-stream clients follow the head.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// `GET /v1/streams/heads`, Server-Sent Events.
    Sse,
    /// A WebSocket on `/rpc/v1` with one `Filecoin.ChainNotify` channel, as the lotus CLI and js-lotus-client do.
    WebSocket,
}

impl Transport {
    fn what(self) -> &'static str {
        match self {
            Transport::Sse => "SSE clients on /v1/streams/heads",
            Transport::WebSocket => "WebSocket clients on /rpc/v1, each with a ChainNotify channel",
        }
    }

    /// The gauge of what the clients hold, which is 0 once the gateway has let every one go.
    fn gauge(self) -> &'static str {
        match self {
            Transport::Sse => "lotus_rest_streams{what=\"open\"} ",
            Transport::WebSocket => "lotus_rest_websocket_connections ",
        }
    }
}

/// One WebSocket client: the times it saw each `apply` head change, in order.
async fn ws_client(
    addr: SocketAddr,
    token: Option<Arc<str>>,
    opened: tokio::sync::mpsc::Sender<bool>,
    seen: Arc<std::sync::Mutex<Vec<Vec<Instant>>>>,
    index: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> io::Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let refused = |why: String| invalid(format!("the WebSocket was refused: {why}"));
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{addr}/rpc/v1")
        .into_client_request()
        .map_err(|e| refused(e.to_string()))?;
    if let Some(t) = &token {
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {t}")
                .parse()
                .map_err(|_| refused("token".into()))?,
        );
    }
    // A small read buffer: the default (128 KiB a client) would make ten thousand clients the benchmark's own
    // memory problem.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    let mut ws =
        match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                let _ = opened.send(false).await;
                return Err(refused(e.to_string()));
            }
        };
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"Filecoin.ChainNotify","params":[],"id":1}"#,
    ))
    .await
    .map_err(|e| refused(e.to_string()))?;
    let mut started = false;
    loop {
        let message = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => return Ok(()),
        };
        let now = Instant::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => {
                if !started {
                    let _ = opened.send(false).await;
                }
                return Err(invalid(format!("the socket ended: {other:?}")));
            }
        };
        let text = text.as_str();
        if !text.contains("xrpc.ch.val") {
            if !started && text.contains("\"error\"") {
                let _ = opened.send(false).await;
                return Err(refused(text.chars().take(200).collect()));
            }
            continue;
        }
        if !started {
            if text.contains("\"current\"") {
                started = true;
                let _ = opened.send(true).await;
            }
        } else if text.contains("\"apply\"") {
            seen.lock().unwrap()[index].push(now);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// The gateway's gauge of what the clients of `transport` hold open.
async fn open_streams(gw: SocketAddr, token: Option<&str>, transport: Transport) -> Option<u64> {
    let reply = probe(gw, &get_request(gw, "/metrics", token)).await.ok()?;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    text.lines().find_map(|l| {
        l.strip_prefix(transport.gauge())?
            .trim()
            .parse::<f64>()
            .ok()
            .map(|v| v as u64)
    })
}

/// The server the streams scenario holds streams on, and what makes its events.
#[derive(Clone, Copy)]
enum Server<'a> {
    /// The gateway, whose events are the simulated node's new heads.
    Gateway(&'a SimHandle),
    /// The floor server, whose events are `POST /floor/emit`.
    Floor,
}

impl Server<'_> {
    fn name(self) -> &'static str {
        match self {
            Server::Gateway(_) => "lotus-rest",
            Server::Floor => "floor (actix-web alone)",
        }
    }

    /// Whether it counts its open streams in `/metrics`.
    fn has_gauge(self) -> bool {
        matches!(self, Server::Gateway(_))
    }
}

async fn streams_scenario(
    cfg: &Config,
    gw: SocketAddr,
    gw_pid: u32,
    server: Server<'_>,
    token: Option<&str>,
    transport: Transport,
) -> StreamsMeasured {
    let n = cfg.streams;
    let token_arc: Option<Arc<str>> = token.map(Arc::from);
    let request = Arc::new(
        format!(
            "GET /v1/streams/heads HTTP/1.1\r\nHost: {gw}\r\nAccept: text/event-stream\r\n{}\r\n",
            token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"))
        )
        .into_bytes(),
    );
    let rss_before_kib = vm_kib(gw_pid, "VmRSS:");
    let seen = Arc::new(std::sync::Mutex::new(vec![Vec::new(); n]));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel(1024);
    let mut tasks = Vec::with_capacity(n);
    let mut clients = 0;
    let mut failed = 0;
    // In batches, so that the listen backlog is never the limit.
    for start in (0..n).step_by(500) {
        let batch = (start..n.min(start + 500)).collect::<Vec<_>>();
        for &i in &batch {
            tasks.push(match transport {
                Transport::Sse => tokio::spawn(sse_client(
                    gw,
                    request.clone(),
                    opened_tx.clone(),
                    seen.clone(),
                    i,
                    stop_rx.clone(),
                )),
                Transport::WebSocket => tokio::spawn(ws_client(
                    gw,
                    token_arc.clone(),
                    opened_tx.clone(),
                    seen.clone(),
                    i,
                    stop_rx.clone(),
                )),
            });
        }
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        for _ in &batch {
            match tokio::time::timeout_at(deadline, opened_rx.recv()).await {
                Ok(Some(true)) => clients += 1,
                _ => failed += 1,
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_held_kib = vm_kib(gw_pid, "VmRSS:");
    // Head events, each reaching every client; the spread is measured from the first client to get it.
    let mut spread = Histogram::new();
    let mut missing = 0;
    for event in 1..=cfg.stream_events {
        match server {
            Server::Gateway(sim) => {
                // A null round of the simulated chain makes no head: advance until there is a new one.
                let before = sim.head().height;
                while sim.head().height == before {
                    sim.advance();
                }
            }
            Server::Floor => {
                let emit = post_request(gw, "/floor/emit", "", None);
                if let Err(e) = probe(gw, &emit).await {
                    eprintln!("the floor server did not emit an event: {e}");
                }
            }
        }
        // Until every client has it (or 5 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && seen
                .lock()
                .unwrap()
                .iter()
                .filter(|t| t.len() >= event)
                .count()
                < clients
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    {
        let seen = seen.lock().unwrap();
        for event in 0..cfg.stream_events {
            let times: Vec<Instant> = seen.iter().filter_map(|t| t.get(event).copied()).collect();
            missing += (clients - times.len().min(clients)) as u64;
            if let Some(first) = times.iter().min() {
                for t in &times {
                    spread.record(t.duration_since(*first).as_nanos() as u64);
                }
            }
        }
    }
    // Every client closes its connection at once; how long until the gateway has freed every place?
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let closed = Instant::now();
    let mut released = None;
    while server.has_gauge() && closed.elapsed() < Duration::from_secs(30) {
        if open_streams(gw, token, transport).await == Some(0) {
            released = Some(closed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    StreamsMeasured {
        server: server.name(),
        gauged: server.has_gauge(),
        transport,
        clients,
        failed,
        rss_before_kib,
        rss_held_kib,
        spread,
        events: cfg.stream_events,
        missing,
        released,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Output.

/// A kind of route measured through the gateway and through nginx.
struct Pair {
    gw_key: &'static str,
    nginx_key: &'static str,
    what: String,
    path: String,
    /// The body of a POST; a GET without one.
    body: Option<String>,
    /// What nginx sends the node (see [`Location`]).
    nginx_body: Option<String>,
    note: &'static str,
}

struct Row {
    key: &'static str,
    label: String,
    conns: usize,
    outcome: Result<Measured, String>,
    /// The nginx row doing the same work, compared in the "vs nginx" columns.
    versus: Option<&'static str>,
}

fn fmt_latency(nanos: u64) -> String {
    let us = nanos as f64 / 1000.0;
    if us < 1000.0 {
        format!("{us:.0}us")
    } else {
        format!("{:.2}ms", us / 1000.0)
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn fmt_ratio(a: f64, b: Option<f64>) -> String {
    match b {
        Some(b) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

fn print_table(rows: &[Row]) {
    let find = |key: &str| {
        rows.iter()
            .find(|r| r.key == key)
            .and_then(|r| r.outcome.as_ref().ok())
    };
    let base_a = find("a");
    let header = [
        "scenario",
        "conns",
        "req/s",
        "p50",
        "p99",
        "errors",
        "req/s vs a",
        "p99 vs a",
        "req/s vs nginx",
        "p99 vs nginx",
        "upstream calls/s",
        "CPU load/proxy/upstream/other",
        "proxy CPU/req",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for row in rows {
        let mut cells = vec![row.label.clone(), row.conns.to_string()];
        match &row.outcome {
            Ok(m) => {
                let errors = m.tally.status_errors + m.tally.io_errors;
                cells.extend([
                    fmt_rate(m.rps),
                    fmt_latency(m.p50),
                    fmt_latency(m.p99),
                    if errors == 0 {
                        "0".into()
                    } else {
                        format!(
                            "{errors} ({} http, {} io)",
                            m.tally.status_errors, m.tally.io_errors
                        )
                    },
                    fmt_ratio(m.rps, base_a.map(|b| b.rps)),
                    fmt_ratio(m.p99 as f64, base_a.map(|b| b.p99 as f64)),
                    fmt_ratio(m.rps, row.versus.and_then(find).map(|b| b.rps)),
                    fmt_ratio(
                        m.p99 as f64,
                        row.versus.and_then(find).map(|b| b.p99 as f64),
                    ),
                    fmt_rate(m.upstream_calls_per_s),
                    format!(
                        "{:.0}%/{}/{:.0}%/{:.0}%",
                        m.cpu_load,
                        m.cpu_proxy.map_or("-".into(), |p| format!("{p:.0}%")),
                        m.cpu_upstream,
                        m.cpu_other
                    ),
                    match m.cpu_proxy {
                        Some(p) if m.rps > 0.0 => format!("{:.0}us", p / 100.0 / m.rps * 1e6),
                        _ => "-".into(),
                    },
                ]);
            }
            // A row without numbers carries a note in place of them.
            Err(note) => cells.push(note.clone()),
        }
        lines.push(cells);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            lines
                .iter()
                .filter(|l| l.len() == header.len() || i < 2)
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (n, line) in lines.iter().enumerate() {
        let full = line.len() == header.len();
        let mut out = format!("{:<w$}", line[0], w = widths[0]);
        for (i, cell) in line.iter().enumerate().skip(1) {
            if full || i < 2 {
                out.push_str(&format!("  {cell:>w$}", w = widths[i]));
            } else {
                out.push_str(&format!("  {cell}"));
            }
        }
        println!("{}", out.trim_end());
        if n == 0 {
            println!(
                "{}",
                "-".repeat(widths.iter().map(|w| w + 2).sum::<usize>() - 2)
            );
        }
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = Command::new("lscpu")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("Model name:").map(|m| m.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpus} CPUs (nproc), {model}, Linux {kernel}")
}

fn nginx_version(nginx: &Path) -> String {
    Command::new(nginx)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------

fn main() {
    if std::env::args().any(|a| a == floor::ARG) {
        floor::main();
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not, and a load test is not a unit test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("gateway benchmark: run it with `cargo bench --bench gateway`");
        return;
    }
    let cfg = Config::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.threads)
        .thread_name(LOAD_THREAD)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(bench(&cfg)) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

async fn bench(cfg: &Config) -> Result<(), String> {
    println!("lotus-rest gateway benchmark, loopback only");
    println!("machine: {}", machine());
    println!(
        "load: {} keep-alive connections (closed loop, 1 request in flight each), {:.1}s warm-up + {:.1}s measured \
         per scenario, {} generator threads, {}",
        cfg.connections,
        cfg.warmup,
        cfg.seconds,
        cfg.threads,
        if cfg.token {
            "read token on every request"
        } else {
            "anonymous requests (read)"
        }
    );

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let secret = Secret::generate();
    let secret_path = dir.path().join("node-secret");
    secret.save(&secret_path)?;
    let mut sim_config = sim::SimConfig::new(secret.clone());
    sim_config.block_time = Duration::from_secs(3600);
    let sim = sim::start(
        sim_config,
        StdListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?,
    )
    .await
    .map_err(|e| format!("the simulated node does not start: {e}"))?;
    let token = cfg.token.then(|| sim.token(Perm::Read));
    let token = token.as_deref();
    let head = sim.head();
    let block = (1..head.height - 4)
        .rev()
        .find_map(|h| sim.tipset_at(h))
        .and_then(|ts| ts.cids.first().map(|c| (ts.height, c.root.clone())))
        .ok_or("the simulated chain has no block below the head")?;

    let (mut gateway, gw) = start_gateway(cfg, &sim, dir.path(), &secret_path)?;
    let gw_pid = gateway.pid();
    let head_get = get_request(gw, "/v1/chain/head", token);
    wait_ready(gw, &get_request(gw, "/readyz", token), "lotus-rest")
        .await
        .map_err(|e| {
            let log = std::fs::read_to_string(dir.path().join("gateway.log")).unwrap_or_default();
            format!("{e}\n{log}")
        })?;
    gateway.check_running()?;
    let gw_workers = actix_workers(gw_pid)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = vm_kib(gw_pid, "VmRSS:");
    println!(
        "lotus-rest: {} (pid {gw_pid}, {gw_workers} HTTP workers, RUST_LOG={}, stderr to a file); upstream: the \
         simulated node in this process (2 HTTP workers), head at height {}, block time 1h",
        gateway_binary().display(),
        cfg.log_level,
        head.height
    );
    let nginx = which("nginx");
    match &nginx {
        Some(path) => println!(
            "nginx: {} ({}), {gw_workers} workers, upstream keepalive 64, access log to a file",
            path.display(),
            nginx_version(path)
        ),
        None => println!("nginx: not installed (its rows are skipped)"),
    }
    println!();

    let sim_addr = sim.addr();
    let rpc_post = |addr| post_request(addr, "/rpc/v1", CHAIN_HEAD_RPC, token);
    let mut rows = Vec::new();
    let n = cfg.connections;
    let report = |label: &str, r: &Result<Measured, String>| match r {
        Ok(m) => println!(
            "  {label}: {} req/s, p50 {}, p99 {}, {} B bodies",
            fmt_rate(m.rps),
            fmt_latency(m.p50),
            fmt_latency(m.p99),
            m.body_bytes
        ),
        Err(note) => println!("  {label}: {note}"),
    };

    // (0) The generator's ceiling: the same body from a responder that does nothing else, in this process.
    let direct = wait_ready(sim_addr, &rpc_post(sim_addr), "the simulated node").await?;
    let ceiling = {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut canned = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            direct.body.len()
        )
        .into_bytes();
        canned.extend_from_slice(&direct.body);
        let server = tokio::spawn(trivial_responder(listener, Arc::new(canned)));
        let m = run_load(
            cfg,
            addr,
            rpc_post(addr),
            n,
            &sim,
            &ProxyProcs::None,
            direct.body.len(),
        )
        .await;
        server.abort();
        m
    };
    let label0 = "0 generator ceiling: trivial in-process responder";
    report(label0, &Ok(ceiling.clone()));
    rows.push(Row {
        key: "0",
        label: label0.into(),
        conns: n,
        outcome: Ok(ceiling),
        versus: None,
    });

    // (a) The upstream directly.
    let label = "a upstream direct: POST sim /rpc/v1 ChainHead";
    let m = run_load(
        cfg,
        sim_addr,
        rpc_post(sim_addr),
        n,
        &sim,
        &ProxyProcs::None,
        direct.body.len(),
    )
    .await;
    let outcome = Ok(m);
    report(label, &outcome);
    rows.push(Row {
        key: "a",
        label: label.into(),
        conns: n,
        outcome,
        versus: None,
    });

    // Each kind of route through the gateway, then nginx doing the same work: a REST read translated into its
    // JSON-RPC call (`proxy_set_body`), or `/rpc/v1` passed through (`proxy_pass`).
    let gw_procs = ProxyProcs::Pid(gw_pid);
    let actor = "t01000";
    let pairs: Vec<Pair> = vec![
        Pair {
            gw_key: "b",
            nginx_key: "d",
            what: "GET /v1/chain/head".into(),
            path: "/v1/chain/head".into(),
            body: None,
            nginx_body: Some(CHAIN_HEAD_RPC.into()),
            note: "",
        },
        Pair {
            gw_key: "g",
            nginx_key: "h",
            what: "GET /v1/actors/{address}".into(),
            path: format!("/v1/actors/{actor}"),
            body: None,
            nginx_body: Some(format!(
                r#"{{"jsonrpc":"2.0","method":"Filecoin.StateGetActor","params":["{actor}",[]],"id":1}}"#
            )),
            note: " (state at the head)",
        },
        Pair {
            gw_key: "i",
            nginx_key: "j",
            what: "GET /v1/miners".into(),
            path: "/v1/miners".into(),
            body: None,
            nginx_body: Some(
                r#"{"jsonrpc":"2.0","method":"Filecoin.StateListMiners","params":[[]],"id":1}"#
                    .into(),
            ),
            note: " (a list)",
        },
        Pair {
            gw_key: "e",
            nginx_key: "k",
            what: "GET /v1/blocks/{cid}".into(),
            path: format!("/v1/blocks/{}", block.1),
            body: None,
            nginx_body: Some(format!(
                r#"{{"jsonrpc":"2.0","method":"Filecoin.ChainGetBlock","params":[{{"/":"{}"}}],"id":1}}"#,
                block.1
            )),
            note: " (immutable)",
        },
        Pair {
            gw_key: "c",
            nginx_key: "l",
            what: "POST /rpc/v1 ChainHead".into(),
            path: "/rpc/v1".into(),
            body: Some(CHAIN_HEAD_RPC.into()),
            nginx_body: None,
            note: "",
        },
    ];
    let mut nginx_proc = match &nginx {
        None => None,
        Some(path) => {
            let nginx_dir = dir.path().join("nginx");
            std::fs::create_dir_all(&nginx_dir).map_err(|e| e.to_string())?;
            let locations: Vec<Location> = pairs
                .iter()
                .map(|p| Location {
                    path: p.path.clone(),
                    body: p.nginx_body.clone(),
                })
                .collect();
            let (guard, addr) = start_nginx(path, &sim, &nginx_dir, gw_workers, 64, &locations)?;
            Some((guard, addr, nginx_dir))
        }
    };
    for pair in pairs
        .iter()
        .filter(|p| cfg.runs(p.gw_key) || cfg.runs(p.nginx_key))
    {
        let request = |addr| match &pair.body {
            Some(body) => post_request(addr, &pair.path, body, token),
            None => get_request(addr, &pair.path, token),
        };
        let label = format!("{} lotus-rest {}{}", pair.gw_key, pair.what, pair.note);
        let outcome = match probe(gw, &request(gw)).await {
            Ok(r) if r.status == 200 => {
                Ok(run_load(cfg, gw, request(gw), n, &sim, &gw_procs, r.body.len()).await)
            }
            Ok(r) => Err(format!(
                "probe answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            Err(e) => Err(format!("probe failed: {e}")),
        };
        report(&label, &outcome);
        rows.push(Row {
            key: pair.gw_key,
            label,
            conns: n,
            outcome,
            versus: Some(pair.nginx_key),
        });
        let label = format!(
            "{} nginx {}{}",
            pair.nginx_key,
            pair.what,
            if pair.nginx_body.is_some() {
                " -> JSON-RPC"
            } else {
                " (proxy_pass)"
            }
        );
        let outcome = match &mut nginx_proc {
            None => Err("n/a (install nginx)".to_string()),
            Some((guard, addr, nginx_dir)) => {
                let addr = *addr;
                match wait_ready(addr, &request(addr), "nginx").await {
                    Ok(r) => {
                        guard.check_running()?;
                        let procs = ProxyProcs::WithChildren(guard.pid());
                        Ok(run_load(cfg, addr, request(addr), n, &sim, &procs, r.body.len()).await)
                    }
                    Err(e) => {
                        let log = std::fs::read_to_string(nginx_dir.join("nginx-error.log"))
                            .unwrap_or_default();
                        Err(format!("nginx failed: {e} {}", log.trim()))
                    }
                }
            }
        };
        report(&label, &outcome);
        rows.push(Row {
            key: pair.nginx_key,
            label,
            conns: n,
            outcome,
            versus: Some(pair.nginx_key),
        });
    }
    drop(nginx_proc);

    // (m) The floor of the stack: actix-web and hyper passing `/rpc/v1` through with nothing else (no checks, no
    // parsing, no log), against nginx's `proxy_pass` (l). Its process also holds the floor's streams (below).
    let mut floor_proc = None;
    let mut floor_idle_rss = None;
    let mut routes_idle_rss = None;
    if cfg.runs("m") || (cfg.streams > 0 && cfg.runs("n")) {
        // First with the gateway's routes declared as well, for its idle memory alone.
        if let Ok((mut guard, _, idle)) =
            ready_floor(&sim, dir.path(), gw_workers, &direct.body, true, rpc_post).await
        {
            if guard.check_running().is_ok() {
                routes_idle_rss = idle;
            }
        }
        match ready_floor(&sim, dir.path(), gw_workers, &direct.body, false, rpc_post).await {
            Ok((mut guard, addr, idle)) => {
                guard.check_running()?;
                floor_idle_rss = idle;
                floor_proc = Some((guard, addr));
            }
            Err(e) => println!("  the floor server: {e}"),
        }
    }
    if cfg.runs("m") {
        let label = "m floor: actix-web + hyper, POST /rpc/v1 passed through";
        let outcome = match &floor_proc {
            None => Err("the floor server did not start".to_string()),
            Some((guard, addr)) => {
                let procs = ProxyProcs::Pid(guard.pid());
                let request = rpc_post(*addr);
                Ok(run_load(cfg, *addr, request, n, &sim, &procs, direct.body.len()).await)
            }
        };
        report(label, &outcome);
        rows.push(Row {
            key: "m",
            label: label.into(),
            conns: n,
            outcome,
            versus: Some("l"),
        });
    }

    // (f) Many clients reading the head at once.
    let label = "f lotus-rest GET /v1/chain/head, many clients";
    let many = cfg.coalesce_clients;
    let outcome = match probe(gw, &head_get).await {
        _ if !cfg.runs("f") => Err("not run (BENCH_ONLY)".to_string()),
        Ok(r) if r.status == 200 => Ok(run_load(
            cfg,
            gw,
            head_get.clone(),
            many,
            &sim,
            &gw_procs,
            r.body.len(),
        )
        .await),
        Ok(r) => Err(format!("probe answered {}", r.status)),
        Err(e) => Err(format!("probe failed: {e}")),
    };
    report(label, &outcome);
    let coalescing = outcome.as_ref().ok().map(|m| (m.rps, m.head_calls_per_s));
    rows.push(Row {
        key: "f",
        label: label.into(),
        conns: many,
        outcome,
        versus: Some("d"),
    });

    // Memory: idle keep-alive connections (before the streams, whose connections would set the high-water mark).
    gateway.check_running()?;
    let loaded_rss = vm_kib(gw_pid, "VmRSS:");
    let (idle, failed) = open_idle(gw, &head_get, cfg.idle_connections).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held_rss = vm_kib(gw_pid, "VmRSS:");
    let held = idle.len();
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Live streams, then as many WebSocket clients following the head.
    let mut streams = Vec::new();
    if cfg.streams > 0 && cfg.runs("streams") {
        let server = Server::Gateway(&sim);
        streams.push(streams_scenario(cfg, gw, gw_pid, server, token, Transport::Sse).await);
        // The gateway gives the streams' memory back at its next check (once a second): the WebSocket row starts
        // after it, else it would count the SSE clients' freed memory as its own.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if cfg.streams > 0 && cfg.runs("websockets") {
        let server = Server::Gateway(&sim);
        streams.push(streams_scenario(cfg, gw, gw_pid, server, token, Transport::WebSocket).await);
    }
    // (n) As many SSE clients on the floor server, which sends each the same event as its head event.
    if let (Some((guard, addr)), true) = (&floor_proc, cfg.streams > 0 && cfg.runs("n")) {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (pid, server) = (guard.pid(), Server::Floor);
        streams.push(streams_scenario(cfg, *addr, pid, server, token, Transport::Sse).await);
    }
    drop(floor_proc);
    let peak_rss = vm_kib(gw_pid, "VmHWM:");
    gateway.check_running()?;
    drop(gateway);
    sim.stop().await;

    println!();
    print_table(&rows);
    println!();
    let mib = |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    println!(
        "lotus-rest memory: idle RSS {} (before load); RSS {} after the request scenarios; RSS {} holding {held} \
         idle keep-alive connections{}; peak RSS (VmHWM, with the streams) {}",
        mib(idle_rss),
        mib(loaded_rss),
        mib(held_rss),
        if failed > 0 {
            format!(" ({failed} could not be opened)")
        } else {
            String::new()
        },
        mib(peak_rss)
    );
    if floor_idle_rss.is_some() {
        println!(
            "floor server memory (actix-web + hyper alone, this executable): idle RSS {}; with the gateway's /v1 \
             routes declared as well (registered, not served): idle RSS {}",
            mib(floor_idle_rss),
            mib(routes_idle_rss)
        );
    }
    for m in &streams {
        let per = match (m.rss_before_kib, m.rss_held_kib) {
            (Some(a), Some(b)) if m.clients > 0 => {
                format!(
                    ", {:.1} KiB per stream",
                    b.saturating_sub(a) as f64 / m.clients as f64
                )
            }
            _ => String::new(),
        };
        let release = if m.gauged {
            format!(
                "; after every client closed its connection, the {} gauge was 0 in {}",
                m.transport
                    .gauge()
                    .split('{')
                    .next()
                    .unwrap_or_default()
                    .trim(),
                m.released.map_or(
                    "more than 30 s".into(),
                    |d| fmt_latency(d.as_nanos() as u64)
                ),
            )
        } else {
            String::new()
        };
        println!(
            "live streams, {}: {} {}{}: RSS {} before, {} holding them{per}; {} head events \
             reached every client within {} of the first client (p99; p50 {}, max {}){}{release}",
            m.server,
            m.clients,
            m.transport.what(),
            if m.failed > 0 {
                format!(" ({} could not be opened)", m.failed)
            } else {
                String::new()
            },
            mib(m.rss_before_kib),
            mib(m.rss_held_kib),
            m.events,
            fmt_latency(m.spread.quantile(0.99)),
            fmt_latency(m.spread.quantile(0.50)),
            fmt_latency(m.spread.quantile(1.0)),
            if m.missing > 0 {
                format!(", {} deliveries missing", m.missing)
            } else {
                String::new()
            },
        );
    }
    if let Some((rps, head_calls)) = coalescing {
        println!(
            "coalesced head reads (f): {} responses/s to {many} clients took {} upstream Filecoin.ChainHead calls/s \
             ({:.3} upstream calls per response)",
            fmt_rate(rps),
            fmt_rate(head_calls),
            if rps > 0.0 { head_calls / rps } else { 0.0 }
        );
    }
    let busiest = rows
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok().map(|m| m.cpu_other))
        .fold(0.0f64, f64::max);
    if busiest > 20.0 {
        println!(
            "note: up to {busiest:.0}% of a core went to other work (other processes or kernel time) during the \
             scenarios; when that is other processes, throughput and latency are noisy in this run (proxy CPU/req \
             is the steadiest comparison)"
        );
    }
    let ceiling_rps = rows[0].outcome.as_ref().map_or(0.0, |m| m.rps);
    let (best_label, best) = rows[1..]
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok().map(|m| (r.key, m.rps)))
        .fold(("-", 0.0f64), |acc, x| if x.1 > acc.1 { x } else { acc });
    println!(
        "load generator ceiling (row 0, a responder that only writes a canned {} B reply, sharing the generator's \
         threads): {} req/s; the fastest scenario ({best_label}) reached {} req/s = {:.0}% of it, so that row is \
         bounded by the server, not by the generator, when this is well below 100%. Row (a) is the reference the \
         gateway rows are compared against.",
        direct.body.len(),
        fmt_rate(ceiling_rps),
        fmt_rate(best),
        if ceiling_rps > 0.0 {
            best / ceiling_rps * 100.0
        } else {
            0.0
        }
    );
    println!(
        "columns: latency is per request (send to full response) over the measured window; errors are non-2xx \
         answers and IO errors/timeouts; upstream calls/s are the JSON-RPC calls the simulated node received; CPU is \
         % of one core for the load generator threads (row 0: with the responder) / the proxy process (lotus-rest \
         or nginx master+workers) / the simulated node's HTTP threads / everything else on the machine (other \
         processes, and kernel interrupt time not charged to a process); proxy CPU/req is the proxy's CPU time per answered request. All processes \
         share {} CPUs.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    Ok(())
}
