//! A simulated Lotus miner: the miner's JSON-RPC API (v0), answered with deterministic, stateful data.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use super::rpc::{
    error_reply, Failure, Params, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR,
};
use crate::lotus::methods::{lookup, MINER};
use crate::lotus::token::Secret;
use crate::lotus::{Perm, PermSet};

mod arity;
mod info;
mod sectors;
mod storage;
#[cfg(test)]
mod tests;

/// How the simulated miner starts.
#[derive(Clone)]
pub struct MinerSimConfig {
    /// The miner's own JWT secret.
    pub secret: Secret,
    /// The miner actor.
    pub actor: String,
    /// The node sim, for the chain head.
    pub node: Option<super::SimHandle>,
    pub seed: u64,
}

impl MinerSimConfig {
    pub fn new(secret: Secret) -> Self {
        MinerSimConfig {
            secret,
            actor: "t01000".to_owned(),
            node: None,
            seed: 1,
        }
    }
}

/// One sector of the simulated miner.
#[derive(Clone, Debug)]
struct Sector {
    number: u64,
    state: String,
    deals: Vec<u64>,
    log: Vec<Value>,
    to_upgrade: bool,
    /// Unpadded bytes of pieces written into it.
    filled: u64,
}

struct State {
    sectors: BTreeMap<u64, Sector>,
    paths: BTreeMap<String, Value>,
    health: BTreeMap<String, Value>,
    jobs: BTreeMap<String, Vec<Value>>,
    withdrawals: Vec<Value>,
    log_levels: BTreeMap<String, String>,
    reservations: BTreeMap<String, Vec<u64>>,
    seal_delay: i64,
    expected_seal: i64,
    next_msg: u64,
    /// Whether the reservations kept from an earlier run are in `reservations` yet.
    reservations_loaded: bool,
    /// The sector index, local paths, connected workers and scheduler queue (`storage.rs`).
    storage_sim: storage::StorageState,
}

struct Shared {
    config: MinerSimConfig,
    session: String,
    start_time: String,
    calls: Mutex<Vec<String>>,
    state: Mutex<State>,
}

/// A running simulated miner.
#[derive(Clone)]
pub struct MinerSimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
}

impl MinerSimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT/rpc/v0`.
    pub fn url(&self) -> String {
        format!("http://{}/rpc/v0", self.addr)
    }
    /// A token minted with the miner's secret.
    pub fn token(&self, perm: Perm) -> String {
        self.shared.config.secret.mint(perm.up_to())
    }
    /// The full method names of every request received.
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().unwrap().clone()
    }
    pub fn reset_calls(&self) {
        self.shared.calls.lock().unwrap().clear();
    }
    pub async fn stop(&self) {
        self.server.stop(false).await;
    }
    /// (number, state) of every sector.
    pub fn sectors(&self) -> Vec<(u64, String)> {
        let st = self.shared.state.lock().unwrap();
        st.sectors
            .values()
            .map(|s| (s.number, s.state.clone()))
            .collect()
    }
}

const STATES: &[&str] = &[
    "PreCommit1",
    "PreCommit2",
    "WaitSeed",
    "Committing",
    "FinalizeSector",
    "Available",
    "Faulty",
    "Removed",
    "UpdateReplica",
    "WaitDeals",
];

fn mix(seed: u64, n: u64) -> u64 {
    let mut x = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

fn cid_of(tag: &str, n: u64) -> Value {
    json!({"/": format!("bafy2bzace{tag}{:0>40}", format!("{:x}", n)).chars().take(62).collect::<String>()})
}

fn worker_ids() -> Vec<String> {
    (1..=3)
        .map(|i| format!("{i:08x}-0000-4000-8000-00000000000{i}"))
        .collect()
}

fn sealing_task(state: &str) -> Option<&'static str> {
    match state {
        "PreCommit1" => Some("seal/v0/precommit/1"),
        "PreCommit2" => Some("seal/v0/precommit/2"),
        "Committing" => Some("seal/v0/commit/2"),
        "FinalizeSector" => Some("seal/v0/finalize"),
        "UpdateReplica" => Some("seal/v0/replicaupdate"),
        _ => None,
    }
}

impl State {
    fn new(seed: u64) -> Self {
        let mut sectors = BTreeMap::new();
        for n in 0..120u64 {
            let state = if n < 90 {
                "Proving".to_owned()
            } else {
                STATES[((n - 90) as usize) % STATES.len()].to_owned()
            };
            let deals = if mix(seed, n).is_multiple_of(3) {
                vec![1000 + n]
            } else {
                vec![]
            };
            sectors.insert(
                n,
                Sector {
                    number: n,
                    log: vec![json!({"Kind": "event;sealing.SectorStartCC", "Timestamp": 1_700_000_000u64 + n * 60, "Trace": "", "Message": ""})],
                    state,
                    deals,
                    to_upgrade: false,
                    filled: 0,
                },
            );
        }
        let mut paths = BTreeMap::new();
        for (i, (seal, store)) in [(true, false), (false, true), (false, true), (true, true)]
            .into_iter()
            .enumerate()
        {
            let id = format!(
                "{:08x}-1111-4000-8000-{:012x}",
                i + 1,
                mix(seed, i as u64) & 0xffff_ffff_ffff
            );
            paths.insert(id.clone(), path_info(&id, seal, store, i));
        }
        let mut st = State {
            sectors,
            paths,
            health: BTreeMap::new(),
            jobs: BTreeMap::new(),
            withdrawals: vec![],
            log_levels: [
                ("miner", "INFO"),
                ("sectors", "INFO"),
                ("storageminer", "INFO"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
            reservations: BTreeMap::new(),
            seal_delay: 3_600_000_000_000,
            expected_seal: 86_400_000_000_000,
            next_msg: 1,
            reservations_loaded: false,
            storage_sim: storage::StorageState::default(),
        };
        st.rebuild_jobs();
        st
    }

    fn rebuild_jobs(&mut self) {
        let workers = worker_ids();
        let mut jobs: BTreeMap<String, Vec<Value>> =
            workers.iter().map(|w| (w.clone(), vec![])).collect();
        for s in self.sectors.values() {
            if let Some(task) = sealing_task(&s.state) {
                let w = &workers[(s.number as usize) % workers.len()];
                jobs.get_mut(w).unwrap().push(json!({
                    "ID": {"Sector": {"Miner": 1000, "Number": s.number}, "ID": format!("{:08x}-2222-4000-8000-{:012x}", s.number, s.number)},
                    "Sector": {"Miner": 1000, "Number": s.number},
                    "Task": task,
                    "RunWait": 0,
                    "Start": "2026-01-01T00:00:00Z",
                    "Hostname": format!("worker-{}", (s.number as usize) % workers.len() + 1),
                }));
            }
        }
        self.jobs = jobs;
    }

    fn sector(&self, n: u64) -> Result<&Sector, Failure> {
        self.sectors
            .get(&n)
            .ok_or_else(|| Failure::method("getting sector info: not found"))
    }

    fn set_state(&mut self, n: u64, state: &str) -> Result<(), Failure> {
        let s = self
            .sectors
            .get_mut(&n)
            .ok_or_else(|| Failure::method("getting sector info: not found"))?;
        s.state = state.to_owned();
        s.log.push(json!({"Kind": format!("event;sealing.{state}"), "Timestamp": 1_700_100_000u64, "Trace": "", "Message": ""}));
        self.rebuild_jobs();
        Ok(())
    }

    fn msg(&mut self) -> Value {
        self.next_msg += 1;
        cid_of("msg", self.next_msg)
    }
}

fn path_info(id: &str, seal: bool, store: bool, i: usize) -> Value {
    json!({
        "ID": id,
        "URLs": [format!("http://127.0.0.1:2345/remote/{id}")],
        "Weight": 10 * (i as u64 + 1),
        "MaxStorage": 0,
        "CanSeal": seal,
        "CanStore": store,
        "Groups": if seal { json!(["seal"]) } else { json!(["store"]) },
        "AllowTo": null,
        "AllowTypes": null,
        "DenyTypes": null,
        "AllowMiners": null,
        "DenyMiners": null,
    })
}

fn sector_status(cfg: &MinerSimConfig, s: &Sector) -> Value {
    let n = s.number;
    // Epochs derived from the number; any sector number (up to 2^63-1) gives epochs without overflow.
    let e = (n % 1_000_000_000) as i64;
    json!({
        "SectorID": n,
        "State": s.state,
        "CommD": cid_of("commd", n),
        "CommR": cid_of("commr", n),
        "Proof": "",
        "Deals": s.deals,
        "Pieces": s.deals.iter().map(|d| json!({"Piece": {"Size": 34359738368u64, "PieceCID": cid_of("piece", *d)}, "DealInfo": null})).collect::<Vec<_>>(),
        "Ticket": {"Value": "dGlja2V0", "Epoch": 100 + e},
        "Seed": {"Value": "c2VlZA==", "Epoch": 250 + e},
        "PreCommitMsg": cid_of("pcmsg", n),
        "CommitMsg": cid_of("cmsg", n),
        "Retries": 0,
        "ToUpgrade": s.to_upgrade,
        "ReplicaUpdateMessage": null,
        "LastErr": "",
        "Log": s.log,
        "SealProof": 8,
        "Activation": 300 + e,
        "Expiration": 1_600_000 + e,
        "DealWeight": "0",
        "VerifiedDealWeight": "0",
        "InitialPledge": "1000000000000000000",
        "OnTime": 1_600_000 + e,
        "Early": 0,
        "Miner": cfg.actor,
    })
}

fn sector_ref(n: u64) -> Value {
    json!({"Miner": 1000, "Number": n})
}

fn fs_stat(i: u64) -> Value {
    let cap = 8u64 << 40;
    let used = (i + 1) << 40;
    json!({"Capacity": cap, "Available": cap - used, "FSAvailable": cap - used, "Reserved": 0, "Max": 0, "Used": used})
}

fn call(sh: &Shared, name: &str, p: &Params) -> Result<Value, Failure> {
    let mut st = sh.state.lock().unwrap();
    info::call(sh, &mut st, name, p)
        .or_else(|| sectors::call(sh, &mut st, name, p))
        .or_else(|| storage::call(sh, &mut st, name, p))
        // a real miner method this simulation does not answer
        .unwrap_or_else(|| {
            Err(Failure::new(
                METHOD_NOT_FOUND,
                format!("method '{}' not found", p.method),
            ))
        })
}

fn dispatch(sh: &Shared, perms: PermSet, request: &Value) -> (StatusCode, Value) {
    let Some(object) = request.as_object() else {
        let f = Failure::new(
            INVALID_REQUEST,
            "invalid request: expected a JSON-RPC request object",
        );
        return (f.status(), error_reply(Value::Null, f));
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    let result = (|| {
        let method = object
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(INVALID_REQUEST, "invalid request: missing method name"))?;
        let meta = lookup(MINER, method).ok_or_else(|| {
            Failure::new(METHOD_NOT_FOUND, format!("method '{method}' not found"))
        })?;
        let values = match object.get("params") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(v)) => v.as_slice(),
            Some(_) => {
                return Err(Failure::new(
                    INVALID_PARAMS,
                    format!("unmarshaling params for '{method}': expected an array of parameters"),
                ))
            }
        };
        let name = method.strip_prefix("Filecoin.").unwrap_or(method);
        if !perms.contains(meta.perm) {
            return Err(Failure::method(format!(
                "missing permission to invoke '{name}' (need '{}')",
                meta.perm
            )));
        }
        let p = Params { method, values };
        if let Some(count) = arity::arity(method) {
            p.expect(count)?;
        }
        call(sh, name, &p)
    })();
    match result {
        Ok(v) => (
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "result": v, "id": id}),
        ),
        Err(f) => (f.status(), error_reply(id, f)),
    }
}

fn reply(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(serde_json::to_vec(body).expect("JSON values serialize"))
}

async fn handle(req: HttpRequest, body: web::Bytes, sh: web::Data<Shared>) -> HttpResponse {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    {
        let name = |v: &Value| {
            v.get("method")
                .and_then(Value::as_str)
                .unwrap_or("<invalid request>")
                .to_owned()
        };
        let names = match &parsed {
            Ok(Value::Array(items)) => items.iter().map(name).collect(),
            Ok(v) => vec![name(v)],
            Err(_) => vec!["<unparseable request>".to_owned()],
        };
        sh.calls.lock().unwrap().extend(names);
    }
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let perms = if auth.is_empty() {
        Perm::Read.up_to()
    } else {
        match auth
            .strip_prefix("Bearer ")
            .map(|t| sh.config.secret.verify(t))
        {
            Some(Ok(p)) => p,
            _ => return HttpResponse::Unauthorized().finish(),
        }
    };
    match parsed {
        Err(e) => {
            let f = Failure::new(PARSE_ERROR, format!("Parse error: {e}"));
            reply(f.status(), &error_reply(Value::Null, f))
        }
        Ok(Value::Array(items)) if items.is_empty() => {
            let f = Failure::new(INVALID_REQUEST, "invalid request: empty batch");
            reply(f.status(), &error_reply(Value::Null, f))
        }
        Ok(Value::Array(items)) => {
            let replies: Vec<Value> = items.iter().map(|i| dispatch(&sh, perms, i).1).collect();
            reply(StatusCode::OK, &Value::Array(replies))
        }
        Ok(request) => {
            let (status, body) = dispatch(&sh, perms, &request);
            reply(status, &body)
        }
    }
}

/// Starts the simulated miner on `listener`.
pub async fn start_miner(
    config: MinerSimConfig,
    listener: TcpListener,
) -> std::io::Result<MinerSimHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let seed = config.seed;
    let shared = Arc::new(Shared {
        config,
        session: format!(
            "{:08x}-4444-4000-8000-{:012x}",
            seed & 0xffff_ffff,
            mix(seed, 7) & 0xffff_ffff_ffff
        ),
        start_time: "2026-01-01T00:00:00Z".to_owned(),
        calls: Mutex::new(vec![]),
        state: Mutex::new(State::new(seed)),
    });
    let data = web::Data::from(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/rpc/v0", web::post().to(handle))
            .route("/rpc/v1", web::post().to(handle))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(MinerSimHandle {
        shared,
        addr,
        server: handle,
    })
}
