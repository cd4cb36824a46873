//! The sample request of every operation: a URL (with its query) and a body that the simulated node answers with
//! success. Each resource's test module lists the samples of its own operations; an operation without one is
//! called with its path template filled from the [`Sample`] and no body.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Harness, Sample};
use crate::permissions::{concrete, Operation};

/// One request that succeeds on a fresh simulated node with a token holding the operation's permission.
#[derive(Debug, Clone)]
pub struct SampleRequest {
    /// The operationId it exercises.
    pub op_id: &'static str,
    pub method: Method,
    /// Path and query, e.g. `/v1/wallet/t0100/balance?height=10`.
    pub path: String,
    pub body: Option<Value>,
}

#[allow(dead_code)] // the resource modules use what they need
impl SampleRequest {
    pub fn get(op_id: &'static str, path: impl Into<String>) -> Self {
        SampleRequest {
            op_id,
            method: Method::GET,
            path: path.into(),
            body: None,
        }
    }

    pub fn with(
        op_id: &'static str,
        method: Method,
        path: impl Into<String>,
        body: Option<Value>,
    ) -> Self {
        SampleRequest {
            op_id,
            method,
            path: path.into(),
            body,
        }
    }
}

/// Every resource module's samples.
pub fn samples(h: &Harness, s: &Sample) -> Vec<SampleRequest> {
    let mut all = Vec::new();
    all.extend(crate::res_chain::samples(h, s));
    all.extend(crate::res_state::samples(h, s));
    all.extend(crate::res_miners::samples(h, s));
    all.extend(crate::res_market::samples(h, s));
    all.extend(crate::res_paych::samples(h, s));
    all.extend(crate::res_wallet::samples(h, s));
    all.extend(crate::res_net::samples(h, s));
    all
}

/// The sample request of `op`: its resource module's, or its path filled from `s` with no body.
pub fn request_for(all: &[SampleRequest], s: &Sample, op: &Operation) -> SampleRequest {
    all.iter()
        .find(|r| r.op_id == op.operation_id)
        .cloned()
        .unwrap_or_else(|| SampleRequest {
            op_id: "",
            method: op.method.clone(),
            path: concrete(s, &op.path),
            body: None,
        })
}

/// Every miner resource module's samples.
pub fn miner_samples(h: &Harness) -> Vec<SampleRequest> {
    let mut all = Vec::new();
    all.extend(crate::res_miner_info::samples(h));
    all.extend(crate::res_miner_sectors::samples(h));
    all.extend(crate::res_miner_storage::samples(h));
    all
}
