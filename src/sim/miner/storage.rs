//! The simulated miner's answers for storage paths, sector locations and locks, workers, jobs and the sealing scheduler.

use std::collections::BTreeSet;

use super::*;

/// Sector file types, in Lotus's bit order (`storiface.SectorFileType`).
const FILE_TYPES: [&str; 6] = [
    "unsealed",
    "sealed",
    "cache",
    "update",
    "update-cache",
    "piece",
];

/// The sector index, the local store, connected workers and the scheduler queue. Seeded from the paths and sectors
/// on first use.
#[derive(Default)]
pub(super) struct StorageState {
    seeded: bool,
    /// Declarations: path ID → sector number → (file types, of which primary).
    decls: BTreeMap<String, BTreeMap<u64, (u64, u64)>>,
    /// What the local paths hold on disk: what a redeclaration finds.
    disk: BTreeMap<String, BTreeMap<u64, u64>>,
    /// Local paths: ID → filesystem path.
    local: BTreeMap<String, String>,
    /// Workers connected with `WorkerConnect`: ID → URL.
    connected: BTreeMap<String, String>,
    /// Call IDs of aborted jobs.
    aborted: BTreeSet<String>,
    /// Scheduler requests waiting for a worker.
    requests: Vec<Value>,
}

fn seed(st: &mut State) {
    if st.storage_sim.seeded {
        return;
    }
    let ids: Vec<String> = st.paths.keys().cloned().collect();
    let mut decls: BTreeMap<String, BTreeMap<u64, (u64, u64)>> =
        ids.iter().map(|id| (id.clone(), BTreeMap::new())).collect();
    if !ids.is_empty() {
        for s in st.sectors.values() {
            let id = &ids[s.number as usize % ids.len()];
            // sealed and cache; unsealed too for sectors with deals
            let types = if s.deals.is_empty() { 2 | 4 } else { 1 | 2 | 4 };
            decls.get_mut(id).unwrap().insert(s.number, (types, types));
        }
    }
    let requests = st
        .sectors
        .values()
        .filter(|s| s.state == "Committing")
        .map(|s| {
            json!({
                "Sector": sector_ref(s.number),
                "TaskType": "seal/v0/commit/1",
                "Priority": 0,
                "SchedId": format!("{:08x}-5555-4000-8000-{:012x}", s.number, s.number),
            })
        })
        .collect();
    let sim = &mut st.storage_sim;
    sim.disk = decls
        .iter()
        .map(|(id, m)| (id.clone(), m.iter().map(|(n, (t, _))| (*n, *t)).collect()))
        .collect();
    sim.decls = decls;
    sim.local = ids
        .iter()
        .map(|k| (k.clone(), format!("/var/lib/lotus-miner/{k}")))
        .collect();
    sim.requests = requests;
    sim.seeded = true;
}

fn type_names(mask: u64) -> String {
    FILE_TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("|")
}

/// A stable UUID for a name (a directory, a worker URL), as the ID its `sectorstore.json` or session would carry.
fn uuid_of(tag: u64, name: &str) -> String {
    let mut h = tag;
    for b in name.bytes() {
        h = mix(h, b as u64);
    }
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        mix(h, 1) & 0xffff_ffff_ffff
    )
}

fn sector_id(p: &Params, i: usize) -> Result<u64, Failure> {
    #[derive(serde::Deserialize)]
    struct SectorId {
        #[serde(rename = "Miner")]
        _miner: u64,
        #[serde(rename = "Number")]
        number: u64,
    }
    Ok(p.decode::<SectorId>(i, "abi.SectorID")?.number)
}

/// The file types a task locks: (read, write).
fn task_locks(task: &str) -> (u64, u64) {
    match task {
        "seal/v0/precommit/1" => (1, 2 | 4),
        "seal/v0/precommit/2" => (2, 4),
        "seal/v0/commit/2" => (2 | 4, 0),
        "seal/v0/finalize" => (0, 1 | 2 | 4),
        "seal/v0/replicaupdate" => (1 | 2 | 4, 8 | 16),
        _ => (0, 0),
    }
}

/// The jobs of every worker, aborted ones left out, connected workers with none.
fn jobs(st: &State) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = st
        .jobs
        .iter()
        .map(|(w, jobs)| {
            let live = jobs
                .iter()
                .filter(|j| {
                    j["ID"]["ID"]
                        .as_str()
                        .is_none_or(|id| !st.storage_sim.aborted.contains(id))
                })
                .cloned()
                .collect();
            (w.clone(), live)
        })
        .collect();
    for id in st.storage_sim.connected.keys() {
        out.entry(id.clone()).or_default();
    }
    out
}

/// The locks running jobs hold: sector → (readers per file type, write-locked types).
fn locks(st: &State) -> BTreeMap<u64, ([u64; 6], u64)> {
    let mut out: BTreeMap<u64, ([u64; 6], u64)> = BTreeMap::new();
    for job in jobs(st).values().flatten() {
        let Some(n) = job["Sector"]["Number"].as_u64() else {
            continue;
        };
        let (read, write) = task_locks(job["Task"].as_str().unwrap_or_default());
        if read | write == 0 {
            continue;
        }
        let entry = out.entry(n).or_default();
        for (i, count) in entry.0.iter_mut().enumerate() {
            if read & (1 << i) != 0 {
                *count += 1;
            }
        }
        entry.1 |= write;
    }
    out
}

fn stat_of(st: &State, id: &str) -> Result<Value, Failure> {
    let idx =
        st.paths.keys().position(|k| k == id).ok_or_else(|| {
            Failure::method("getting remote storage info: sector store not found")
        })?;
    match st.health.get(id) {
        Some(report) => match report["Err"].as_str().filter(|e| !e.is_empty()) {
            Some(err) => Err(Failure::method(format!("fetching remote stat: {err}"))),
            None => Ok(report["Stat"].clone()),
        },
        None => Ok(fs_stat(idx as u64)),
    }
}

fn healthy(st: &State, id: &str) -> bool {
    st.health
        .get(id)
        .is_none_or(|r| r["Err"].as_str().is_none_or(str::is_empty))
}

fn available(st: &State, id: &str) -> u64 {
    stat_of(st, id)
        .ok()
        .and_then(|s| s["Available"].as_u64())
        .unwrap_or(0)
}

fn worker_stat(hostname: &str, jobs: usize) -> Value {
    json!({
        "Info": {"Hostname": hostname, "IgnoreResources": false, "Resources": {"MemPhysical": 274877906944u64, "MemUsed": 2147483648u64, "MemSwap": 0, "MemSwapUsed": 0, "CPUs": 64, "GPUs": ["NVIDIA RTX 3090"], "Resources": {}}},
        "Tasks": ["seal/v0/precommit/1", "seal/v0/precommit/2", "seal/v0/commit/2"],
        "Enabled": true,
        "MemUsedMin": 0, "MemUsedMax": 0, "GpuUsed": 0.0, "CpuUse": jobs,
        "TaskCounts": {},
    })
}

/// The answer to `name`, or `None` when it is not one of this group's methods.
pub(super) fn call(
    sh: &Shared,
    st: &mut State,
    name: &str,
    p: &Params,
) -> Option<Result<Value, Failure>> {
    let answer = (|| -> Result<Option<Value>, Failure> {
        if name.starts_with("Storage") || name.starts_with("Worker") || name.starts_with("Sealing")
        {
            seed(st);
        }
        Ok(Some(match name {
            "StorageList" => {
                let mut m = serde_json::Map::new();
                for id in st.paths.keys() {
                    let decls: Vec<Value> = st
                        .storage_sim
                        .decls
                        .get(id)
                        .into_iter()
                        .flatten()
                        .map(|(n, (t, _))| json!({"Miner": 1000, "Number": n, "SectorFileType": t}))
                        .collect();
                    m.insert(id.clone(), json!(decls));
                }
                Value::Object(m)
            }
            "StorageLocal" => json!(st
                .storage_sim
                .local
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>()),
            "StorageInfo" => {
                let id: String = p.decode(0, "storiface.ID")?;
                st.paths
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| Failure::method("sector store not found"))?
            }
            "StorageStat" => {
                let id: String = p.decode(0, "storiface.ID")?;
                stat_of(st, &id)?
            }
            "StorageFindSector" => {
                let n = sector_id(p, 0)?;
                let ft: u64 = p.decode(1, "storiface.SectorFileType")?;
                let size: u64 = p.decode(2, "abi.SectorSize")?;
                let allow_fetch: bool = p.decode(3, "bool")?;
                let mut out = vec![];
                let mut found = BTreeSet::new();
                for (id, decls) in &st.storage_sim.decls {
                    let Some((types, primary)) = decls.get(&n) else {
                        continue;
                    };
                    let matching = types & ft;
                    if matching == 0 {
                        continue;
                    }
                    let Some(info) = st.paths.get(id) else {
                        continue;
                    };
                    let base: Vec<String> = info["URLs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|u| u.as_str().map(str::to_owned))
                        .collect();
                    let urls: Vec<String> = base
                        .iter()
                        .map(|u| format!("{u}/{}/s-t01000-{n}", type_names(ft)))
                        .collect();
                    found.insert(id.clone());
                    out.push(json!({
                        "ID": id, "URLs": urls, "BaseURLs": base,
                        "Weight": info["Weight"].as_u64().unwrap_or(0) * matching.count_ones() as u64,
                        "CanSeal": info["CanSeal"], "CanStore": info["CanStore"],
                        "Primary": primary & ft != 0,
                        "AllowTypes": info["AllowTypes"], "DenyTypes": info["DenyTypes"],
                        "AllowMiners": info["AllowMiners"], "DenyMiners": info["DenyMiners"],
                    }));
                }
                if allow_fetch {
                    for (id, info) in &st.paths {
                        let usable =
                            info["CanSeal"] == json!(true) || info["CanStore"] == json!(true);
                        if found.contains(id)
                            || !usable
                            || !healthy(st, id)
                            || available(st, id) < size
                        {
                            continue;
                        }
                        let base = info["URLs"].clone();
                        out.push(json!({
                            "ID": id, "URLs": base, "BaseURLs": base, "Weight": 0,
                            "CanSeal": info["CanSeal"], "CanStore": info["CanStore"], "Primary": false,
                            "AllowTypes": info["AllowTypes"], "DenyTypes": info["DenyTypes"],
                            "AllowMiners": info["AllowMiners"], "DenyMiners": info["DenyMiners"],
                        }));
                    }
                }
                json!(out)
            }
            "StorageBestAlloc" => {
                let ft: u64 = p.decode(0, "storiface.SectorFileType")?;
                let size: u64 = p.decode(1, "abi.SectorSize")?;
                let path_type: String = p.decode(2, "storiface.PathType")?;
                let _miner: u64 = p.decode(3, "abi.ActorID")?;
                let flag = match path_type.as_str() {
                    "sealing" => "CanSeal",
                    "storage" => "CanStore",
                    other => return Err(Failure::method(format!("unknown path type {other:?}"))),
                };
                let need = size * ft.count_ones() as u64;
                let mut candidates: Vec<(u64, u64, Value)> = st
                    .paths
                    .iter()
                    .filter(|(id, info)| {
                        info[flag] == json!(true) && healthy(st, id) && available(st, id) >= need
                    })
                    .map(|(id, info)| {
                        (
                            info["Weight"].as_u64().unwrap_or(0),
                            available(st, id),
                            info.clone(),
                        )
                    })
                    .collect();
                if candidates.is_empty() {
                    return Err(Failure::method("no good path found"));
                }
                candidates.sort_by_key(|c| std::cmp::Reverse((c.0, c.1)));
                json!(candidates.into_iter().map(|c| c.2).collect::<Vec<_>>())
            }
            "StorageAttach" => {
                let mut info: Value = p.decode(0, "storiface.StorageInfo")?;
                let stat: Value = p.decode(1, "fsutil.FsStat")?;
                let id = info["ID"].as_str().unwrap_or_default().to_owned();
                if let Some(existing) = st.paths.get(&id) {
                    // a known path: its URLs are merged, the rest replaced
                    let mut urls: Vec<Value> =
                        existing["URLs"].as_array().cloned().unwrap_or_default();
                    for u in info["URLs"].as_array().cloned().unwrap_or_default() {
                        if !urls.contains(&u) {
                            urls.push(u);
                        }
                    }
                    info["URLs"] = json!(urls);
                }
                st.paths.insert(id.clone(), info);
                st.health
                    .insert(id.clone(), json!({"Stat": stat, "Err": ""}));
                st.storage_sim.decls.entry(id).or_default();
                Value::Null
            }
            "StorageAddLocal" => {
                let path: String = p.decode(0, "string")?;
                let id = uuid_of(0x5eed, &path);
                if st.storage_sim.local.contains_key(&id) {
                    return Err(Failure::method(format!(
                        "opening storage path: path with ID {id} already opened: '{path}'"
                    )));
                }
                let mut info = path_info(&id, false, true, st.paths.len());
                info["URLs"] = json!(["http://127.0.0.1:2345/remote"]);
                st.paths.insert(id.clone(), info);
                st.storage_sim.local.insert(id.clone(), path);
                st.storage_sim.decls.entry(id.clone()).or_default();
                st.storage_sim.disk.entry(id).or_default();
                Value::Null
            }
            "StorageDetach" => {
                let id: String = p.decode(0, "storiface.ID")?;
                let url: String = p.decode(1, "string")?;
                let info = st
                    .paths
                    .get_mut(&id)
                    .ok_or_else(|| Failure::method(format!("storage '{id}' isn't registered")))?;
                let urls: Vec<Value> = info["URLs"].as_array().cloned().unwrap_or_default();
                if urls.len() <= 1 {
                    if let Some(only) = urls.first().and_then(Value::as_str) {
                        if only != url {
                            return Err(Failure::method(format!("not dropping path, requested and index urls don't match ('{url}' != '{only}')")));
                        }
                    }
                    st.paths.remove(&id);
                    st.health.remove(&id);
                    st.storage_sim.decls.remove(&id);
                } else {
                    info["URLs"] = json!(urls
                        .into_iter()
                        .filter(|u| *u != json!(url))
                        .collect::<Vec<_>>());
                }
                Value::Null
            }
            "StorageDetachLocal" => {
                let path: String = p.decode(0, "string")?;
                let id = st
                    .storage_sim
                    .local
                    .iter()
                    .find(|(_, v)| **v == path)
                    .map(|(k, _)| k.clone())
                    .ok_or_else(|| Failure::method(format!("no local paths match '{path}'")))?;
                st.storage_sim.local.remove(&id);
                st.paths.remove(&id);
                st.health.remove(&id);
                st.storage_sim.decls.remove(&id);
                Value::Null
            }
            "StorageRedeclareLocal" => {
                let only: Option<String> = p.decode(0, "*storiface.ID")?;
                let drop_missing: bool = p.decode(1, "bool")?;
                let ids: Vec<String> = st
                    .storage_sim
                    .local
                    .keys()
                    .filter(|k| only.as_ref().is_none_or(|o| o == *k))
                    .cloned()
                    .collect();
                for id in ids {
                    let disk = st.storage_sim.disk.get(&id).cloned().unwrap_or_default();
                    let decls = st.storage_sim.decls.entry(id).or_default();
                    if drop_missing {
                        decls.retain(|n, _| disk.contains_key(n));
                    }
                    for (n, t) in disk {
                        let e = decls.entry(n).or_insert((0, 0));
                        e.0 |= t;
                    }
                }
                Value::Null
            }
            "StorageDeclareSector" => {
                let id: String = p.decode(0, "storiface.ID")?;
                let n = sector_id(p, 1)?;
                let ft: u64 = p.decode(2, "storiface.SectorFileType")?;
                let primary: bool = p.decode(3, "bool")?;
                let e = st
                    .storage_sim
                    .decls
                    .entry(id)
                    .or_default()
                    .entry(n)
                    .or_insert((0, 0));
                e.0 |= ft;
                if primary {
                    e.1 |= ft;
                }
                Value::Null
            }
            "StorageDropSector" => {
                let id: String = p.decode(0, "storiface.ID")?;
                let n = sector_id(p, 1)?;
                let ft: u64 = p.decode(2, "storiface.SectorFileType")?;
                if let Some(decls) = st.storage_sim.decls.get_mut(&id) {
                    if let Some(e) = decls.get_mut(&n) {
                        e.0 &= !ft;
                        e.1 &= !ft;
                        if e.0 == 0 {
                            decls.remove(&n);
                        }
                    }
                }
                Value::Null
            }
            "StorageReportHealth" => {
                let id: String = p.decode(0, "storiface.ID")?;
                let h: Value = p.decode(1, "storiface.HealthReport")?;
                if !st.paths.contains_key(&id) {
                    return Err(Failure::method(format!(
                        "health report for unknown storage: {id}"
                    )));
                }
                st.health.insert(id, h);
                Value::Null
            }
            "StorageGetLocks" => {
                json!({"Locks": locks(st).into_iter().map(|(n, (read, write))| json!({
                "Sector": sector_ref(n),
                "Write": (0..6).map(|i| (write >> i) & 1).collect::<Vec<_>>(),
                "Read": read,
            })).collect::<Vec<_>>()})
            }
            "StorageTryLock" | "StorageLock" => {
                let n = sector_id(p, 0)?;
                let read: u64 = p.decode(1, "storiface.SectorFileType")?;
                let write: u64 = p.decode(2, "storiface.SectorFileType")?;
                let (readers, written) = locks(st).get(&n).copied().unwrap_or_default();
                let read_locked = (0..6).any(|i| write & (1 << i) != 0 && readers[i] > 0);
                let free = !read_locked && written & (read | write) == 0;
                // Lotus releases the lock when the call's context ends, i.e. when it has answered.
                match (name, free) {
                    ("StorageTryLock", _) => json!(free),
                    (_, true) => Value::Null,
                    _ => {
                        return Err(Failure::method(
                            "acquiring sector lock: context deadline exceeded",
                        ))
                    }
                }
            }
            "StorageAuthVerify" => {
                let token: String = p.decode(0, "string")?;
                let perms = sh
                    .config
                    .secret
                    .verify(&token)
                    .map_err(|e| Failure::method(format!("JWT Verification failed: {e:?}")))?;
                json!(perms.names())
            }
            "WorkerStats" => {
                let jobs = jobs(st);
                let mut m = serde_json::Map::new();
                for (i, w) in worker_ids().iter().enumerate() {
                    let n = jobs.get(w).map_or(0, Vec::len);
                    m.insert(w.clone(), worker_stat(&format!("worker-{}", i + 1), n));
                }
                for (id, url) in &st.storage_sim.connected {
                    let host = url::Url::parse(url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .unwrap_or_default();
                    m.insert(id.clone(), worker_stat(&host, 0));
                }
                Value::Object(m)
            }
            "WorkerConnect" => {
                let url: String = p.decode(0, "string")?;
                let parsed = url::Url::parse(&url).map_err(|e| {
                    Failure::method(format!(
                        "connecting to remote storage worker: parsing url: {e}"
                    ))
                })?;
                if parsed.host_str().is_none() {
                    return Err(Failure::method(
                        "connecting to remote storage worker: no host in url",
                    ));
                }
                let id = uuid_of(0x3077, &url);
                st.storage_sim.connected.insert(id, url);
                Value::Null
            }
            "WorkerJobs" => json!(jobs(st)),
            "SealingSchedDiag" => {
                let _do_sched: bool = p.decode(0, "bool")?;
                let mut windows: Vec<String> = worker_ids();
                windows.extend(st.storage_sim.connected.keys().cloned());
                json!({
                    "SchedInfo": {"Requests": st.storage_sim.requests, "OpenWindows": windows},
                    "ReturnedWork": [],
                    "Waiting": [],
                    "CallToWork": {},
                    "EarlyRet": [],
                })
            }
            "SealingRemoveRequest" => {
                let id: String = p.decode(0, "uuid.UUID")?;
                let before = st.storage_sim.requests.len();
                st.storage_sim
                    .requests
                    .retain(|r| r["SchedId"] != json!(id));
                if st.storage_sim.requests.len() == before {
                    return Err(Failure::method("No request with provided details found"));
                }
                Value::Null
            }
            "SealingAbort" => {
                #[derive(serde::Deserialize)]
                struct CallId {
                    #[serde(rename = "Sector")]
                    _sector: Value,
                    #[serde(rename = "ID")]
                    id: String,
                }
                let call: CallId = p.decode(0, "storiface.CallID")?;
                let live = jobs(st)
                    .values()
                    .flatten()
                    .any(|j| j["ID"]["ID"] == json!(call.id));
                if !live {
                    return Err(Failure::method(format!("call {} not found", call.id)));
                }
                for j in st.jobs.values_mut() {
                    j.retain(|job| job["ID"]["ID"] != json!(call.id));
                }
                st.storage_sim.aborted.insert(call.id);
                Value::Null
            }
            _ => return Ok(None),
        }))
    })();
    answer.transpose()
}
