//! JSON-RPC as Lotus speaks it.

use serde::{Deserialize, Serialize};

/// A JSON-RPC error object as Lotus sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}
