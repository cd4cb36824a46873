//! Path and query parameters shared by the routes, validated before anything is sent upstream.

use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::lotus::address::{parse_cid, Address};
use crate::state::AppState;

/// Checks a CID given in the path or query.
pub fn cid(name: &str, value: &str) -> Result<Value, ApiError> {
    let cid = parse_cid(value.trim())
        .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter {name})")))?;
    Ok(json!({ "/": cid }))
}

/// Checks a Filecoin address given in the query or a body. Either network prefix is accepted, whatever the node's
/// network: Lotus and Forest decode both.
pub fn address(name: &str, value: &str) -> Result<String, ApiError> {
    Address::parse(value.trim())
        .map(|a| a.to_string())
        .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter {name})")))
}

/// Parses a non-negative chain epoch.
pub fn height(name: &str, value: &str) -> Result<i64, ApiError> {
    let digits = value.trim();
    digits
        .parse::<i64>()
        .ok()
        .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "invalid {name} \"{value}\": expected a non-negative integer chain epoch"
            ))
        })
}

/// Parses a non-negative integer parameter.
pub fn unsigned(name: &str, value: &str) -> Result<u64, ApiError> {
    let text = value.trim();
    text.parse::<u64>()
        .ok()
        .filter(|_| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "invalid {name} \"{value}\": expected a non-negative integer"
            ))
        })
}

/// A tipset key given as comma-separated block CIDs.
pub fn tipset_key(name: &str, value: &str) -> Result<Value, ApiError> {
    let cids: Vec<&str> = value.split(',').map(str::trim).collect();
    if cids.iter().any(|c| c.is_empty()) {
        return Err(ApiError::invalid_parameter(format!(
            "invalid {name} \"{value}\": expected one or more block CIDs separated by commas"
        )));
    }
    Ok(Value::Array(
        cids.into_iter()
            .map(|c| cid(name, c))
            .collect::<Result<_, _>>()?,
    ))
}

/// The tipset a state read is made at: `height` or `tipset`, default the head.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtTipset {
    /// Read at the tipset at this height. A null round is refused with 404 unless `null_round` says otherwise.
    /// Exclusive with `tipset`.
    #[param(value_type = Option<u64>, minimum = 0, example = 100)]
    pub height: Option<String>,
    /// What a `height` that is a null round reads at: `error` (the default: 404 null_round), `previous` (the
    /// nearest earlier tipset) or `next` (the nearest later one).
    #[param(value_type = Option<NullRound>, example = "previous")]
    pub null_round: Option<String>,
    /// Read at the tipset with this key: its block CIDs, separated by commas. Exclusive with `height`.
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")]
    pub tipset: Option<String>,
}

/// The Lotus methods that selecting a tipset with [`AtTipset`] may call. The OpenAPI document adds them to the
/// `x-lotus-methods` of every operation that takes `AtTipset`, so no route lists them.
pub const TIPSET_METHODS: [&str; 4] = [
    "Filecoin.ChainGetTipSetByHeight",
    "Filecoin.ChainGetTipSetAfterHeight",
    "Filecoin.ChainGetTipSet",
    "Filecoin.ChainHead",
];

/// How many epochs back the chain is final: a height that deep always maps to the same tipset.
pub use crate::lotus::history::FINALITY;

/// A tipset key to read state at, and whether what is read there can ever change.
pub struct Resolved {
    pub key: Value,
    /// True for an explicit tipset key (state at a given tipset never changes) or a height beyond finality.
    pub immutable: bool,
}

pub use crate::lotus::types::HeightOnly;

/// What a height that is a null round selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NullRound {
    /// Refuse with 404 `null_round`.
    #[default]
    Error,
    /// The nearest earlier tipset.
    Previous,
    /// The nearest later tipset.
    Next,
}

impl NullRound {
    pub fn parse(value: Option<&str>) -> Result<NullRound, ApiError> {
        match value.map(str::trim) {
            None | Some("error") => Ok(NullRound::Error),
            Some("previous") => Ok(NullRound::Previous),
            Some("next") => Ok(NullRound::Next),
            Some(other) => Err(ApiError::invalid_parameter(format!(
                "invalid null_round \"{other}\": expected error, previous or next"
            ))),
        }
    }
}

impl AtTipset {
    /// Resolves the selection to the tipset key Lotus takes (`[]` for the head).
    pub async fn key(&self, state: &AppState, caller: &Caller) -> Result<Resolved, ApiError> {
        match (&self.height, &self.tipset) {
            (Some(_), Some(_)) => Err(ApiError::invalid_parameter(
                "give either height or tipset, not both",
            )),
            (None, _) if self.null_round.is_some() => Err(ApiError::invalid_parameter(
                "null_round applies to a height: give it with height",
            )),
            (None, None) => Ok(Resolved {
                key: json!([]),
                immutable: false,
            }),
            (None, Some(key)) => {
                let key = tipset_key("tipset", key)?;
                if state.limits.max_lookback > 0 {
                    let ts = state
                        .node
                        .call_read(caller, "Filecoin.ChainGetTipSet", json!([key]), true)
                        .await?;
                    let found: HeightOnly = crate::routes::decode("Filecoin.ChainGetTipSet", &ts)?;
                    check_lookback(state, caller, found.height).await?;
                }
                Ok(Resolved {
                    key,
                    immutable: true,
                })
            }
            (Some(h), None) => {
                let h = height("height", h)?;
                let policy = NullRound::parse(self.null_round.as_deref())?;
                let (ts, immutable) = tipset_at_height_with(state, caller, h, policy).await?;
                let key: TipsetKeyOnly = serde_json::from_str(&ts).map_err(|e| {
                    ApiError::new(
                        Code::UpstreamBadResponse,
                        format!("the Lotus node's tipset has no usable Cids: {e}"),
                    )
                })?;
                Ok(Resolved {
                    key: key.cids,
                    immutable,
                })
            }
        }
    }
}

#[derive(Deserialize)]
struct TipsetKeyOnly {
    #[serde(rename = "Cids")]
    cids: Value,
}

/// Fetches the tipset at `height`, refusing null rounds: Lotus answers them with the previous tipset, which would
/// silently give the caller something other than what was asked for. Also says whether the answer is final.
pub async fn tipset_at_height(
    state: &AppState,
    caller: &Caller,
    height: i64,
) -> Result<(std::sync::Arc<str>, bool), ApiError> {
    tipset_at_height_with(state, caller, height, NullRound::Error).await
}

/// Fetches the tipset at `height`; a null round is refused, or gives the nearest earlier or later tipset, as
/// `policy` says. Also says whether the answer is final.
pub async fn tipset_at_height_with(
    state: &AppState,
    caller: &Caller,
    height: i64,
    policy: NullRound,
) -> Result<(std::sync::Arc<str>, bool), ApiError> {
    check_lookback(state, caller, height).await?;
    if policy == NullRound::Next {
        // The tipset found is at `height` or later (a height near i64::MAX must not overflow here).
        let immutable = state.head.is_final(height.saturating_add(1));
        let raw = state
            .node
            .call_read(
                caller,
                "Filecoin.ChainGetTipSetAfterHeight",
                json!([height, []]),
                immutable,
            )
            .await
            .map_err(|mut e| {
                if e.code == Code::InvalidParameter {
                    e.detail = format!("height {height} is beyond the current head of the chain");
                }
                e
            })?;
        let found: HeightOnly = crate::routes::decode("Filecoin.ChainGetTipSetAfterHeight", &raw)?;
        if found.height < height {
            return Err(ApiError::invalid_parameter(format!(
                "height {height} is beyond the current head of the chain"
            )));
        }
        return Ok((raw, state.head.is_final(found.height)));
    }
    let immutable = state.head.is_final(height);
    let raw = state
        .node
        .call_read(
            caller,
            "Filecoin.ChainGetTipSetByHeight",
            json!([height, []]),
            immutable,
        )
        .await
        .map_err(|mut e| {
            if e.code == Code::InvalidParameter {
                e.detail = format!("height {height} is beyond the current head of the chain");
            }
            e
        })?;
    let found: HeightOnly = serde_json::from_str(&raw).map_err(|e| {
        ApiError::new(
            Code::UpstreamBadResponse,
            format!("the Lotus node's tipset has no usable Height: {e}"),
        )
    })?;
    if found.height != height && policy == NullRound::Error {
        return Err(ApiError::new(
            Code::NullRound,
            format!(
                "height {height} is a null round: no blocks were produced at it; the nearest earlier tipset is at height {}",
                found.height
            ),
        ));
    }
    Ok((raw, immutable))
}

/// Refuses reads further below the head than `[Chain] MaxLookback` allows.
pub async fn check_lookback(
    state: &AppState,
    caller: &Caller,
    height: i64,
) -> Result<(), ApiError> {
    let cap = state.limits.max_lookback;
    if cap <= 0 {
        return Ok(());
    }
    let head = match state.head.height() {
        Some(h) => h,
        None => {
            let head = state
                .node
                .call_read(caller, "Filecoin.ChainHead", json!([]), false)
                .await?;
            let head: HeightOnly = crate::routes::decode("Filecoin.ChainHead", &head)?;
            state.head.observe(head.height);
            head.height
        }
    };
    let oldest = head - cap;
    if height < oldest {
        return Err(ApiError::invalid_parameter(format!(
            "height {height} is more than {cap} epochs below the head ({head}): this gateway serves tipsets and state \
             back to height {oldest} only ([Chain] MaxLookback)"
        )));
    }
    Ok(())
}
