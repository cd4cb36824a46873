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

/// The `result` of a node's successful reply to call `id`, found without decoding the reply: for a reply written
/// compactly, `{"jsonrpc":"2.0","id":1,"result":…}` with its members in any order (Go's encoding of a map sorts
/// them; serde keeps a struct's order). The result's text is checked to be one JSON value as far as its
/// structure goes (see [`one_value`]); the letters of its numbers and literals, and the escapes in its strings, are
/// left to whoever decodes it.
/// `None` for any other reply (an error, another id, other members, whitespace between members, a result that is
/// not one value): the caller reads those in full.
pub fn quick_result(reply: &str, id: u64) -> Option<&str> {
    let text = reply.trim_end_matches(['\n', '\r', ' ', '\t']);
    let mut rest = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut id_text = itoa::Buffer::new();
    let id_text = id_text.format(id);
    let (mut seen_id, mut seen_version) = (false, false);
    // The members before the result.
    loop {
        if let Some(after) = rest.strip_prefix("\"result\":") {
            rest = after;
            break;
        }
        rest = member(
            rest,
            id_text,
            &mut seen_id,
            &mut seen_version,
            Member::Leading,
        )?;
    }
    // The members after it, from the end.
    while let Some(before) = member(
        rest,
        id_text,
        &mut seen_id,
        &mut seen_version,
        Member::Trailing,
    ) {
        rest = before;
    }
    (seen_id && !rest.is_empty() && one_value(rest.as_bytes())).then_some(rest)
}

#[derive(Clone, Copy)]
enum Member {
    /// `"name":value,` at the start of the text.
    Leading,
    /// `,"name":value` at its end.
    Trailing,
}

/// The text without one `id` (ours) or `jsonrpc` (`2.0`) member at its start or end, each seen at most once.
fn member<'a>(
    text: &'a str,
    id: &str,
    seen_id: &mut bool,
    seen_version: &mut bool,
    at: Member,
) -> Option<&'a str> {
    let strip = |name: &str, value: &str| -> Option<&'a str> {
        match at {
            Member::Leading => text
                .strip_prefix('"')?
                .strip_prefix(name)?
                .strip_prefix("\":")?
                .strip_prefix(value)?
                .strip_prefix(','),
            Member::Trailing => text
                .strip_suffix(value)?
                .strip_suffix("\":")?
                .strip_suffix(name)?
                .strip_suffix('"')?
                .strip_suffix(','),
        }
    };
    if !*seen_id {
        if let Some(rest) = strip("id", id) {
            // `"id":12` is not `"id":1` followed by `2`: what follows the digits was checked (`,`), and what
            // precedes them, from the end (`:`).
            *seen_id = true;
            return Some(rest);
        }
    }
    if !*seen_version {
        if let Some(rest) = strip("jsonrpc", "\"2.0\"") {
            *seen_version = true;
            return Some(rest);
        }
    }
    None
}

/// Deepest nesting [`one_value`] follows; a deeper value is read in full instead.
const MAX_DEPTH: usize = 128;

/// Whether `text` is one JSON value as far as its structure goes: every string closed, every bracket matched by its
/// own kind, and nothing beside the value at its top level (no `,` or `:` outside brackets, no second value after a
/// closed one).
pub fn one_value(text: &[u8]) -> bool {
    let mut open = [0u8; MAX_DEPTH];
    let mut depth = 0usize;
    let mut closed_top = false;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if closed_top && !b.is_ascii_whitespace() {
            return false;
        }
        match b {
            b'"' => {
                // To the closing quote, past escaped characters.
                let mut at = i + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &text[at..]) {
                        Some(j) if text[at + j] == b'\\' => at += j + 2,
                        Some(j) => {
                            at += j;
                            break;
                        }
                        None => return false,
                    }
                    if at >= text.len() {
                        return false;
                    }
                }
                i = at;
                closed_top = depth == 0;
            }
            b'{' | b'[' => {
                if depth == MAX_DEPTH {
                    return false;
                }
                open[depth] = b;
                depth += 1;
            }
            b'}' | b']' => {
                let opener = if b == b'}' { b'{' } else { b'[' };
                if depth == 0 || open[depth - 1] != opener {
                    return false;
                }
                depth -= 1;
                closed_top = depth == 0;
            }
            b',' | b':' if depth == 0 => return false,
            // A space after a number or literal at the top level ends the value.
            b' ' | b'\t' | b'\n' | b'\r' if depth == 0 && i > 0 => {
                closed_top = !text[i - 1].is_ascii_whitespace() || closed_top;
            }
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_found_in_each_shape_nodes_write() {
        for reply in [
            r#"{"id":7,"jsonrpc":"2.0","result":{"Height":10,"Cids":[]}}"#,
            "{\"jsonrpc\":\"2.0\",\"result\":{\"Height\":10,\"Cids\":[]},\"id\":7}\n",
            r#"{"jsonrpc":"2.0","id":7,"result":{"Height":10,"Cids":[]}}"#,
            r#"{"result":{"Height":10,"Cids":[]},"id":7}"#,
        ] {
            assert_eq!(
                quick_result(reply, 7),
                Some(r#"{"Height":10,"Cids":[]}"#),
                "{reply}"
            );
        }
        assert_eq!(
            quick_result(r#"{"id":7,"result":"a \"}\" b\\"}"#, 7),
            Some(r#""a \"}\" b\\""#)
        );
        assert_eq!(quick_result(r#"{"id":7,"result":null}"#, 7), Some("null"));
    }

    /// Forest's answer to `Filecoin.ChainHead` (id 7) at the calibnet genesis, as it wrote it.
    const FOREST_HEAD: &str = r#"{"jsonrpc":"2.0","id":7,"result":{"Cids":[{"/":"bafy2bzacecyaggy24wol5ruvs6qm73gjibs2l2iyhcqmvi7r7a4ph7zx3yqd4"}],"Blocks":[{"Miner":"t00","Ticket":{"VRFProof":"evexpm1I25DFirHObPhTnrUBxwGNE7uVZ+K6IWGTur0="},"ElectionProof":{"VRFProof":null,"WinCount":0},"BeaconEntries":[{"Round":0,"Data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}],"WinPoStProof":null,"Parents":[{"/":"bafyreiaqpwbbyjo4a42saasj36kkrpv4tsherf2e7bvezkert2a7dhonoi"}],"ParentWeight":"0","Height":0,"ParentStateRoot":{"/":"bafy2bzacecgqgzh3gxpariy3mzqb37y2vvxoaw5nwbrlzkhso6owus3zqckwe"},"ParentMessageReceipts":{"/":"bafy2bzacedswlcz5ddgqnyo3sak3jmhmkxashisnlpq6ujgyhe4mlobzpnhs6"},"Messages":{"/":"bafy2bzacecmda75ovposbdateg7eyhwij65zklgyijgcjwynlklmqazpwlhba"},"Timestamp":1667326380,"ForkSignaling":0,"ParentBaseFee":"100000000"}],"Height":0}}"#;

    #[test]
    fn a_real_node_s_reply_gives_the_result_serde_json_reads_in_it() {
        let result = quick_result(FOREST_HEAD, 7).expect("found");
        let full: serde_json::Value = serde_json::from_str(FOREST_HEAD).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(result).unwrap(),
            full["result"]
        );
        assert_eq!(quick_result(FOREST_HEAD, 8), None);
    }

    #[test]
    fn any_other_reply_is_left_to_be_read_in_full() {
        for reply in [
            // Another id, or one whose digits only begin with ours.
            r#"{"id":8,"result":1}"#,
            r#"{"id":77,"result":1}"#,
            r#"{"result":1,"id":77}"#,
            r#"{"result":1,"id":"7"}"#,
            // No id, twice the id, an error, another member, whitespace.
            r#"{"jsonrpc":"2.0","result":1}"#,
            r#"{"id":7,"result":1,"id":7}"#,
            r#"{"id":7,"error":{"code":1,"message":"no"}}"#,
            r#"{"id":7,"result":1,"meta":{}}"#,
            r#"{ "id":7,"result":1}"#,
            r#"{"id": 7,"result":1}"#,
            // A result that is not one value.
            r#"{"id":7,"result":}"#,
            r#"{"id":7,"result":1,"id":8}"#,
            r#"{"id":7,"result":[1,},"id":7}"#,
            r#"{"id":7,"result":{"a":[1}]}"#,
            r#"{"id":7,"result":"open}"#,
            r#"{"id":7,"result":"ends in an escape\"}"#,
            r#"{"id":7,"result":{}{}}"#,
            r#"{"id":7,"result":"a" "b"}"#,
            r#"{"id":7,"result":1 2}"#,
            "not json",
        ] {
            assert_eq!(quick_result(reply, 7), None, "{reply}");
        }
    }

    #[test]
    fn one_value_takes_every_value_serde_json_takes_and_no_text_it_finds_unfinished() {
        // Every arrangement of up to five structural bytes and letters.
        let alphabet: &[u8] = b"[]{}\",:1\\ ";
        let mut text = Vec::new();
        let (mut values, mut unfinished) = (0, 0);
        for n in 1..=5u32 {
            for code in 0..alphabet.len().pow(n) {
                text.clear();
                let mut c = code;
                for _ in 0..n {
                    text.push(alphabet[c % alphabet.len()]);
                    c /= alphabet.len();
                }
                let shown = String::from_utf8_lossy(&text).into_owned();
                match serde_json::from_slice::<serde::de::IgnoredAny>(&text) {
                    Ok(_) => {
                        values += 1;
                        assert!(one_value(&text), "refused {shown}");
                    }
                    // An unclosed string or bracket.
                    Err(e) if e.is_eof() && !text.iter().all(u8::is_ascii_whitespace) => {
                        unfinished += 1;
                        assert!(!one_value(&text), "took {shown}");
                    }
                    Err(_) => {}
                }
            }
        }
        assert!(values > 100 && unfinished > 1000, "{values} {unfinished}");
    }
}
