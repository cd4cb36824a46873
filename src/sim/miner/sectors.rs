//! The simulated miner's answers for sectors, sealing settings, batches, sector numbers and pieces.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::*;
use crate::lotus::miner::BitField;
use crate::lotus::sealing::{SECTOR_STATES, UPGRADE_STATES};

/// The unpadded capacity of a 32 GiB sector.
const SECTOR_CAPACITY: u64 = 34_359_738_368 / 128 * 127;
/// The largest set of numbers a reservation may hold here.
const MAX_RESERVED: usize = 100_000;

/// The miner's actor ID, from its `t0…` address.
fn actor_id(cfg: &MinerSimConfig) -> u64 {
    cfg.actor
        .get(2..)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

fn new_sector(number: u64, state: &str) -> Sector {
    Sector {
        number,
        state: state.to_owned(),
        deals: vec![],
        log: vec![
            json!({"Kind": format!("event;sealing.{state}"), "Timestamp": 1_700_200_000u64 + number, "Trace": "", "Message": ""}),
        ],
        to_upgrade: false,
        filled: 0,
    }
}

/// The reservations a miner has from an earlier run.
fn load_reservations(st: &mut State) {
    if !st.reservations_loaded {
        st.reservations
            .insert("snap-batch".to_owned(), (200..205).collect());
        st.reservations_loaded = true;
    }
}

fn reserved(st: &State) -> BTreeSet<u64> {
    st.reservations.values().flatten().copied().collect()
}

/// Every number in use: allocated to a sector or reserved.
fn in_use(st: &State) -> BTreeSet<u64> {
    let mut used = reserved(st);
    used.extend(st.sectors.keys().copied());
    used
}

/// The lowest number not in use.
fn next_number(st: &State) -> u64 {
    let used = in_use(st);
    (0..).find(|n| !used.contains(n)).expect("a free number")
}

fn bits(numbers: impl IntoIterator<Item = u64>) -> Value {
    let v: Vec<u64> = numbers.into_iter().collect();
    json!(BitField::from_numbers(&v))
}

fn reservation_name(name: &str) -> Result<(), Failure> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Failure::method(
            "reservation name contained disallowed characters (allowed: a-z, A-Z, 0-9, '-', '_')",
        ))
    }
}

fn reserve(st: &mut State, name: String, numbers: Vec<u64>, force: bool) -> Result<(), Failure> {
    reservation_name(&name)?;
    if st.reservations.contains_key(&name) && !force {
        return Err(Failure::method("reservation with this name already exists"));
    }
    let others: BTreeSet<u64> = st
        .reservations
        .iter()
        .filter(|(k, _)| **k != name)
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    if !force && numbers.iter().any(|n| others.contains(n)) {
        return Err(Failure::method(
            "new reservation is colliding with another existing reservation",
        ));
    }
    if !force && numbers.iter().any(|n| st.sectors.contains_key(n)) {
        return Err(Failure::method(
            "new reservation is colliding with allocated sector numbers",
        ));
    }
    st.reservations.insert(name, numbers);
    Ok(())
}

/// Sends the sectors in `from` on to `to`, as one batch message.
fn flush(st: &mut State, from: &str, to: &str, failed: bool) -> Result<Value, Failure> {
    let nums: Vec<u64> = st
        .sectors
        .values()
        .filter(|s| s.state == from)
        .map(|s| s.number)
        .collect();
    if nums.is_empty() {
        return Ok(Value::Null);
    }
    for n in &nums {
        st.set_state(*n, to)?;
    }
    let mut res = json!({"Sectors": nums, "Msg": st.msg(), "Error": ""});
    if failed {
        res["FailedSectors"] = json!({});
    }
    Ok(json!([res]))
}

fn pending(st: &State, state: &str) -> Value {
    json!(st
        .sectors
        .values()
        .filter(|s| s.state == state)
        .map(|s| sector_ref(s.number))
        .collect::<Vec<_>>())
}

/// The answer to `name`, or `None` when it is not one of this group's methods.
pub(super) fn call(
    sh: &Shared,
    st: &mut State,
    name: &str,
    p: &Params,
) -> Option<Result<Value, Failure>> {
    let cfg = &sh.config;
    let n0 = |p: &Params| -> Result<u64, Failure> { p.decode::<u64>(0, "abi.SectorNumber") };
    let answer = (|| -> Result<Option<Value>, Failure> {
        Ok(Some(match name {
            "SectorsStatus" => {
                let n = n0(p)?;
                sector_status(cfg, st.sector(n)?)
            }
            "SectorsList" => json!(st.sectors.keys().collect::<Vec<_>>()),
            "SectorsListInStates" => {
                let states: Vec<String> = p.decode(0, "[]api.SectorState")?;
                json!(st
                    .sectors
                    .values()
                    .filter(|s| states.contains(&s.state))
                    .map(|s| s.number)
                    .collect::<Vec<_>>())
            }
            "SectorsSummary" => {
                let mut m: BTreeMap<String, u64> = BTreeMap::new();
                for s in st.sectors.values() {
                    *m.entry(s.state.clone()).or_default() += 1;
                }
                json!(m)
            }
            "SectorsRefs" => {
                let mut m = serde_json::Map::new();
                for s in st.sectors.values() {
                    for d in &s.deals {
                        m.insert(
                            d.to_string(),
                            json!([{"SectorID": s.number, "Offset": 0, "Size": 34359738368u64}]),
                        );
                    }
                }
                Value::Object(m)
            }
            "PledgeSector" => {
                load_reservations(st);
                let n = next_number(st);
                st.sectors.insert(n, new_sector(n, "Packing"));
                st.rebuild_jobs();
                sector_ref(n)
            }
            "SectorRemove" => {
                let n = n0(p)?;
                st.set_state(n, "Removed")?;
                Value::Null
            }
            "SectorTerminate" => {
                let n = n0(p)?;
                st.set_state(n, "Terminating")?;
                Value::Null
            }
            "SectorsUpdate" => {
                let n = n0(p)?;
                let s: String = p.decode(1, "api.SectorState")?;
                if !SECTOR_STATES.contains(&s.as_str()) {
                    return Err(Failure::method(format!("sector {n}: unknown state {s:?}")));
                }
                st.set_state(n, &s)?;
                Value::Null
            }
            "SectorMarkForUpgrade" => {
                let n = n0(p)?;
                let snap: bool = p.decode(1, "bool")?;
                if !snap {
                    return Err(Failure::method("non-snap upgrades are not supported"));
                }
                let s = st.sector(n)?;
                if s.state != "Proving" && s.state != "Available" {
                    return Err(Failure::method(format!(
                        "can't mark sectors not in the 'Proving' or 'Available' state for upgrade (sector {n} is {})",
                        s.state
                    )));
                }
                st.set_state(n, "SnapDealsWaitDeals")?;
                st.sectors.get_mut(&n).unwrap().to_upgrade = true;
                Value::Null
            }
            "SectorAbortUpgrade" => {
                let n = n0(p)?;
                let s = st.sector(n)?;
                if !UPGRADE_STATES.contains(&s.state.as_str()) {
                    return Err(Failure::method(format!(
                        "sector {n} is not being upgraded (state {})",
                        s.state
                    )));
                }
                st.set_state(n, "Proving")?;
                st.sectors.get_mut(&n).unwrap().to_upgrade = false;
                Value::Null
            }
            "SectorStartSealing" => {
                let n = n0(p)?;
                let s = st.sector(n)?;
                // Lotus ignores the event in any other state.
                if s.state == "WaitDeals" || s.state == "Empty" {
                    st.set_state(n, "PreCommit1")?;
                }
                Value::Null
            }
            "SectorUnseal" => {
                let n = n0(p)?;
                st.sector(n)?;
                Value::Null
            }
            "SectorsUnsealPiece" => {
                #[derive(Deserialize)]
                struct Id {
                    #[serde(rename = "Miner")]
                    miner: u64,
                    #[serde(rename = "Number")]
                    number: u64,
                }
                #[derive(Deserialize)]
                struct Ref {
                    #[serde(rename = "ID")]
                    id: Id,
                }
                let r: Ref = p.decode(0, "storiface.SectorRef")?;
                let _offset: u64 = p.decode(1, "storiface.UnpaddedByteIndex")?;
                let _size: u64 = p.decode(2, "abi.UnpaddedPieceSize")?;
                if r.id.miner != actor_id(cfg) {
                    return Err(Failure::method(format!(
                        "sector of miner {} is not this miner's",
                        r.id.miner
                    )));
                }
                st.sector(r.id.number)?;
                Value::Null
            }
            "RecoverFault" => {
                let nums: Vec<u64> = p.decode(0, "[]abi.SectorNumber")?;
                for n in &nums {
                    let s = st
                        .sectors
                        .get(n)
                        .ok_or_else(|| Failure::method(format!("sector {n} not found")))?;
                    if !matches!(s.state.as_str(), "Faulty" | "FaultReported" | "Proving") {
                        return Err(Failure::method(format!(
                            "sector {n} is in state {}, which cannot be recovered",
                            s.state
                        )));
                    }
                }
                for n in &nums {
                    if st.sectors[n].state != "Proving" {
                        st.set_state(*n, "Proving")?;
                    }
                }
                json!([st.msg()])
            }
            "SectorReceive" => {
                let meta: Value = p.decode(0, "api.RemoteSectorMeta")?;
                let state = meta["State"].as_str().unwrap_or_default().to_owned();
                if !SECTOR_STATES.contains(&state.as_str()) {
                    return Err(Failure::method(format!("unknown state {state:?}")));
                }
                let miner = meta["Sector"]["Miner"].as_u64();
                let n = meta["Sector"]["Number"]
                    .as_u64()
                    .ok_or_else(|| Failure::method("sector number missing"))?;
                if miner != Some(actor_id(cfg)) {
                    return Err(Failure::method("sector for wrong actor"));
                }
                if st.sectors.contains_key(&n) {
                    return Err(Failure::method(format!(
                        "sector with ID {n} already exists in the sealing pipeline"
                    )));
                }
                let mut s = new_sector(n, &state);
                s.deals = meta["Pieces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["DealInfo"]["DealID"].as_u64())
                    .filter(|d| *d > 0)
                    .collect();
                st.sectors.insert(n, s);
                st.rebuild_jobs();
                Value::Null
            }
            "SectorSetSealDelay" => {
                st.seal_delay = p.decode(0, "time.Duration")?;
                Value::Null
            }
            "SectorGetSealDelay" => json!(st.seal_delay),
            "SectorSetExpectedSealDuration" => {
                st.expected_seal = p.decode(0, "time.Duration")?;
                Value::Null
            }
            "SectorGetExpectedSealDuration" => json!(st.expected_seal),
            "SectorPreCommitPending" => pending(st, "SubmitPreCommitBatch"),
            "SectorCommitPending" => pending(st, "SubmitCommitAggregate"),
            "SectorTerminatePending" => pending(st, "Terminating"),
            "SectorPreCommitFlush" => {
                flush(st, "SubmitPreCommitBatch", "PreCommitBatchWait", false)?
            }
            "SectorCommitFlush" => flush(st, "SubmitCommitAggregate", "CommitAggregateWait", true)?,
            "SectorTerminateFlush" => {
                let nums: Vec<u64> = st
                    .sectors
                    .values()
                    .filter(|s| s.state == "Terminating")
                    .map(|s| s.number)
                    .collect();
                if nums.is_empty() {
                    Value::Null
                } else {
                    for n in nums {
                        st.set_state(n, "TerminateWait")?;
                    }
                    st.msg()
                }
            }
            "SectorNumAssignerMeta" => {
                load_reservations(st);
                json!({
                    "Reserved": bits(reserved(st)),
                    "Allocated": bits(st.sectors.keys().copied()),
                    "InUse": bits(in_use(st)),
                    "Next": next_number(st),
                })
            }
            "SectorNumReservations" => {
                load_reservations(st);
                json!(st
                    .reservations
                    .iter()
                    .map(|(k, v)| (k.clone(), bits(v.iter().copied())))
                    .collect::<serde_json::Map<_, _>>())
            }
            "SectorNumReserve" => {
                load_reservations(st);
                let name: String = p.decode(0, "string")?;
                let runs: Vec<u64> = p.decode(1, "bitfield.BitField")?;
                let force: bool = p.decode(2, "bool")?;
                if runs.iter().skip(1).step_by(2).sum::<u64>() > MAX_RESERVED as u64 {
                    return Err(Failure::method("reservation too large"));
                }
                let numbers = BitField(runs).numbers();
                reserve(st, name, numbers, force)?;
                Value::Null
            }
            "SectorNumReserveCount" => {
                load_reservations(st);
                let name: String = p.decode(0, "string")?;
                let count: u64 = p.decode(1, "uint64")?;
                if count as usize > MAX_RESERVED {
                    return Err(Failure::method("reservation too large"));
                }
                let used = in_use(st);
                let free: Vec<u64> = (0..)
                    .filter(|n| !used.contains(n))
                    .take(count as usize)
                    .collect();
                reserve(st, name, free.clone(), false)?;
                bits(free)
            }
            "SectorNumFree" => {
                load_reservations(st);
                let name: String = p.decode(0, "string")?;
                reservation_name(&name)?;
                if st.reservations.remove(&name).is_none() {
                    return Err(Failure::method("reservation with this name doesn't exist"));
                }
                Value::Null
            }
            "SectorAddPieceToAny" => {
                let size: u64 = p.decode(0, "abi.UnpaddedPieceSize")?;
                let data: Value = p.decode(1, "storiface.Data")?;
                let deal: Value = p.decode(2, "piece.PieceDealInfo")?;
                if !(size >= 127 && size.is_multiple_of(127) && (size / 127).is_power_of_two()) {
                    return Err(Failure::method(format!(
                        "piece size {size} is not a valid unpadded piece size"
                    )));
                }
                match data["Type"].as_str() {
                    Some("null") | Some("http") => {}
                    _ => return Err(Failure::method("unmarshaling reader id: unknown reader")),
                }
                load_reservations(st);
                let open = st
                    .sectors
                    .values()
                    .find(|s| s.state == "WaitDeals" && s.filled + size <= SECTOR_CAPACITY)
                    .map(|s| s.number);
                let n = match open {
                    Some(n) => n,
                    None => {
                        let n = next_number(st);
                        st.sectors.insert(n, new_sector(n, "WaitDeals"));
                        n
                    }
                };
                let s = st.sectors.get_mut(&n).unwrap();
                let offset = s.filled;
                s.filled += size;
                if let Some(d) = deal["DealID"].as_u64().filter(|d| *d > 0) {
                    s.deals.push(d);
                }
                json!({"Sector": n, "Offset": offset})
            }
            "SectorMatchPendingPiecesToOpenSectors" => Value::Null,
            _ => return Ok(None),
        }))
    })();
    answer.transpose()
}
