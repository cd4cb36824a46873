//! The simulated miner's answers for sectors, sealing settings, batches, sector numbers and pieces.

use super::*;

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
                let n = st.sectors.keys().next_back().map_or(0, |n| n + 1);
                st.sectors.insert(
                    n,
                    Sector {
                        number: n,
                        state: "Packing".into(),
                        deals: vec![],
                        log: vec![],
                        to_upgrade: false,
                    },
                );
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
                st.set_state(n, &s)?;
                Value::Null
            }
            "SectorMarkForUpgrade" | "SectorAbortUpgrade" => {
                let n = n0(p)?;
                let up = name == "SectorMarkForUpgrade";
                st.sector(n)?;
                st.sectors.get_mut(&n).unwrap().to_upgrade = up;
                Value::Null
            }
            "SectorStartSealing" | "RecoverFault" | "SectorUnseal" | "SectorsUnsealPiece"
            | "SectorReceive" => {
                if name == "SectorStartSealing" {
                    let n = n0(p)?;
                    st.set_state(n, "PreCommit1")?;
                }
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
            "SectorPreCommitPending" | "SectorCommitPending" => json!([]),
            "SectorTerminatePending" => json!(st
                .sectors
                .values()
                .filter(|s| s.state == "Terminating")
                .map(|s| sector_ref(s.number))
                .collect::<Vec<_>>()),
            "SectorPreCommitFlush" | "SectorCommitFlush" => json!([]),
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
                json!({"Reserved": [0], "Allocated": [0], "InUse": [0], "Next": st.sectors.len()})
            }
            "SectorNumReservations" => json!(st
                .reservations
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>()),
            "SectorNumReserve" => {
                let n: String = p.decode(0, "string")?;
                st.reservations.insert(n, vec![]);
                Value::Null
            }
            "SectorNumReserveCount" => {
                let n: String = p.decode(0, "string")?;
                let c: u64 = p.decode(1, "uint64")?;
                st.reservations.insert(n, vec![c]);
                json!([c])
            }
            "SectorNumFree" => {
                let n: String = p.decode(0, "string")?;
                st.reservations.remove(&n);
                Value::Null
            }
            "SectorAddPieceToAny" => json!({"Sector": 0, "Offset": 0}),
            "SectorMatchPendingPiecesToOpenSectors" => Value::Null,
            _ => return Ok(None),
        }))
    })();
    answer.transpose()
}
