//! The simulated node's method groups beyond the core chain: each module answers its Lotus methods from state it
//! keeps itself (and from the chain), so that a write is seen by a later read.

#![allow(dead_code)] // the groups fill in as the routes that use them arrive

use std::sync::Mutex;

use serde_json::Value;

use super::rpc::{Failure, Params};
use super::Shared;

mod chain_x;
mod eth;

pub(crate) use eth::{new_heads_header, subscription_id};
mod market;
mod miners;
mod mpool;
mod net;
mod paych;
mod state;
mod wallet;

/// The state each group keeps.
#[derive(Default)]
pub(crate) struct Groups {
    pub chain_x: Mutex<chain_x::State>,
    pub eth: Mutex<eth::State>,
    pub market: Mutex<market::State>,
    pub miners: Mutex<miners::State>,
    pub mpool: Mutex<mpool::State>,
    pub net: Mutex<net::State>,
    pub paych: Mutex<paych::State>,
    pub state: Mutex<state::State>,
    pub wallet: Mutex<wallet::State>,
}

/// Locks a group's state, recovering from a poisoned lock (a panicking request must not wedge the node).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serializes a result.
pub(crate) fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("the simulated node's types serialize")
}

/// Answers `name` (without the `Filecoin.` prefix) when a group implements it; `None` otherwise. Parameters are
/// checked here (wrong count or type gives Lotus's `-32602` errors through [`Params`]), the permission has been
/// checked by the caller.
pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    chain_x::call(shared, name, p)
        .or_else(|| state::call(shared, name, p))
        .or_else(|| miners::call(shared, name, p))
        .or_else(|| market::call(shared, name, p))
        .or_else(|| paych::call(shared, name, p))
        .or_else(|| wallet::call(shared, name, p))
        .or_else(|| mpool::call(shared, name, p))
        .or_else(|| net::call(shared, name, p))
        .or_else(|| eth::call(shared, name, p))
}
