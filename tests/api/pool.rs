//! A pool of nodes behind one gateway (`[FullNode] ApiInfo` with several entries): reads survive a node dying,
//! a lagging node serves no reads, a read at a tipset goes only to nodes that have it, writes reach the first node
//! only and are never sent twice.

use std::time::{Duration, Instant};

use lotus_rest::lotus::Perm;
use serde_json::{json, Value};

use crate::common::{Harness, Options};

/// A gateway in front of the first node and `more` (the head height of each other node), probing every 200 ms.
async fn pool(more: &[i64]) -> Harness {
    let h = Harness::with(Options {
        more_nodes: more.to_vec(),
        vars: vec![("LOTUS_REST_FULLNODE_HEALTHINTERVAL", "200ms".into())],
        ..Options::default()
    })
    .await;
    // Every node has answered a probe.
    wait_for(&h, "every node answers its probe", |ready| {
        (0..=more.len())
            .all(|i| ready["upstreams"][format!("node{i}")]["head_height"].as_i64() > Some(0))
    })
    .await;
    h
}

/// Waits until `/readyz`'s body satisfies `check`, for at most 20 s.
async fn wait_for(h: &Harness, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = h.get("/readyz", None).await;
        let body: Value = serde_json::from_str(&r.text).unwrap_or(Value::Null);
        if check(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: /readyz says {}", r.text);
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many calls of `method` a node's log holds.
fn count(node: &lotus_rest::sim::SimHandle, method: &str) -> usize {
    node.calls().iter().filter(|c| c.as_str() == method).count()
}

/// Reads from `readers` clients side by side, `each` reads apiece, over routes that reach the node; every status.
async fn steady_reads(h: &Harness, readers: usize, each: usize) -> Vec<(String, u16, String)> {
    let paths = [
        "/v1/actors/t01000",
        "/v1/tipsets/150?null_round=previous",
        "/v1/actors/t01000/balance",
    ];
    let mut tasks = Vec::new();
    for r in 0..readers {
        let (http, base) = (h.http.clone(), h.base.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let mut seen = Vec::new();
            for i in 0..each {
                let path = paths[(r + i) % paths.len()];
                let res = http.get(format!("{base}{path}")).send().await;
                match res {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        seen.push((
                            path.to_string(),
                            status,
                            res.text().await.unwrap_or_default(),
                        ));
                    }
                    Err(e) => seen.push((path.to_string(), 0, e.to_string())),
                }
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn failures(seen: &[(String, u16, String)]) -> Vec<&(String, u16, String)> {
    seen.iter()
        .filter(|(_, status, _)| *status != 200)
        .collect()
}

#[actix_web::test]
async fn reads_go_on_while_any_one_of_three_nodes_dies() {
    for victim in 0..3 {
        let h = pool(&[200, 200]).await;
        let nodes: Vec<_> = std::iter::once(h.sim.clone())
            .chain(h.pool.iter().cloned())
            .collect();
        let reads = steady_reads(&h, 4, 60);
        let kill = async {
            actix_web::rt::time::sleep(Duration::from_millis(300)).await;
            nodes[victim].stop().await;
        };
        let (seen, ()) = futures_util::future::join(reads, kill).await;
        assert_eq!(seen.len(), 240);
        assert!(
            failures(&seen).is_empty(),
            "node{victim} died: failed reads {:?}",
            failures(&seen)
        );
        // The reads were spread over the nodes, and the dead one is out of rotation.
        for (i, node) in nodes.iter().enumerate() {
            if i != victim {
                assert!(
                    count(node, "Filecoin.StateGetActor") > 0,
                    "node{i} served no read"
                );
            }
        }
        let ready = wait_for(&h, "the dead node is down", |r| {
            r["upstreams"][format!("node{victim}")]["status"] == "down"
        })
        .await;
        assert_eq!(ready["status"], "ok", "ready while one node is: {ready}");
        for i in 0..3 {
            let up = h
                .gauge(&format!("lotus_rest_pool_node_up{{upstream=\"node{i}\"}}"))
                .await;
            assert_eq!(up, Some(i64::from(i != victim)), "node{i}");
        }
        // Reads after the death never reach it.
        let r = h.get("/v1/chain/head", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[actix_web::test]
async fn a_lagging_node_serves_no_reads_and_the_head_is_the_best() {
    let h = pool(&[190, 200]).await;
    let ready = wait_for(&h, "node1 lags", |r| {
        r["upstreams"]["node1"]["status"] == "lagging"
    })
    .await;
    assert_eq!(ready["upstreams"]["node1"]["head_height"], 190);
    assert_eq!(ready["upstreams"]["node0"]["status"], "ok");
    let gauge =
        |name: &str, node: &str| format!("lotus_rest_pool_node_{name}{{upstream=\"{node}\"}}");
    assert_eq!(h.gauge(&gauge("up", "node1")).await, Some(1));
    assert_eq!(h.gauge(&gauge("serving_reads", "node1")).await, Some(0));
    assert_eq!(h.gauge(&gauge("serving_reads", "node2")).await, Some(1));
    assert_eq!(h.gauge(&gauge("head_height", "node1")).await, Some(190));
    h.pool[0].reset_calls();
    let seen = steady_reads(&h, 2, 30).await;
    assert!(failures(&seen).is_empty(), "{:?}", failures(&seen));
    let lagging: Vec<String> = h.pool[0]
        .calls()
        .into_iter()
        .filter(|c| c != "Filecoin.ChainHead")
        .collect();
    assert!(lagging.is_empty(), "the lagging node served {lagging:?}");
    assert!(count(&h.pool[1], "Filecoin.StateGetActor") > 0);
    // The head served is the best one, whichever node answers.
    for _ in 0..5 {
        let r = h.get("/v1/chain/head", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["Height"], 200);
    }
}

/// A write: a new BLS key in the wallet of the node that holds the keys (`Filecoin.WalletNew`).
async fn new_key(h: &Harness, token: &str) -> crate::common::Reply {
    h.send_json(
        reqwest::Method::POST,
        "/v1/wallet/keys",
        Some(token),
        Some(&json!({"Type": "bls"})),
    )
    .await
}

#[actix_web::test]
async fn writes_reach_the_first_node_only_and_are_never_sent_twice() {
    let h = pool(&[200, 200]).await;
    let write = h.token_up_to(Perm::Write);
    for node in std::iter::once(&h.sim).chain(&h.pool) {
        node.reset_calls();
    }
    for _ in 0..6 {
        let r = new_key(&h, &write).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(count(&h.sim, "Filecoin.WalletNew"), 6);
    for node in &h.pool {
        assert_eq!(
            count(node, "Filecoin.WalletNew"),
            0,
            "a write reached another node"
        );
    }

    // The first node dies. The write that finds it gone fails, and is not sent to another node.
    h.sim.stop().await;
    let r = new_key(&h, &write).await;
    assert!(
        [502, 503].contains(&r.status),
        "a write to a dead first node: {} {}",
        r.status,
        r.text
    );
    for node in &h.pool {
        assert_eq!(
            count(node, "Filecoin.WalletNew"),
            0,
            "a failed write was sent again"
        );
    }
    // Once it is out of rotation, writes go to the first node that is up, once each. Reads go on.
    wait_for(&h, "node0 is down", |r| {
        r["upstreams"]["node0"]["status"] == "down"
    })
    .await;
    let r = new_key(&h, &write).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(count(&h.pool[0], "Filecoin.WalletNew"), 1);
    assert_eq!(count(&h.pool[1], "Filecoin.WalletNew"), 0);
    let seen = steady_reads(&h, 2, 10).await;
    assert!(failures(&seen).is_empty(), "{:?}", failures(&seen));
}

#[actix_web::test]
async fn a_stream_moves_to_another_node_when_its_node_dies() {
    let h = pool(&[200]).await;
    let mut reader = crate::streams::Reader::open(&h, "/v1/streams/heads", false, None).await;
    let first = reader.next().await.unwrap();
    assert_eq!(first.event, "current");
    // The gateway's head and the stream both follow the first node.
    assert_eq!(h.sim.channels(), 2, "the stream follows the first node");
    assert_eq!(h.pool[0].channels(), 0);

    h.sim.stop().await;
    assert_eq!(reader.next().await.unwrap().event, "upstream_lost");
    let restored = reader.next().await.unwrap();
    assert_eq!(restored.event, "upstream_restored", "{restored:?}");
    let current = reader.next().await.unwrap();
    assert_eq!(current.event, "current");
    assert_eq!(current.data["Height"], h.pool[0].head().height);
    assert!(h.pool[0].channels() >= 1, "the stream moved to node1");
    // New heads of node1 reach the client.
    loop {
        let before = h.pool[0].head().height;
        h.pool[0].advance();
        if h.pool[0].head().height != before {
            break;
        }
    }
    let next = reader.next().await.unwrap();
    assert_eq!(next.event, "apply");
    assert_eq!(next.data["Height"], h.pool[0].head().height);
}

#[actix_web::test]
async fn a_websocket_client_is_dialled_to_the_first_node_in_rotation() {
    let h = pool(&[200]).await;
    let write = h.token_up_to(Perm::Write);
    // While node0 is up, a client's socket is node0's: its writes reach the node that holds the keys.
    let mut ws = crate::websocket::connect(&h, Some(&write)).await.unwrap();
    let r = crate::websocket::call(&mut ws, 1, "Filecoin.WalletNew", json!(["bls"])).await;
    assert!(r["result"].is_string(), "{r}");
    assert_eq!(count(&h.sim, "Filecoin.WalletNew"), 1);
    assert_eq!(count(&h.pool[0], "Filecoin.WalletNew"), 0);
    drop(ws);

    // node0 dies: a new socket goes to node1, the first node in rotation.
    h.sim.stop().await;
    wait_for(&h, "node0 is down", |r| {
        r["upstreams"]["node0"]["status"] == "down"
    })
    .await;
    let mut ws = crate::websocket::connect(&h, Some(&write)).await.unwrap();
    h.pool[0].reset_calls();
    let r = crate::websocket::call(&mut ws, 2, "Filecoin.Version", json!([])).await;
    assert!(r["result"]["Version"].is_string(), "{r}");
    assert_eq!(count(&h.pool[0], "Filecoin.Version"), 1);
}

#[actix_web::test]
async fn a_read_at_a_tipset_goes_only_to_nodes_that_have_reached_it() {
    // node1 is one epoch behind the others: serving reads at the head (within MaxHeadLag, 2), but it has no tipset
    // at height 200 yet.
    let h = pool(&[199, 200]).await;
    let ready = wait_for(&h, "node1 serves", |r| {
        r["upstreams"]["node1"]["status"] == "ok"
    })
    .await;
    assert_eq!(ready["upstreams"]["node1"]["head_height"], 199);
    let head = h.get("/v1/tipsets/200", None).await;
    assert_eq!(head.status, 200, "{}", head.text);
    let key: Vec<String> = head.json()["Cids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["/"].as_str().unwrap().to_string())
        .collect();
    let key = key.join(",");
    for node in std::iter::once(&h.sim).chain(&h.pool) {
        node.reset_calls();
    }
    for _ in 0..12 {
        for path in [
            "/v1/actors/t01000?height=200".to_string(),
            format!("/v1/actors/t01000?tipset={key}"),
            "/v1/tipsets/200".to_string(),
            format!("/v1/miners?tipset={key}&limit=2"),
        ] {
            let r = h.get(&path, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
        }
    }
    let behind: Vec<String> = h.pool[0]
        .calls()
        .into_iter()
        .filter(|c| c != "Filecoin.ChainHead")
        .collect();
    assert!(behind.is_empty(), "the node behind was asked {behind:?}");
    assert!(count(&h.sim, "Filecoin.StateGetActor") > 0);
    assert!(count(&h.pool[1], "Filecoin.StateGetActor") > 0);
    // At a height it has, and at the head, it serves its share.
    for path in ["/v1/actors/t01000?height=199", "/v1/actors/t01000"] {
        for _ in 0..12 {
            assert_eq!(h.get(path, None).await.status, 200);
        }
    }
    assert!(count(&h.pool[0], "Filecoin.StateGetActor") > 0);
}

#[actix_web::test]
async fn a_node_answering_5xx_without_json_rpc_is_out_of_rotation_until_it_recovers() {
    let h = pool(&[200, 200]).await;
    // What a proxy in front of a dead node answers.
    h.pool[0].set_fault(Some(lotus_rest::sim::Fault::Status(502)));
    let mut failed = 0;
    for _ in 0..12 {
        let r = h.get("/v1/actors/t01000", None).await;
        if r.status != 200 {
            assert_eq!(r.status, 502, "{}", r.text);
            failed += 1;
        }
    }
    // The read that met it failed (it was answered, so it is not sent again); none after.
    assert!(failed <= 1, "{failed} reads failed");
    wait_for(&h, "node1 is down", |r| {
        r["upstreams"]["node1"]["status"] == "down"
    })
    .await;
    for _ in 0..12 {
        assert_eq!(h.get("/v1/actors/t01000", None).await.status, 200);
    }
    h.pool[0].set_fault(None);
    wait_for(&h, "node1 is back", |r| {
        r["upstreams"]["node1"]["status"] == "ok"
    })
    .await;
}
