//! Simulated message pool methods: pushed messages wait in the pool and the next tipset includes them.

use serde_json::Value;

use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::to_json;
use crate::lotus::types::Message;

/// What this group keeps between calls (the pool itself lives with the chain, which mines it).
#[derive(Default)]
pub(crate) struct State {}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "MpoolPushMessage" => (|| {
            p.expect(2)?;
            let message: Message = p.decode(0, "*types.Message")?;
            let _spec: Option<Value> = p.decode(1, "*api.MessageSendSpec")?;
            shared
                .push_message(message)
                .map(to_json)
                .map_err(Failure::method)
        })(),
        "MpoolPending" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let chain = shared.chain();
            chain.tipset(&key).map_err(Failure::method)?;
            Ok(to_json(chain.pending()))
        })(),
        _ => return None,
    };
    Some(result)
}
