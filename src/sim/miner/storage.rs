//! The simulated miner's answers for storage paths, sector locations and locks, workers, jobs and the sealing scheduler.

use super::*;

/// The answer to `name`, or `None` when it is not one of this group's methods.
pub(super) fn call(
    sh: &Shared,
    st: &mut State,
    name: &str,
    p: &Params,
) -> Option<Result<Value, Failure>> {
    let _ = sh;
    let answer = (|| -> Result<Option<Value>, Failure> {
        Ok(Some(match name {
        "StorageList" => {
            let ids: Vec<String> = st.paths.keys().cloned().collect();
            let mut m = serde_json::Map::new();
            for (i, id) in ids.iter().enumerate() {
                let decls: Vec<Value> = st.sectors.values().filter(|s| s.number as usize % ids.len() == i).map(|s| json!({"Miner": 1000, "Number": s.number, "SectorFileType": 2})).collect();
                m.insert(id.clone(), json!(decls));
            }
            Value::Object(m)
        }
        "StorageLocal" => json!(st.paths.keys().map(|k| (k.clone(), json!(format!("/var/lib/lotus-miner/{k}")))).collect::<serde_json::Map<_, _>>()),
        "StorageInfo" | "StorageStat" => {
            let id: String = p.decode(0, "storiface.ID")?;
            let idx = st.paths.keys().position(|k| *k == id).ok_or_else(|| Failure::method(format!("storage path {id} not found")))?;
            if name == "StorageStat" {
                fs_stat(idx as u64)
            } else {
                st.paths[&id].clone()
            }
        }
        "StorageFindSector" | "StorageBestAlloc" => json!(st.paths.values().take(1).collect::<Vec<_>>()),
        "StorageAttach" => {
            let info: Value = p.decode(0, "storiface.LocalStorageMeta")?;
            if let Some(id) = info.get("ID").and_then(Value::as_str) {
                st.paths.insert(id.to_owned(), info.clone());
            }
            Value::Null
        }
        "StorageAddLocal" => {
            let path: String = p.decode(0, "string")?;
            let id = format!("{:08x}-3333-4000-8000-000000000000", st.paths.len() + 1);
            let mut info = path_info(&id, false, true, st.paths.len());
            info["URLs"] = json!([path]);
            st.paths.insert(id, info);
            Value::Null
        }
        "StorageDetach" | "StorageDetachLocal" => {
            let id: String = p.decode(0, "string")?;
            st.paths.remove(&id);
            Value::Null
        }
        "StorageReportHealth" => {
            let id: String = p.decode(0, "storiface.ID")?;
            let h: Value = p.decode(1, "storiface.HealthReport")?;
            st.health.insert(id, h);
            Value::Null
        }
        "StorageLocks" => json!({"Locks": []}),
        "StorageTryLock" => json!(true),
        "StorageAuthVerify" => json!([]),
        "WorkerStats" => json!(worker_ids().iter().enumerate().map(|(i, w)| (w.clone(), json!({
            "Info": {"Hostname": format!("worker-{}", i + 1), "IgnoreResources": false, "Resources": {"MemPhysical": 274877906944u64, "MemUsed": 2147483648u64, "MemSwap": 0, "MemSwapUsed": 0, "CPUs": 64, "GPUs": ["NVIDIA RTX 3090"], "Resources": {}}},
            "Tasks": ["seal/v0/precommit/1", "seal/v0/precommit/2", "seal/v0/commit/2"],
            "Enabled": true,
            "MemUsedMin": 0, "MemUsedMax": 0, "GpuUsed": 0.0, "CpuUse": st.jobs.get(w).map_or(0, |j| j.len()),
        }))).collect::<serde_json::Map<_, _>>()),
        "WorkerJobs" => json!(st.jobs),
        "SealingSchedDiag" => json!({"SchedInfo": {"Requests": [], "OpenWindows": []}, "ReturnedWork": [], "Waiting": []}),
        "SealingAbort" => {
            let call: Value = p.decode(0, "storiface.CallID")?;
            let mut found = false;
            for j in st.jobs.values_mut() {
                let before = j.len();
                j.retain(|job| job["ID"] != call);
                found |= j.len() != before;
            }
            if !found {
                return Err(Failure::method("call not found"));
            }
            Value::Null
        }
            _ => return Ok(None),
        }))
    })();
    answer.transpose()
}
