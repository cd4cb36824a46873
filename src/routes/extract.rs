//! Typed path parameters. Each kind of value (an address, a CID, a chain epoch, a tipset key) is checked once, when
//! the request is extracted, with an error that names the parameter and says what was wrong; and each resource's
//! path type describes itself to the OpenAPI document once. A handler that takes `MinerPath` has a valid address in
//! `path.address` and restates nothing.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{Object, ObjectBuilder, Required, Type};

use super::params;
use crate::error::ApiError;
use crate::lotus::address::{parse_cid, Address};
use crate::lotus::types::Cid;

/// A value given as a path segment: how it is parsed and checked, and its schema.
pub trait PathValue: Sized {
    /// Parses the value of the parameter `name`; the error names the parameter.
    fn parse(name: &str, value: &str) -> Result<Self, ApiError>;
    fn schema() -> Object;
}

const ADDRESS_PATTERN: &str = "^[ft][0-4][a-z0-9]*$";

fn string(pattern: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build()
}

fn epoch() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .build()
}

/// A Filecoin address, with either network prefix: Lotus and Forest decode both, and the checksum is still checked.
impl PathValue for Address {
    fn parse(name: &str, value: &str) -> Result<Self, ApiError> {
        Address::parse(value.trim())
            .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter {name})")))
    }
    fn schema() -> Object {
        string(ADDRESS_PATTERN)
    }
}

/// A CID, in Lotus's JSON form `{"/": ..}`.
impl PathValue for Cid {
    fn parse(name: &str, value: &str) -> Result<Self, ApiError> {
        parse_cid(value.trim())
            .map(Cid::new)
            .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter {name})")))
    }
    fn schema() -> Object {
        string("^[A-Za-z0-9]+$")
    }
}

/// A non-negative chain epoch.
impl PathValue for i64 {
    fn parse(name: &str, value: &str) -> Result<Self, ApiError> {
        params::height(name, value)
    }
    fn schema() -> Object {
        epoch()
    }
}

/// A tipset key given as comma-separated block CIDs, in Lotus's JSON form (a list of CIDs).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct TipsetKey(pub Value);

impl PathValue for TipsetKey {
    fn parse(name: &str, value: &str) -> Result<Self, ApiError> {
        params::tipset_key(name, value).map(TipsetKey)
    }
    fn schema() -> Object {
        string("^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")
    }
}

/// The segments of the matched path, by name, as the router matched them.
pub fn segments(req: &HttpRequest) -> Result<HashMap<String, String>, ApiError> {
    Ok(req
        .match_info()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

/// One segment, parsed.
pub fn segment<T: PathValue>(
    segments: &HashMap<String, String>,
    name: &str,
) -> Result<T, ApiError> {
    let value = segments.get(name).map(String::as_str).unwrap_or_default();
    T::parse(name, value)
}

/// The OpenAPI description of one path parameter.
pub fn describe<T: PathValue>(name: &str, description: &str, example: Value) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(T::schema()))
        .example(Some(example))
        .build()
}

/// Declares the path type of a resource: its parameters, each with its type, description and example.
/// The type is an extractor that checks every parameter, and describes them to the spec (`IntoParams`).
macro_rules! path_type {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty = $desc:literal, $example:expr);+ $(;)? })+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            $(pub $field: $ty),+
        }

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = std::future::Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                std::future::ready(segments(req).and_then(|s| {
                    Ok($name {
                        $($field: segment(&s, stringify!($field))?),+
                    })
                }))
            }
        }

        impl utoipa::IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![$(describe::<$ty>(stringify!($field), $desc, serde_json::json!($example))),+]
            }
        }
    )+};
}

path_type! {
    /// An actor, by any of its addresses.
    ActorPath { address: Address = "A Filecoin address", "f01234" }
    /// An address to resolve or look up, by its key address.
    KeyAddressPath { address: Address = "A Filecoin address", "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za" }
    /// An actor whose state is read.
    ActorStatePath { address: Address = "A Filecoin address", "f01000" }
    /// A storage miner (or provider).
    MinerPath { address: Address = "The miner's address", "f01000" }
    /// A market participant.
    ParticipantPath { address: Address = "The participant's address", "f01234" }
    /// A verifier.
    VerifierPath { address: Address = "The verifier's address", "f0101" }
    /// A verified client.
    ClientPath { address: Address = "The client's address", "f0100" }
    /// A multisig wallet.
    MsigPath { address: Address = "A multisig wallet's address", "f02000" }
    /// The sender of pending messages.
    SenderPath { address: Address = "The sender", "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za" }
    /// A key of the node's wallet.
    WalletKeyPath { address: Address = "A key address", "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za" }
    /// A block.
    BlockPath { cid: Cid = "The block's CID", "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c" }
    /// A block marked bad.
    BadBlockPath { cid: Cid = "The block's CID", "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve" }
    /// An IPLD object.
    ObjectPath { cid: Cid = "The object's CID", "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c" }
    /// A message.
    MessagePath { cid: Cid = "The message's CID", "bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s" }
    /// A deal proposal.
    ProposalPath { cid: Cid = "The CID of the deal proposal", "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4" }
    /// The message creating or funding a payment channel.
    WaitSentinelPath {
        cid: Cid = "The CID of the message (a `WaitSentinel`)", "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"
    }
    /// An actor type, by its code CID.
    ActorCodePath { code: Cid = "The actor type's code CID", "bafk2bzacedudbf7fc5va57t3tmo63snmt3en4iaidv4vo3qlyacbxaa6hlx6y" }
    /// A tipset, by its key.
    TipsetPath {
        key: TipsetKey = "The tipset key: its block CIDs, separated by commas", "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"
    }
    /// A tipset, by its height.
    HeightPath { height: i64 = "The chain epoch", 100 }
    /// A chain epoch.
    EpochPath { epoch: i64 = "A chain epoch", 100 }
}
