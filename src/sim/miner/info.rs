//! The simulated miner's answers for the miner itself: version, session, auth, logs, actor, withdrawals, mining base, deals and proofs.

use base64::Engine;
use serde::Deserialize;

use super::*;
use crate::lotus::address::cid_from_digest;
use crate::lotus::amount::{Amount, ATTO_PER_FIL};

/// The balance of the miner actor available for withdrawal before any withdrawal.
const AVAILABLE_ATTO: u128 = 1000 * ATTO_PER_FIL;

/// The directory the simulated miner takes backups in, as if started with `LOTUS_BACKUP_BASE_PATH` set to it.
pub(super) const BACKUP_BASE_PATH: &str = "/var/backups/lotus-miner";

/// The levels go-log knows.
const LOG_LEVELS: [&str; 7] = ["debug", "info", "warn", "error", "dpanic", "panic", "fatal"];

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    for part in parts {
        state.update(part.as_bytes());
        state.update(&[0]);
    }
    state.finalize().as_bytes().try_into().expect("32 bytes")
}

/// A piece CID (fil-commitment-unsealed, sha2-256-trunc254-padded) made of `parts`.
fn piece_cid(parts: &[&str]) -> Value {
    let mut d = digest(parts);
    d[31] &= 0x3f;
    let mh = cid::multihash::Multihash::<64>::wrap(0x1012, &d).expect("32 bytes fit");
    json!({"/": cid::Cid::new_v1(0xf101, mh).to_string()})
}

fn bytes_b64(parts: &[&str], len: usize) -> String {
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        let mut p: Vec<&str> = parts.to_vec();
        let n = i.to_string();
        p.push(&n);
        out.extend_from_slice(&digest(&p));
        i += 1;
    }
    out.truncate(len);
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// What is left to withdraw from the miner actor.
fn available(st: &State) -> u128 {
    let withdrawn: u128 = st
        .withdrawals
        .iter()
        .filter_map(|w| w["Amount"].as_str()?.parse::<u128>().ok())
        .sum();
    AVAILABLE_ATTO.saturating_sub(withdrawn)
}

/// Sends a withdrawal: from the first account of the node when there is one, so the node knows the message.
fn withdraw(sh: &Shared, st: &mut State, name: &str, p: &Params) -> Result<Value, Failure> {
    let text: String = p.decode(0, "abi.TokenAmount")?;
    let asked: u128 = text
        .parse()
        .map_err(|e| p.bad("abi.TokenAmount", format!("failed to parse bigint: {e}")))?;
    let available = available(st);
    let amount = if asked == 0 { available } else { asked };
    if amount > available {
        return Err(Failure::method(format!(
            "can't withdraw more funds than available; requested: {}; available: {}",
            Amount(amount).to_fil_string(),
            Amount(available).to_fil_string()
        )));
    }
    let cid = match &sh.config.node {
        Some(node) => {
            let from = node
                .accounts()
                .into_iter()
                .find(|a| a.kind == crate::sim::SimActorKind::SecpAccount)
                .ok_or_else(|| Failure::method("no owner account to send from"))?;
            let signed = node
                .push_message(&from.robust, &sh.config.actor, 0)
                .map_err(Failure::method)?;
            json!(signed.cid)
        }
        None => {
            json!({"/": cid_from_digest(&digest(&["withdrawal", name, &st.withdrawals.len().to_string()]))})
        }
    };
    st.withdrawals
        .push(json!({"Method": name, "Amount": amount.to_string(), "Message": cid}));
    Ok(cid)
}

/// Go's `filepath.Abs` of a path given to the miner: relative to its repository, `~` its home, cleaned.
fn absolute(path: &str) -> String {
    let joined = if let Some(rest) = path.strip_prefix("~/") {
        format!("/root/{rest}")
    } else if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/root/.lotusminer/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A reader parameter (`rpcenc.ReaderStream`).
#[derive(Deserialize)]
struct ReaderStream {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Info")]
    info: String,
}

/// `abi.UnpaddedPieceSize.Validate`.
fn validate_unpadded(size: u64) -> Result<(), Failure> {
    if size < 127 {
        return Err(Failure::method("minimum piece size is 127 bytes"));
    }
    if size >> size.trailing_zeros() != 127 {
        return Err(Failure::method(
            "unpadded piece size must be a power of 2 multiple of 127",
        ));
    }
    Ok(())
}

/// The run lengths of a bitfield with these bits set, as Lotus writes a bitfield in JSON.
fn rle(bits: &[u64]) -> Value {
    let mut runs = Vec::new();
    let mut pos = 0u64;
    let mut i = 0;
    while i < bits.len() {
        runs.push(bits[i] - pos);
        let mut len = 1;
        while i + len < bits.len() && bits[i + len] == bits[i] + len as u64 {
            len += 1;
        }
        runs.push(len as u64);
        pos = bits[i] + len as u64;
        i += len;
    }
    json!(runs)
}

fn head_height(cfg: &MinerSimConfig) -> i64 {
    cfg.node.as_ref().map_or(1000, |n| n.head().height)
}

/// The answer to `name`, or `None` when it is not one of this group's methods.
pub(super) fn call(
    sh: &Shared,
    st: &mut State,
    name: &str,
    p: &Params,
) -> Option<Result<Value, Failure>> {
    let cfg = &sh.config;
    let answer = (|| -> Result<Option<Value>, Failure> {
        Ok(Some(match name {
            "Version" => json!({"Version": "1.32.0+sim", "APIVersion": 0x10a00, "BlockDelay": 30}),
            "Session" => json!(sh.session),
            "StartTime" => json!(sh.start_time),
            "Discover" => {
                json!({"openrpc": "1.2.6", "info": {"title": "Lotus RPC API", "version": "1.2.1/generated=2020-11-22T08:22:42-06:00"}, "methods": []})
            }
            "Shutdown" | "Closing" => Value::Null,
            "AuthNew" => {
                let perms: Vec<String> = p.decode(0, "[]auth.Permission")?;
                let mut set = PermSet::default();
                for name in perms {
                    let perm = match name.as_str() {
                        "read" => Perm::Read,
                        "write" => Perm::Write,
                        "sign" => Perm::Sign,
                        "admin" => Perm::Admin,
                        other => {
                            return Err(Failure::method(format!("unknown permission: {other}")))
                        }
                    };
                    set.insert(perm);
                }
                let token = cfg.secret.mint(set);
                json!(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    token
                ))
            }
            "AuthVerify" => {
                let token: String = p.decode(0, "string")?;
                let perms = cfg
                    .secret
                    .verify(&token)
                    .map_err(|e| Failure::method(format!("JWT Verification failed: {e:?}")))?;
                json!(perms.names())
            }
            "LogList" => json!(st.log_levels.keys().collect::<Vec<_>>()),
            "LogSetLevel" => {
                let sys: String = p.decode(0, "string")?;
                let lvl: String = p.decode(1, "string")?;
                let level = lvl.to_ascii_lowercase();
                if !LOG_LEVELS.contains(&level.as_str()) {
                    return Err(Failure::method(format!("unrecognized level: \"{lvl}\"")));
                }
                if sys == "*" {
                    for v in st.log_levels.values_mut() {
                        *v = level.to_uppercase();
                    }
                } else {
                    let v = st
                        .log_levels
                        .get_mut(&sys)
                        .ok_or_else(|| Failure::method("error: No such logger"))?;
                    *v = level.to_uppercase();
                }
                Value::Null
            }
            "LogAlerts" => json!([]),
            "RuntimeSubsystems" => json!(["Mining", "Sealing", "SectorStorage", "Markets"]),
            "CreateBackup" => {
                let path: String = p.decode(0, "string")?;
                let abs = absolute(&path);
                if !abs.starts_with(BACKUP_BASE_PATH) {
                    return Err(Failure::method(format!(
                        "backup file name ({abs}) must be inside base path ({BACKUP_BASE_PATH})"
                    )));
                }
                Value::Null
            }
            "ActorAddress" => json!(cfg.actor),
            "ActorSectorSize" => {
                p.address(0)?;
                json!(34359738368u64)
            }
            "ActorAddressConfig" => json!({
                "PreCommitControl": ["t3precommitcontrol0000000000000000000000000000000000000000000000000000000000000001"],
                "CommitControl": ["t3commitcontrol000000000000000000000000000000000000000000000000000000000000000002"],
                "TerminateControl": [],
                "DealPublishControl": [],
                "DisableOwnerFallback": false,
                "DisableWorkerFallback": false,
            }),
            "ActorWithdrawBalance" | "BeneficiaryWithdrawBalance" => withdraw(sh, st, name, p)?,
            "MiningBase" => match &cfg.node {
                Some(node) => serde_json::to_value(node.head()).unwrap_or(Value::Null),
                None => json!({"Cids": [cid_of("block", 1)], "Blocks": [], "Height": 1000}),
            },
            "CheckProvable" => {
                let _proof: u64 = p.decode(0, "abi.RegisteredPoStProof")?;
                let refs: Vec<Value> = p.decode(1, "[]storiface.SectorRef")?;
                let mut bad = serde_json::Map::new();
                for r in refs {
                    let miner = r["ID"]["Miner"].as_u64();
                    let Some(number) = r["ID"]["Number"].as_u64() else {
                        return Err(p.bad("[]storiface.SectorRef", "sector number is not a number"));
                    };
                    let actor_id = cfg.actor.get(2..).and_then(|s| s.parse::<u64>().ok());
                    let reason = match st.sectors.get(&number) {
                        _ if miner != actor_id => Some("sector not found in any storage"),
                        None => Some("sector not found in any storage"),
                        Some(s) if s.state == "Removed" => Some("sector not found in any storage"),
                        Some(s) if s.state == "Faulty" => Some("reading sector: faulty sector"),
                        Some(_) => None,
                    };
                    if let Some(reason) = reason {
                        bad.insert(number.to_string(), json!(reason));
                    }
                }
                Value::Object(bad)
            }
            "ComputeProof" => {
                let sectors: Vec<Value> = p.decode(0, "[]builtinactors.ExtendedSectorInfo")?;
                let rand: String = p.decode(1, "abi.PoStRandomness")?;
                let epoch: i64 = p.decode(2, "abi.ChainEpoch")?;
                let seal = sectors
                    .first()
                    .and_then(|s| s["SealProof"].as_u64())
                    .unwrap_or(8);
                let mut numbers = Vec::new();
                for s in &sectors {
                    let n = s["SectorNumber"].as_u64().unwrap_or(u64::MAX);
                    match st.sectors.get(&n) {
                        Some(sector) if sector.state != "Removed" => numbers.push(n.to_string()),
                        _ => return Err(Failure::method(format!("sector {n}: not found"))),
                    }
                }
                let mut parts = vec!["winning", rand.as_str()];
                let e = epoch.to_string();
                parts.push(&e);
                parts.extend(numbers.iter().map(String::as_str));
                json!([{"PoStProof": seal % 5, "ProofBytes": bytes_b64(&parts, 192)}])
            }
            "ComputeWindowPoSt" => {
                let dl: u64 = p.decode(0, "uint64")?;
                p.tsk(1)?;
                if dl >= 48 {
                    return Err(Failure::method(format!("invalid deadline {dl}")));
                }
                let sectors: Vec<&Sector> = st
                    .sectors
                    .values()
                    .filter(|s| s.number % 48 == dl && s.state != "Removed")
                    .collect();
                if sectors.is_empty() {
                    json!([])
                } else {
                    let skipped: Vec<u64> = sectors
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.state == "Faulty")
                        .map(|(i, _)| i as u64)
                        .collect();
                    let height = head_height(cfg);
                    let tag = format!("{dl}/{height}");
                    json!([{
                        "Deadline": dl,
                        "Partitions": [{"Index": 0, "Skipped": rle(&skipped)}],
                        "Proofs": [{"PoStProof": 13, "ProofBytes": bytes_b64(&["window", &tag], 192)}],
                        "ChainCommitEpoch": height,
                        "ChainCommitRand": bytes_b64(&["commit rand", &tag], 32),
                    }])
                }
            }
            "ComputeDataCid" => {
                let size: u64 = p.decode(0, "abi.UnpaddedPieceSize")?;
                let reader: ReaderStream = serde_json::from_value(p.values[1].clone())
                    .map_err(|e| Failure::method(format!("unmarshaling reader id: {e}")))?;
                validate_unpadded(size)?;
                let piece = match reader.kind.as_str() {
                    "null" => {
                        let n: u64 = reader.info.parse().map_err(|e| {
                            Failure::method(format!("parsing null byte count: {e}"))
                        })?;
                        if n != size {
                            return Err(Failure::method(format!(
                                "reader has {n} bytes, piece size is {size}"
                            )));
                        }
                        piece_cid(&["zeros", &size.to_string()])
                    }
                    "http" => piece_cid(&["http", &reader.info, &size.to_string()]),
                    _ => return Err(Failure::method("handler timed out")),
                };
                json!({"Size": size + size / 127, "PieceCID": piece})
            }
            "MarketListDeals" => {
                let deals: Vec<Value> = st
                .sectors
                .values()
                .flat_map(|s| s.deals.iter().map(move |d| (s.number, *d)))
                .map(|(n, d)| {
                    json!({
                        "Proposal": {
                            "PieceCID": piece_cid(&["deal", &d.to_string()]),
                            "PieceSize": 34359738368u64,
                            "VerifiedDeal": d % 2 == 0,
                            "Client": format!("t0{}", 1001 + d % 7),
                            "Provider": cfg.actor,
                            "Label": format!("deal {d}"),
                            "StartEpoch": 100 + (n % 1_000_000_000) as i64,
                            "EndEpoch": 1_000_000 + (n % 1_000_000_000) as i64,
                            "StoragePricePerEpoch": "0",
                            "ProviderCollateral": "0",
                            "ClientCollateral": "0",
                        },
                        "State": {"SectorNumber": n, "SectorStartEpoch": 100 + (n % 1_000_000_000) as i64, "LastUpdatedEpoch": -1, "SlashEpoch": -1},
                    })
                })
                .collect();
                json!(deals)
            }
            _ => return Ok(None),
        }))
    })();
    answer.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_are_run_lengths() {
        assert_eq!(rle(&[]), json!([]));
        assert_eq!(rle(&[5]), json!([5, 1]));
        assert_eq!(rle(&[0, 1, 2, 7]), json!([0, 3, 4, 1]));
    }

    #[test]
    fn backup_paths_are_made_absolute() {
        assert_eq!(
            absolute("/var/backups/lotus-miner/a.cbor"),
            "/var/backups/lotus-miner/a.cbor"
        );
        assert_eq!(absolute("/var/backups/lotus-miner/../x"), "/var/backups/x");
        assert_eq!(absolute("b.cbor"), "/root/.lotusminer/b.cbor");
    }

    #[test]
    fn piece_cids_are_cids() {
        let c = piece_cid(&["deal", "1"]);
        let text = c["/"].as_str().unwrap();
        assert!(text.starts_with("baga6ea4seaq"), "{text}");
        crate::lotus::address::parse_cid(text).unwrap();
    }
}
