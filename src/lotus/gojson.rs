//! Reading what a Go node writes: Go's JSON encodes a nil slice or map as `null`, so a Lotus node answers `null`
//! where it has an empty list (`NetPeers` of a node without peers, `"Cids": null` in a block without messages).
//! Decoding into a typed list, that `null` is the empty list.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The most `null`s one answer may have rewritten before decoding gives up.
const MAX_REWRITES: usize = 1024;

/// Decodes `text` into `T`, reading a `null` where `T` has a list or a map as the empty one. Answers without such a
/// `null` decode in one pass; the others are rewritten at the place the decoder names, one at a time.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let first = match serde_json::from_str(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if !first.to_string().starts_with("invalid type: null") {
        return Err(first);
    }
    let mut value: Value = serde_json::from_str(text)?;
    for _ in 0..MAX_REWRITES {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => return Ok(v),
            Err(e) => {
                let message = e.inner().to_string();
                let empty = if message.starts_with("invalid type: null, expected a sequence") {
                    Value::Array(Vec::new())
                } else if message.starts_with("invalid type: null, expected a map") {
                    Value::Object(serde_json::Map::new())
                } else {
                    return Err(first);
                };
                match at_path(&mut value, e.path()) {
                    Some(slot @ Value::Null) => *slot = empty,
                    _ => return Err(first),
                }
            }
        }
    }
    Err(first)
}

fn at_path<'a>(value: &'a mut Value, path: &serde_path_to_error::Path) -> Option<&'a mut Value> {
    use serde_path_to_error::Segment;
    let mut at = value;
    for segment in path.iter() {
        at = match segment {
            Segment::Seq { index } => at.get_mut(*index)?,
            Segment::Map { key } => at.get_mut(key.as_str())?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Block {
        bls_messages: Vec<String>,
        cids: Vec<Vec<u64>>,
        by_key: BTreeMap<String, Vec<u8>>,
        ticket: Option<String>,
    }

    #[test]
    fn go_nulls_decode_as_empty_lists_and_maps() {
        let b: Block =
            from_str(r#"{"BlsMessages":null,"Cids":[[1],null],"ByKey":{"a":null},"Ticket":null}"#)
                .unwrap();
        assert_eq!(
            b,
            Block {
                bls_messages: vec![],
                cids: vec![vec![1], vec![]],
                by_key: [("a".to_string(), vec![])].into(),
                ticket: None,
            }
        );
        let top: Vec<u64> = from_str("null").unwrap();
        assert!(top.is_empty());
        let m: BTreeMap<String, u8> = from_str("null").unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn other_errors_stay_errors() {
        assert!(from_str::<Vec<u64>>(r#"["x"]"#).is_err());
        assert!(from_str::<u64>("null").is_err());
        let e = from_str::<Block>(r#"{"BlsMessages":null}"#).unwrap_err();
        assert!(e.to_string().contains("invalid type: null"), "{e}");
    }
}
