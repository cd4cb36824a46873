//! Writing JSON the way a node written in Go does.
//!
//! Lotus holds empty lists as nil slices and empty byte strings as nil byte slices, and Go's `encoding/json` writes
//! both as `null`; an absent struct is a nil pointer, `null` too. A node in this mode answers like that everywhere,
//! so that the gateway is tested against the shapes real nodes send, not only the tidy ones.

use serde_json::Value;

/// Fields that hold bytes (base64 in JSON): empty, Go writes them as `null`.
const BYTE_FIELDS: &[&str] = &[
    "Params",
    "VRFProof",
    "Data",
    "ProofBytes",
    "Return",
    "Proof",
];

/// Rewrites `value` in place: every empty array and every empty byte string of a byte field becomes `null`.
pub fn shape(value: &mut Value) {
    match value {
        Value::Array(items) if items.is_empty() => *value = Value::Null,
        Value::Array(items) => items.iter_mut().for_each(shape),
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if field.as_str() == Some("") && BYTE_FIELDS.contains(&name.as_str()) {
                    *field = Value::Null;
                } else {
                    shape(field);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_lists_and_byte_strings_are_null_as_go_writes_them() {
        let mut v = json!({"BlsMessages": [], "Cids": [[]], "Params": "", "Label": "",
            "ElectionProof": {"VRFProof": "", "WinCount": 0}, "Keep": [1]});
        shape(&mut v);
        assert_eq!(
            v,
            json!({"BlsMessages": null, "Cids": [null], "Params": null, "Label": "",
                "ElectionProof": {"VRFProof": null, "WinCount": 0}, "Keep": [1]})
        );
        let mut top = json!([]);
        shape(&mut top);
        assert_eq!(top, Value::Null);
    }
}
