//! Where the nodes that serve the Lotus API differ in what they answer.
//!
//! Forest answers some reads of a missing thing with `result: null` where Lotus answers an error; the gateway reads
//! both as Lotus's error, so that a REST read of one thing that is not there is a 404 whichever node is behind.
//! Forest writes a key's type as a number (`"Type": 1`) where Lotus names it (`"Type": "secp256k1"`); the gateway
//! answers the name.

use super::rpc::RpcError;
use super::wallet::KeyInfo;

/// A node's answer to `method` in Lotus's dialect: `Err` for a `null` that means "not there", `Ok(Some(text))` for
/// an answer rewritten, `Ok(None)` for one that is already Lotus's.
pub fn answer(method: &str, result: &str) -> Result<Option<String>, RpcError> {
    if let Some(missing) = missing(method, result) {
        return Err(missing);
    }
    if method == "Filecoin.WalletExport" && !result.contains("\"Type\":\"") {
        if let Ok(key) = serde_json::from_str::<KeyInfo>(result) {
            return Ok(serde_json::to_string(&key).ok());
        }
    }
    Ok(None)
}

/// Methods whose `null` result means the thing asked for is not there, with the error Lotus answers instead.
const NULL_IS_MISSING: &[(&str, &str)] = &[("Filecoin.StateGetActor", "actor not found")];

/// Lotus's error code for a missing actor (`api.ErrActorNotFound`, since Lotus 1.35).
const ACTOR_NOT_FOUND: i64 = 11;

/// The error Lotus would have answered, when `result` is a `null` that means "not there" for `method`.
pub fn missing(method: &str, result: &str) -> Option<RpcError> {
    let (_, message) = NULL_IS_MISSING.iter().find(|(m, _)| *m == method)?;
    (result.trim() == "null").then(|| RpcError {
        code: ACTOR_NOT_FOUND,
        message: format!("{message} (the node answered null)"),
        data: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_actor_is_lotus_actor_not_found_and_other_answers_pass() {
        let e = missing("Filecoin.StateGetActor", " null").unwrap();
        assert_eq!(e.code, ACTOR_NOT_FOUND);
        assert!(e.message.starts_with("actor not found"));
        assert!(missing("Filecoin.StateGetActor", r#"{"Code":{"/":"bafk"}}"#).is_none());
        assert!(missing("Filecoin.StateSearchMsg", "null").is_none());
    }

    #[test]
    fn a_forest_key_type_number_is_answered_as_its_name() {
        let forest = r#"{"Type":2,"PrivateKey":"AAAA"}"#;
        assert_eq!(
            answer("Filecoin.WalletExport", forest).unwrap().as_deref(),
            Some(r#"{"Type":"bls","PrivateKey":"AAAA"}"#)
        );
        let lotus = r#"{"Type":"bls","PrivateKey":"AAAA"}"#;
        assert_eq!(answer("Filecoin.WalletExport", lotus).unwrap(), None);
        assert!(answer("Filecoin.StateGetActor", "null").is_err());
    }
}
