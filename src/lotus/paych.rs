//! Payment channel vouchers, as Lotus's JSON shows them (`paych.SignedVoucher`, `api.VoucherSpec`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::amount::Amount;
use super::types::Signature;

/// Extra validation a voucher asks the channel actor to make: a call to another actor that must succeed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ModVerifyParams {
    /// The actor to call.
    #[schema(example = "f01234")]
    pub actor: String,
    /// The method to call.
    #[schema(example = 1)]
    pub method: u64,
    /// The method's parameters, base64.
    #[serde(default)]
    #[schema(format = Byte, example = "")]
    pub data: Option<String>,
}

/// A lane's nonce merged into a voucher's lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Merge {
    #[schema(example = 1)]
    pub lane: u64,
    #[schema(example = 3)]
    pub nonce: u64,
}

/// A voucher signed by the channel's payer (Lotus's `paych.SignedVoucher`). `Amount` is the total the voucher's
/// lane pays out so far, not an increment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SignedVoucher {
    /// The payment channel the voucher is for.
    #[schema(example = "f01100")]
    pub channel_addr: String,
    /// The voucher is redeemable from this epoch on (0: at once).
    #[serde(default)]
    #[schema(example = 0)]
    pub time_lock_min: i64,
    /// The voucher is redeemable until this epoch (0: no limit).
    #[serde(default)]
    #[schema(example = 0)]
    pub time_lock_max: i64,
    /// The hash of a secret the redeemer must reveal, base64; absent when none.
    #[serde(default)]
    #[schema(format = Byte)]
    pub secret_hash: Option<String>,
    /// A call the channel actor makes to validate the voucher; absent when none.
    #[serde(default)]
    pub extra: Option<ModVerifyParams>,
    /// The lane.
    #[schema(example = 0)]
    pub lane: u64,
    /// The voucher's nonce in its lane: a later voucher has a higher one.
    #[schema(example = 1)]
    pub nonce: u64,
    /// The total the lane pays out with this voucher.
    pub amount: Amount,
    /// The channel cannot be collected before this epoch once the voucher is redeemed.
    #[serde(default)]
    #[schema(example = 0)]
    pub min_settle_height: i64,
    /// Other lanes merged into this one; absent when none.
    #[serde(default)]
    pub merges: Option<Vec<Merge>>,
    /// The payer's signature over the voucher.
    pub signature: Option<Signature>,
}

/// One voucher of a payment.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct VoucherSpec {
    /// The voucher's amount.
    pub amount: Amount,
    /// Redeemable from this epoch on.
    #[serde(default)]
    #[schema(example = 0)]
    pub time_lock_min: i64,
    /// Redeemable until this epoch (0: no limit).
    #[serde(default)]
    #[schema(example = 0)]
    pub time_lock_max: i64,
    /// The channel cannot be collected before this epoch once the voucher is redeemed.
    #[serde(default)]
    #[schema(example = 0)]
    pub min_settle: i64,
    /// A call that must succeed for the voucher to be redeemed.
    #[serde(default)]
    pub extra: Option<ModVerifyParams>,
}
