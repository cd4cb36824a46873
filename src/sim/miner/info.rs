//! The simulated miner's answers for the miner itself: version, session, auth, logs, actor, withdrawals, mining base, deals and proofs.

use super::*;

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
        "Discover" => json!({"openrpc": "1.2.6", "info": {"title": "Lotus RPC API", "version": "1.2.1/generated=2020-11-22T08:22:42-06:00"}, "methods": []}),
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
                    other => return Err(Failure::method(format!("unknown permission: {other}"))),
                };
                set.insert(perm);
            }
            let token = cfg.secret.mint(set);
            json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, token))
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
            st.log_levels.insert(sys, lvl.to_uppercase());
            Value::Null
        }
        "LogAlerts" => json!([]),
        "RuntimeSubsystems" => json!(["Mining", "Sealing", "SectorStorage", "Markets"]),
        "CreateBackup" => Value::Null,
        "ActorAddress" => json!(cfg.actor),
        "ActorSectorSize" => json!(34359738368u64),
        "ActorAddressConfig" => json!({
            "PreCommitControl": ["t3precommitcontrol0000000000000000000000000000000000000000000000000000000000000001"],
            "CommitControl": ["t3commitcontrol000000000000000000000000000000000000000000000000000000000000000002"],
            "TerminateControl": [],
            "DealPublishControl": [],
            "DisableOwnerFallback": false,
            "DisableWorkerFallback": false,
        }),
        "ActorWithdrawBalance" | "BeneficiaryWithdrawBalance" => {
            let amount: String = p.decode(0, "abi.TokenAmount")?;
            let c = st.msg();
            st.withdrawals.push(json!({"Method": name, "Amount": amount, "Message": c}));
            c
        }
        "MiningBase" => match &cfg.node {
            Some(node) => serde_json::to_value(node.head()).unwrap_or(Value::Null),
            None => json!({"Cids": [cid_of("block", 1)], "Blocks": [], "Height": 1000}),
        },
        "CheckProvable" => json!({}),
        "ComputeProof" => json!([]),
        "ComputeWindowPoSt" => json!([]),
        "ComputeDataCid" => json!({"Size": 1024, "PieceCID": cid_of("piece", 0)}),
        "MarketListDeals" => json!(st.sectors.values().flat_map(|s| s.deals.clone()).take(5).map(|d| json!({"Proposal": {"PieceCID": cid_of("piece", d), "PieceSize": 34359738368u64, "VerifiedDeal": false, "Client": "t01001", "Provider": cfg.actor, "Label": "", "StartEpoch": 100, "EndEpoch": 1_000_000, "StoragePricePerEpoch": "0", "ProviderCollateral": "0", "ClientCollateral": "0"}, "State": {"SectorStartEpoch": 100, "LastUpdatedEpoch": -1, "SlashEpoch": -1}})).collect::<Vec<_>>()),
            _ => return Ok(None),
        }))
    })();
    answer.transpose()
}
