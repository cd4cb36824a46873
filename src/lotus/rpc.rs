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
/// closed one); a backslash outside a string is refused.
///
/// An object or array, what nodes answer with, is read 64 bytes at a time (see [`bracketed`]); any other value
/// byte by byte.
pub fn one_value(text: &[u8]) -> bool {
    match text.first() {
        Some(b'{' | b'[') => bracketed(text),
        _ => bytewise(text),
    }
}

/// [`one_value`], one byte after the other.
fn bytewise(text: &[u8]) -> bool {
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
            b'\\' => return false,
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

/// [`one_value`] for a text that begins with `{` or `[`, 64 bytes at a time: each block's quotes, backslashes and
/// brackets become bit masks (one bit a byte); the escaped characters follow from the runs of backslashes, the
/// bytes inside strings from the unescaped quotes (a running XOR: inside from an opening quote to its closing one),
/// and only the brackets outside strings are then looked at, one by one. The value ends where its first bracket is
/// closed; only whitespace may follow.
fn bracketed(text: &[u8]) -> bool {
    // The open brackets, innermost in the lowest bit: 1 for `{`, 0 for `[`.
    let mut stack: u128 = 0;
    let mut depth = 0usize;
    // Whether the previous block's last byte escapes this block's first; all ones when it ended inside a string.
    let (mut carried_escape, mut carried_string) = (0u64, 0u64);
    let mut last = [b' '; 64];
    let mut base = 0;
    while base < text.len() {
        let block: &[u8; 64] = match text[base..].first_chunk() {
            Some(block) => block,
            None => {
                let rest = &text[base..];
                last[..rest.len()].copy_from_slice(rest);
                &last
            }
        };
        let masks = classify(block);
        let escaped = if masks.backslashes == 0 && carried_escape == 0 {
            0
        } else {
            escaped_bytes(masks.backslashes, &mut carried_escape)
        };
        let in_string = prefix_xor(masks.quotes & !escaped) ^ carried_string;
        carried_string = ((in_string as i64) >> 63) as u64;
        if masks.backslashes & !in_string != 0 {
            return false;
        }
        let mut brackets = masks.brackets & !in_string;
        while brackets != 0 {
            let at = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            let b = block[at];
            let brace = u128::from(b & 0x20 != 0);
            if b & 0x04 == 0 {
                if depth == MAX_DEPTH {
                    return false;
                }
                stack = stack << 1 | brace;
                depth += 1;
            } else {
                if depth == 0 || stack & 1 != brace {
                    return false;
                }
                stack >>= 1;
                depth -= 1;
                if depth == 0 {
                    return text[base + at + 1..].iter().all(u8::is_ascii_whitespace);
                }
            }
        }
        base += 64;
    }
    false
}

/// One bit a byte of a 64-byte block.
#[derive(Debug, PartialEq)]
struct Masks {
    quotes: u64,
    backslashes: u64,
    /// `{`, `}`, `[` and `]`.
    brackets: u64,
}

/// The block's masks, 16 bytes at a time (SSE2, which every x86-64 processor has).
#[cfg(target_arch = "x86_64")]
fn classify(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let (mut quotes, mut backslashes, mut brackets) = (0u64, 0u64, 0u64);
    // SAFETY: SSE2 is part of x86-64; each load reads 16 bytes inside the 64-byte block.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        // `[` and `]` with bit 5 set are `{` and `}`.
        let bit5 = _mm_set1_epi8(0x20);
        let (open, close) = (_mm_set1_epi8(b'{' as i8), _mm_set1_epi8(b'}' as i8));
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let folded = _mm_or_si128(v, bit5);
            let bracket = _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close));
            let mask = |m: __m128i| u64::from(_mm_movemask_epi8(m) as u16) << (16 * k);
            quotes |= mask(_mm_cmpeq_epi8(v, quote));
            backslashes |= mask(_mm_cmpeq_epi8(v, backslash));
            brackets |= mask(bracket);
        }
    }
    Masks {
        quotes,
        backslashes,
        brackets,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn classify(block: &[u8; 64]) -> Masks {
    classify_bytewise(block)
}

/// The block's masks, one byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_bytewise(block: &[u8; 64]) -> Masks {
    let mut masks = Masks {
        quotes: 0,
        backslashes: 0,
        brackets: 0,
    };
    for (i, b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => masks.quotes |= bit,
            b'\\' => masks.backslashes |= bit,
            b'{' | b'}' | b'[' | b']' => masks.brackets |= bit,
            _ => {}
        }
    }
    masks
}

/// The bytes escaped by a backslash: the byte after each run of backslashes of odd length (a run of even length
/// escapes only itself), runs carried from one block to the next.
fn escaped_bytes(backslashes: u64, carried: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    // A backslash escaped by the previous block's last one starts no run.
    let backslashes = backslashes & !*carried;
    let follows_escape = backslashes << 1 | *carried;
    // Runs starting on an odd bit, added to the backslashes: the carry runs through each run and lands after it.
    let odd_starts = backslashes & !EVEN & !follows_escape;
    let (sum, overflow) = odd_starts.overflowing_add(backslashes);
    *carried = u64::from(overflow);
    // After a run, bits of the other parity than its start are escaped.
    (EVEN ^ (sum << 1)) & follows_escape
}

/// Each bit the XOR of itself and every lower bit.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
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

    /// A small generator of its own, so that every run tries the same texts.
    struct Xorshift(u64);

    impl Xorshift {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// A random JSON value: strings with escapes, quotes and brackets in them, runs of backslashes, nesting.
    fn value(rng: &mut Xorshift, depth: usize, out: &mut Vec<u8>) {
        match rng.below(if depth > 6 { 3 } else { 6 }) {
            0 => out.extend_from_slice(b"12"),
            1 | 2 => {
                out.push(b'"');
                for _ in 0..rng.below(40) {
                    match rng.below(8) {
                        0 => out.extend_from_slice(b"\\\""),
                        1 => {
                            for _ in 0..2 * rng.below(4) {
                                out.push(b'\\');
                            }
                        }
                        2 => out.extend_from_slice(b"{]:,"),
                        _ => out.push(b'a' + rng.below(26) as u8),
                    }
                }
                out.push(b'"');
            }
            3 | 4 => {
                out.push(b'[');
                for i in 0..rng.below(5) {
                    if i > 0 {
                        out.push(b',');
                    }
                    value(rng, depth + 1, out);
                }
                out.push(b']');
            }
            _ => {
                out.push(b'{');
                for i in 0..rng.below(5) {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(format!("\"k{i}\":").as_bytes());
                    value(rng, depth + 1, out);
                }
                out.push(b'}');
            }
        }
    }

    #[test]
    fn a_block_s_masks_are_the_same_whichever_way_they_are_made() {
        let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"\"\\{}[]a ,:\x7b\x5b\xfb\xdb\x7d";
        for _ in 0..20_000 {
            let block: [u8; 64] = std::array::from_fn(|_| alphabet[rng.below(alphabet.len())]);
            assert_eq!(classify(&block), classify_bytewise(&block), "{block:?}");
        }
    }

    #[test]
    fn objects_and_arrays_read_by_blocks_are_judged_as_byte_by_byte() {
        let mut rng = Xorshift(0x2545_f491_4f6c_dd1d);
        let (mut taken, mut refused) = (0, 0);
        let mut text = Vec::new();
        for round in 0..30_000 {
            text.clear();
            while text.len() < 2 {
                text.clear();
                value(&mut rng, 0, &mut text);
                if !matches!(text[0], b'{' | b'[') {
                    text.clear();
                }
            }
            // Every value is taken, as serde_json reads it.
            serde_json::from_slice::<serde::de::IgnoredAny>(&text).unwrap();
            assert!(one_value(&text), "{}", String::from_utf8_lossy(&text));
            // Then one change (a byte replaced, cut off, or something after it) must be judged the same both ways.
            match round % 4 {
                0 => {
                    let at = rng.below(text.len());
                    text[at] = b"\"\\{}[] ,x"[rng.below(9)];
                }
                1 => text.truncate(rng.below(text.len())),
                2 => text.extend_from_slice([&b"  "[..], b"1", b" ]", b"\\", b"{}"][rng.below(5)]),
                _ => {
                    let at = rng.below(text.len());
                    text.insert(at, b'\\');
                }
            }
            if text.first().is_some_and(|b| matches!(b, b'{' | b'[')) {
                let by_blocks = one_value(&text);
                assert_eq!(
                    by_blocks,
                    bytewise(&text),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
                if by_blocks {
                    taken += 1;
                } else {
                    refused += 1;
                }
            }
        }
        assert!(taken > 1_000 && refused > 1_000, "{taken} {refused}");
    }

    #[test]
    fn runs_of_backslashes_across_blocks_escape_as_their_length_says() {
        // A string whose run of backslashes ends just before or after a block's edge, then a quote.
        for before in 50..70 {
            for run in 0..6 {
                let mut text = vec![b'['; 1];
                text.push(b'"');
                text.resize(before, b'a');
                text.extend(std::iter::repeat_n(b'\\', run));
                text.extend_from_slice(b"\"]");
                let closed = run % 2 == 0;
                assert_eq!(one_value(&text), closed, "{before} {run}");
                assert_eq!(
                    serde_json::from_slice::<serde::de::IgnoredAny>(&text).is_ok(),
                    closed
                );
            }
        }
        // Nested deeper than the check follows: left to the full reader.
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(!one_value(deep.as_bytes()));
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(one_value(deep.as_bytes()));
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
