//! The miners and verified registry resources against the simulated node.

use std::collections::BTreeSet;

use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

const CID: &str = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c";

fn precommit(seal_proof: i64) -> String {
    format!("seal_proof={seal_proof}&sector_number=302&sealed_cid={CID}&seal_rand_epoch=100&expiration=1555400")
}

fn new_block(h: &Harness) -> Value {
    let head = h.sim.head();
    json!({
        "Parents": head.cids,
        "Ticket": {"VRFProof": "kmm2Vw=="},
        "Eproof": {"WinCount": 1, "VRFProof": "kmm2Vw=="},
        "BeaconValues": [{"Round": 1000000 + head.height + 1, "Data": "kmm2Vw=="}],
        "Messages": [],
        "Epoch": head.height + 1,
        "Timestamp": 1744204890,
        "WinningPoStProof": [{"PoStProof": 3, "ProofBytes": "kmm2Vw=="}]
    })
}

/// The sample request of each miners and verified registry operation.
pub fn samples(h: &Harness, _s: &Sample) -> Vec<SampleRequest> {
    let m = "/v1/miners/t01000";
    let round = h.sim.head().height + 1;
    vec![
        SampleRequest::get("list_miners", "/v1/miners?limit=2"),
        SampleRequest::get("get_miner_creation_deposit", "/v1/miners/creation-deposit"),
        SampleRequest::get("list_miner_faults", "/v1/miners/faults?lookback=100"),
        SampleRequest::get(
            "get_sector_initial_pledge",
            "/v1/sectors/initial-pledge?duration=1555200&size=34359738368&verified_size=0",
        ),
        SampleRequest::get("get_miner", m),
        SampleRequest::get("get_miner_power", format!("{m}/power")),
        SampleRequest::get(
            "get_miner_available_balance",
            format!("{m}/available-balance"),
        ),
        SampleRequest::get("list_miner_deadlines", format!("{m}/deadlines")),
        SampleRequest::get(
            "get_miner_proving_deadline",
            format!("{m}/deadlines/current"),
        ),
        SampleRequest::get(
            "list_miner_partitions",
            format!("{m}/deadlines/3/partitions"),
        ),
        SampleRequest::get("get_miner_faults", format!("{m}/faults")),
        SampleRequest::get("get_miner_recoveries", format!("{m}/recoveries")),
        SampleRequest::get("list_miner_sectors", format!("{m}/sectors?limit=50")),
        SampleRequest::get("get_miner_sector_count", format!("{m}/sector-count")),
        SampleRequest::get(
            "get_miner_allocated_sectors",
            format!("{m}/allocated-sectors"),
        ),
        SampleRequest::get(
            "get_miner_sector_allocated",
            format!("{m}/allocated-sectors/5"),
        ),
        SampleRequest::get("get_miner_sector", format!("{m}/sectors/9")),
        SampleRequest::get(
            "get_miner_sector_expiration",
            format!("{m}/sectors/9/expiration"),
        ),
        SampleRequest::get(
            "get_miner_sector_partition",
            format!("{m}/sectors/9/partition"),
        ),
        SampleRequest::get("get_miner_precommit", format!("{m}/precommits/300")),
        SampleRequest::get(
            "get_miner_initial_pledge",
            format!("{m}/initial-pledge?{}", precommit(8)),
        ),
        SampleRequest::get(
            "get_miner_precommit_deposit",
            format!("{m}/precommit-deposit?{}", precommit(8)),
        ),
        SampleRequest::get(
            "get_miner_mining_base",
            format!("{m}/mining-base?round={round}"),
        ),
        SampleRequest::with(
            "create_miner_block",
            Method::POST,
            format!("{m}/blocks"),
            Some(new_block(h)),
        ),
        SampleRequest::get("get_verifreg_root_key", "/v1/verifreg/root-key"),
        SampleRequest::get("get_verifier", "/v1/verifreg/verifiers/t0101"),
        SampleRequest::get("get_verified_client", "/v1/verifreg/clients/t0100"),
        SampleRequest::get("list_allocations", "/v1/verifreg/allocations?limit=5"),
        SampleRequest::get("list_claims", "/v1/verifreg/claims?limit=5"),
        SampleRequest::get(
            "list_client_allocations",
            "/v1/verifreg/clients/t0100/allocations",
        ),
        SampleRequest::get(
            "get_allocation",
            "/v1/verifreg/clients/t0100/allocations/12",
        ),
        SampleRequest::get("list_provider_claims", "/v1/miners/t01000/claims"),
        SampleRequest::get("get_claim", "/v1/miners/t01000/claims/3"),
        SampleRequest::get(
            "get_pending_deal_allocation",
            "/v1/verifreg/pending-deals/5012/allocation",
        ),
        SampleRequest::get(
            "get_pending_deal_allocation_id",
            "/v1/verifreg/pending-deals/5012/allocation-id",
        ),
    ]
}

/// Every entry of a paged list, following the cursors; checks `total` and that no entry comes twice.
async fn all_pages(h: &Harness, path: &str, limit: usize, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut seen = BTreeSet::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{sep}limit={limit}");
    let mut total = None;
    loop {
        let r = h.get(&url, None).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        let page = r.json();
        let page_items = page["items"].as_array().unwrap().clone();
        assert!(page_items.len() <= limit);
        let t = page["total"].as_u64().unwrap();
        assert_eq!(*total.get_or_insert(t), t, "the total stays the same");
        for item in page_items {
            let id = if key.is_empty() {
                item.to_string()
            } else {
                item[key].to_string()
            };
            assert!(seen.insert(id.clone()), "{id} twice");
            items.push(item);
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{path}{sep}limit={limit}&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(items.len() as u64, total.unwrap());
    items
}

/// The numbers of a bitfield in run-length form.
fn numbers(bf: &Value) -> Vec<u64> {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, run) in bf.as_array().unwrap().iter().enumerate() {
        let run = run.as_u64().unwrap();
        if i % 2 == 1 {
            out.extend(at..at + run);
        }
        at += run;
    }
    out
}

#[actix_web::test]
async fn miners_are_listed_and_described() {
    let h = Harness::start().await;
    let miners = all_pages(&h, "/v1/miners", 2, "").await;
    let miners: Vec<&str> = miners.iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(miners, ["t01000", "t01001", "t01002"]);

    let info = h.get("/v1/miners/t01000", None).await.json();
    assert_eq!(info["Owner"], "t0100");
    assert_eq!(info["Worker"], "t0101");
    assert_eq!(info["SectorSize"], 34359738368u64);
    assert!(info["PeerId"].as_str().unwrap().starts_with("12D3KooW"));
    let again = h.get("/v1/miners/t01000", None).await.json();
    assert_eq!(info, again, "the same on every call");
    let other = h.get("/v1/miners/t01001", None).await.json();
    assert_eq!(other["SectorSize"], 68719476736u64);
    assert_ne!(other["PeerId"], info["PeerId"]);

    // Unknown actor, and an actor that is not a miner.
    let p = h
        .get("/v1/miners/t09999", None)
        .await
        .problem(404, "actor_not_found");
    assert!(p["detail"].as_str().unwrap().contains("t09999"), "{p}");
    let p = h
        .get("/v1/miners/t0100/power", None)
        .await
        .problem(404, "not_found");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("not a storage miner"),
        "{p}"
    );
    let p = h
        .get("/v1/miners/x0100", None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("address"), "{p}");
}

#[actix_web::test]
async fn sectors_counts_faults_and_power_agree() {
    let h = Harness::start().await;
    let m = "/v1/miners/t01000";
    let count = h.get(&format!("{m}/sector-count"), None).await.json();
    let (live, active, faulty) = (
        count["Live"].as_u64().unwrap(),
        count["Active"].as_u64().unwrap(),
        count["Faulty"].as_u64().unwrap(),
    );
    assert_eq!(live, 300);
    assert_eq!(active + faulty, live);
    assert!(faulty > 0);

    let sectors = all_pages(&h, &format!("{m}/sectors"), 70, "SectorNumber").await;
    assert_eq!(sectors.len() as u64, live);
    let active_list = all_pages(&h, &format!("{m}/sectors?active=true"), 100, "SectorNumber").await;
    assert_eq!(active_list.len() as u64, active);

    let faults = numbers(&h.get(&format!("{m}/faults"), None).await.json());
    assert_eq!(faults.len() as u64, faulty);
    let recoveries = numbers(&h.get(&format!("{m}/recoveries"), None).await.json());
    assert!(
        recoveries.iter().all(|s| faults.contains(s)),
        "recoveries are faulty sectors"
    );
    let active_numbers: BTreeSet<u64> = active_list
        .iter()
        .map(|s| s["SectorNumber"].as_u64().unwrap())
        .collect();
    assert!(faults.iter().all(|s| !active_numbers.contains(s)));

    let power = h.get(&format!("{m}/power"), None).await.json();
    let raw: u128 = power["MinerPower"]["RawBytePower"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(raw, active as u128 * (32u128 << 30));
    let total: u128 = power["TotalPower"]["RawBytePower"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > raw);
    assert_eq!(power["HasMinPower"], true);
    let small = h.get("/v1/miners/t01002/power", None).await.json();
    assert_eq!(small["HasMinPower"], false);

    // One sector, and the same sector in the list.
    let nine = h.get(&format!("{m}/sectors/9"), None).await;
    assert_eq!(nine.status, 200, "{}", nine.text);
    assert_eq!(nine.json(), sectors[9]);
    let allocated = numbers(&h.get(&format!("{m}/allocated-sectors"), None).await.json());
    assert_eq!(
        allocated.len(),
        302,
        "the live sectors and two pre-commitments"
    );
    assert_eq!(
        h.get(&format!("{m}/allocated-sectors/301"), None)
            .await
            .json(),
        true
    );
    assert_eq!(
        h.get(&format!("{m}/allocated-sectors/302"), None)
            .await
            .json(),
        false
    );
    let pc = h.get(&format!("{m}/precommits/300"), None).await.json();
    assert_eq!(pc["Info"]["SectorNumber"], 300);
}

#[actix_web::test]
async fn deadlines_and_partitions_hold_every_sector_once() {
    let h = Harness::start().await;
    let m = "/v1/miners/t01000";
    let deadlines = h.get(&format!("{m}/deadlines"), None).await.json();
    assert_eq!(deadlines.as_array().unwrap().len(), 48);
    let current = h.get(&format!("{m}/deadlines/current"), None).await.json();
    let index = current["Index"].as_u64().unwrap();
    assert!(index < 48);
    assert_eq!(
        current["Close"].as_i64().unwrap() - current["Open"].as_i64().unwrap(),
        60
    );
    assert_eq!(current["CurrentEpoch"], h.sim.head().height);

    let faults: BTreeSet<u64> = numbers(&h.get(&format!("{m}/faults"), None).await.json())
        .into_iter()
        .collect();
    let mut all = BTreeSet::new();
    let mut faulty = BTreeSet::new();
    for d in 0..48 {
        let parts = h.get(&format!("{m}/deadlines/{d}/partitions"), None).await;
        assert_eq!(parts.status, 200, "{}", parts.text);
        for (p, part) in parts.json().as_array().unwrap().iter().enumerate() {
            for s in numbers(&part["AllSectors"]) {
                assert!(all.insert(s), "sector {s} in two partitions");
                if s % 37 == 0 {
                    let loc = h
                        .get(&format!("{m}/sectors/{s}/partition"), None)
                        .await
                        .json();
                    assert_eq!(loc, json!({"Deadline": d, "Partition": p}));
                }
            }
            faulty.extend(numbers(&part["FaultySectors"]));
        }
    }
    assert_eq!(all.len(), 300);
    assert_eq!(faulty, faults);

    let p = h
        .get(&format!("{m}/deadlines/48/partitions"), None)
        .await
        .problem(400, "invalid_parameter");
    assert!(
        p["detail"].as_str().unwrap().contains("deadline index"),
        "{p}"
    );
}

#[actix_web::test]
async fn missing_sectors_are_404_and_bad_numbers_400() {
    let h = Harness::start().await;
    let m = "/v1/miners/t01000";
    for path in [
        format!("{m}/sectors/999"),
        format!("{m}/sectors/999/expiration"),
        format!("{m}/sectors/999/partition"),
    ] {
        let p = h.get(&path, None).await.problem(404, "not_found");
        assert!(
            p["detail"].as_str().unwrap().contains("no sector 999"),
            "{path}: {p}"
        );
    }
    let p = h
        .get(&format!("{m}/precommits/5"), None)
        .await
        .problem(404, "not_found");
    assert!(
        p["detail"].as_str().unwrap().contains("pre-committed"),
        "{p}"
    );
    for bad in ["abc", "-1", "99999999999999999999"] {
        let p = h
            .get(&format!("{m}/sectors/{bad}"), None)
            .await
            .problem(400, "invalid_parameter");
        assert!(
            p["detail"].as_str().unwrap().contains("sector number"),
            "{p}"
        );
    }
    let p = h
        .get(&format!("{m}/sectors?active=maybe"), None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("active"), "{p}");
    let p = h
        .get("/v1/miners/faults", None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("lookback"), "{p}");
    let p = h
        .get("/v1/sectors/initial-pledge?duration=100&size=1000", None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("size"), "{p}");
    let p = h
        .get(
            "/v1/sectors/initial-pledge?duration=100&size=2048&verified_size=4096",
            None,
        )
        .await
        .problem(400, "invalid_parameter");
    assert!(
        p["detail"].as_str().unwrap().contains("verified_size"),
        "{p}"
    );
}

#[actix_web::test]
async fn pledges_and_deposits_are_computed() {
    let h = Harness::start().await;
    let m = "/v1/miners/t01000";
    let amount = |r: crate::common::Reply| -> u128 {
        assert_eq!(r.status, 200, "{}", r.text);
        r.json().as_str().unwrap().parse().unwrap()
    };
    let pledge = amount(
        h.get(&format!("{m}/initial-pledge?{}", precommit(8)), None)
            .await,
    );
    let big = amount(
        h.get(&format!("{m}/initial-pledge?{}", precommit(9)), None)
            .await,
    );
    assert_eq!(
        big,
        2 * pledge,
        "a 64 GiB sector pledges twice a 32 GiB one"
    );
    let with_deals = amount(
        h.get(
            &format!("{m}/initial-pledge?{}&deal_ids=5004,5008", precommit(8)),
            None,
        )
        .await,
    );
    assert_eq!(
        with_deals,
        10 * pledge,
        "a sector of verified deals pledges tenfold"
    );
    let deposit = amount(
        h.get(&format!("{m}/precommit-deposit?{}", precommit(8)), None)
            .await,
    );
    assert!(deposit > 0 && deposit < pledge);
    let full = amount(
        h.get(
            "/v1/sectors/initial-pledge?duration=1555200&size=34359738368",
            None,
        )
        .await,
    );
    assert_eq!(full, pledge);
    let verified = amount(
        h.get(
            "/v1/sectors/initial-pledge?duration=1555200&size=34359738368&verified_size=34359738368",
            None,
        )
        .await,
    );
    assert_eq!(verified, 10 * pledge);

    for (query, param) in [
        (precommit(99), "seal_proof"),
        (precommit(8).replace(CID, "nope"), "sealed_cid"),
        (format!("{}&deal_ids=1,x", precommit(8)), "deal_ids"),
        (
            precommit(8).replace("&expiration=1555400", ""),
            "expiration",
        ),
    ] {
        let p = h
            .get(&format!("{m}/initial-pledge?{query}"), None)
            .await
            .problem(400, "invalid_parameter");
        assert!(
            p["detail"].as_str().unwrap().contains(param),
            "{param}: {p}"
        );
    }
    let p = h
        .get(
            &format!("{m}/precommit-deposit?{}&extra=1", precommit(8)),
            None,
        )
        .await
        .problem(400, "invalid_query");
    assert!(p["detail"].as_str().unwrap().contains("extra"), "{p}");
}

#[actix_web::test]
async fn mining_base_and_block_creation() {
    let h = Harness::start().await;
    let head = h.sim.head();
    let base = h
        .get(
            &format!("/v1/miners/t01000/mining-base?round={}", head.height + 1),
            None,
        )
        .await;
    assert_eq!(base.status, 200, "{}", base.text);
    let base = base.json();
    assert_eq!(base["SectorSize"], 34359738368u64);
    assert_eq!(base["EligibleForMining"], true);
    let worker_key = &h.sim.accounts()[1].robust;
    assert_eq!(base["WorkerKey"], worker_key.as_str());
    let p = h
        .get("/v1/miners/t01000/mining-base", None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("round"), "{p}");

    let body = new_block(&h);
    // A read token may not create blocks.
    let read = h.token_up_to(Perm::Read);
    h.send_json(
        Method::POST,
        "/v1/miners/t01000/blocks",
        Some(&read),
        Some(&body),
    )
    .await
    .problem(403, "insufficient_permission");
    let write = h.token_up_to(Perm::Write);
    let r = h
        .send_json(
            Method::POST,
            "/v1/miners/t01000/blocks",
            Some(&write),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let block = r.json();
    assert_eq!(block["Header"]["Miner"], "t01000");
    assert_eq!(block["Header"]["Height"], head.height + 1);
    assert_eq!(block["Header"]["Parents"], json!(head.cids));
    // A second block differs from the first.
    let second = h
        .send_json(
            Method::POST,
            "/v1/miners/t01000/blocks",
            Some(&write),
            Some(&body),
        )
        .await
        .json();
    assert_ne!(second["Header"]["Messages"], block["Header"]["Messages"]);

    let mut low = body.clone();
    low["Epoch"] = json!(head.height);
    let p = h
        .send_json(
            Method::POST,
            "/v1/miners/t01000/blocks",
            Some(&write),
            Some(&low),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Epoch"), "{p}");
    let mut bad = body.clone();
    bad["Ticket"]["VRFProof"] = json!("***");
    let p = h
        .send_json(
            Method::POST,
            "/v1/miners/t01000/blocks",
            Some(&write),
            Some(&bad),
        )
        .await
        .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Ticket.VRFProof"),
        "{p}"
    );
    let p = h
        .send_json(
            Method::POST,
            "/v1/miners/t0100/blocks",
            Some(&write),
            Some(&body),
        )
        .await
        .problem(404, "not_found");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("not a storage miner"),
        "{p}"
    );
}

#[actix_web::test]
async fn verified_registry() {
    let h = Harness::start().await;
    assert_eq!(h.get("/v1/verifreg/root-key", None).await.json(), "t0109");
    let allowance = h.get("/v1/verifreg/verifiers/t0101", None).await;
    assert_eq!(allowance.status, 200, "{}", allowance.text);
    assert_eq!(allowance.json(), (1u128 << 50).to_string());
    let p = h
        .get("/v1/verifreg/verifiers/t0105", None)
        .await
        .problem(404, "not_found");
    assert!(
        p["detail"].as_str().unwrap().contains("not a verifier"),
        "{p}"
    );
    assert_eq!(
        h.get("/v1/verifreg/clients/t0100", None).await.json(),
        (100u128 << 40).to_string()
    );
    let p = h
        .get("/v1/verifreg/clients/t0101", None)
        .await
        .problem(404, "not_found");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("not a verified client"),
        "{p}"
    );
    h.get("/v1/verifreg/clients/t09999", None)
        .await
        .problem(404, "actor_not_found");

    let allocations = all_pages(&h, "/v1/verifreg/allocations", 3, "AllocationId").await;
    assert_eq!(allocations.len(), 10);
    let claims = all_pages(&h, "/v1/verifreg/claims", 7, "ClaimId").await;
    assert_eq!(claims.len(), 30);
    // An ID is an allocation or a claim, never both.
    for a in &allocations {
        assert!(claims.iter().all(|c| c["ClaimId"] != a["AllocationId"]));
    }

    let mine = all_pages(
        &h,
        "/v1/verifreg/clients/t0100/allocations",
        2,
        "AllocationId",
    )
    .await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|a| a["Client"] == 100));
    let id = mine[0]["AllocationId"].as_u64().unwrap();
    let one = h
        .get(
            &format!("/v1/verifreg/clients/t0100/allocations/{id}"),
            None,
        )
        .await
        .json();
    assert_eq!(one["Data"], mine[0]["Data"]);
    let p = h
        .get("/v1/verifreg/clients/t0100/allocations/4", None)
        .await
        .problem(404, "not_found");
    assert!(
        p["detail"].as_str().unwrap().contains("no allocation 4"),
        "{p}"
    );
    h.get("/v1/verifreg/clients/t0100/allocations/x", None)
        .await
        .problem(400, "invalid_parameter");

    let provided = all_pages(&h, "/v1/miners/t01000/claims", 4, "ClaimId").await;
    assert!(provided.iter().all(|c| c["Provider"] == 1000));
    let total: usize = {
        let mut n = provided.len();
        for m in ["t01001", "t01002"] {
            n += all_pages(&h, &format!("/v1/miners/{m}/claims"), 50, "ClaimId")
                .await
                .len();
        }
        n
    };
    assert_eq!(total, 30, "every claim belongs to one provider");
    for c in &provided {
        // The claimed sector exists and holds verified data.
        let s = h
            .get(&format!("/v1/miners/t01000/sectors/{}", c["Sector"]), None)
            .await
            .json();
        assert_ne!(s["VerifiedDealWeight"], "0");
    }
    let claim = h.get("/v1/miners/t01000/claims/3", None).await.json();
    assert_eq!(claim["Provider"], 1000);
    h.get("/v1/miners/t01000/claims/4", None)
        .await
        .problem(404, "not_found");

    let alloc = h
        .get("/v1/verifreg/pending-deals/5012/allocation", None)
        .await
        .json();
    assert_eq!(
        alloc,
        h.get("/v1/verifreg/clients/t0100/allocations/12", None)
            .await
            .json()
    );
    assert_eq!(
        h.get("/v1/verifreg/pending-deals/5012/allocation-id", None)
            .await
            .json(),
        12
    );
    h.get("/v1/verifreg/pending-deals/5001/allocation", None)
        .await
        .problem(404, "not_found");
    h.get("/v1/verifreg/pending-deals/7/allocation-id", None)
        .await
        .problem(404, "not_found");
}
