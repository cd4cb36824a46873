use super::*;

async fn rpc(h: &MinerSimHandle, token: Option<&str>, method: &str, params: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(h.url())
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": format!("Filecoin.{method}"), "params": params}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

#[actix_web::test]
async fn sectors_permissions_and_state() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let h = start_miner(MinerSimConfig::new(Secret::generate()), listener)
        .await
        .unwrap();
    let admin = h.token(Perm::Admin);
    let read = h.token(Perm::Read);
    let list = rpc(&h, Some(&read), "SectorsList", json!([])).await;
    let summary = rpc(&h, Some(&read), "SectorsSummary", json!([])).await;
    let total: u64 = summary["result"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, list["result"].as_array().unwrap().len());
    let denied = rpc(&h, Some(&read), "StorageList", json!([])).await;
    assert_eq!(
        denied["error"]["message"],
        "missing permission to invoke 'StorageList' (need 'admin')"
    );
    let missing = rpc(&h, Some(&read), "SectorsStatus", json!([9999, false])).await;
    assert_eq!(
        missing["error"]["message"],
        "getting sector info: not found"
    );
    let before = h.sectors().len();
    rpc(&h, Some(&admin), "PledgeSector", json!([])).await;
    assert_eq!(h.sectors().len(), before + 1);
    rpc(&h, Some(&admin), "SectorRemove", json!([1])).await;
    assert_eq!(h.sectors()[1].1, "Removed");
    let wrong = rpc(&h, Some(&read), "SectorsStatus", json!([9])).await;
    assert_eq!(
        wrong["error"],
        json!({"code": -32602, "message": "wrong param count (method 'Filecoin.SectorsStatus'): 1 != 2"})
    );
    // a real miner method (a worker callback) the simulation does not answer
    let unsimulated = rpc(&h, Some(&admin), "ReturnFetch", json!([{}, null])).await;
    assert_eq!(unsimulated["error"]["code"], -32601);
    h.stop().await;
}
