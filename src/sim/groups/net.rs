//! Simulated net methods.

use serde_json::Value;

use super::super::rpc::{Failure, Params};
use super::super::Shared;

/// What this group keeps between calls.
#[derive(Default)]
pub(crate) struct State {}

pub(super) fn call(_shared: &Shared, name: &str, _p: &Params) -> Option<Result<Value, Failure>> {
    let _ = name;
    None
}
