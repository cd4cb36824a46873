//! Typed path parameters. Each kind of value (an address, a CID, a chain epoch, a tipset key, a sector number, a
//! peer ID, a UUID) is checked once, when the request is extracted, with an error that names the parameter and says
//! what was wrong; and each resource's path type describes itself to the OpenAPI document once. A handler that takes
//! `MinerPath` has a valid address in `path.address` and restates nothing; one that takes `MinerSectorPath` has the
//! address and the sector number.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{KnownFormat, Object, ObjectBuilder, Required, SchemaFormat, Type};

use super::miner::sectors::Batch;
use super::params;
use crate::error::ApiError;
use crate::lotus::address::{parse_cid, Address};
use crate::lotus::miner::DEADLINES;
use crate::lotus::types::Cid;

/// A kind of value given as a path segment: how it is parsed and checked, what it parses to, and its schema.
pub trait PathValue {
    /// What the handler gets.
    type Value: std::fmt::Debug;
    /// Parses the value of the parameter `name`; the error names the parameter.
    fn parse(name: &str, value: &str) -> Result<Self::Value, ApiError>;
    fn schema() -> Object;
}

const ADDRESS_PATTERN: &str = "^[ft][0-4][a-z0-9]*$";
const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

fn string(pattern: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build()
}

/// A non-negative integer, at most `max` when given.
fn integer(max: Option<u64>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(max.map(|m| m as f64))
        .build()
}

/// Declares kinds of path values: what each parses to, how (the error names the parameter), and its schema. A kind
/// is a type of its own (`enum Kind`, that has no values), or a type that is also what it parses to (`for Type`).
macro_rules! path_kinds {
    ($($(#[$doc:meta])* $(enum $kind:ident)? $(for $ty:ty)? => $value:ty, $schema:expr, |$name:tt, $v:ident| $parse:expr;)+) => {$(
        $(#[$doc])*
        $(pub enum $kind {})?
        impl PathValue for $($kind)? $($ty)? {
            type Value = $value;
            fn parse($name: &str, $v: &str) -> Result<$value, ApiError> {
                $parse
            }
            fn schema() -> Object {
                $schema
            }
        }
    )+};
}

path_kinds! {
    /// A Filecoin address, with either network prefix: Lotus and Forest decode both, and the checksum is still
    /// checked.
    for Address => Address, string(ADDRESS_PATTERN), |name, value| Address::parse(value.trim())
        .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter {name})")));
    /// A CID, in Lotus's JSON form `{"/": ..}`.
    for Cid => Cid, string("^[A-Za-z0-9]+$"), |name, value| parse_cid(value.trim())
        .map(Cid::new)
        .map_err(|e| ApiError::invalid_parameter(format!("{e} (parameter {name})")));
    /// A non-negative chain epoch.
    for i64 => i64, integer(None), |name, value| params::height(name, value);
    /// A non-negative integer: an ID, an index, an instance.
    for u64 => u64, integer(None), |name, value| params::unsigned(name, value);
    /// A tipset key given as comma-separated block CIDs.
    for TipsetKey => TipsetKey, string("^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$"),
        |name, value| params::tipset_key(name, value).map(TipsetKey);
    /// A sector number: 0 to `abi.MaxSectorNumber`.
    enum SectorNumber => u64, integer(None), |name, value| super::miner::sector_number(name, value);
    /// The index of one of a proving period's 48 deadlines.
    enum DeadlineIndex => u64, integer(Some(DEADLINES - 1)),
        |_, value| super::miners::number("deadline index", value, DEADLINES - 1);
    /// A libp2p peer ID (base58 multihash, as Lotus prints it).
    enum PeerId => String, string("^[1-9A-HJ-NP-Za-km-z]{46,60}$"), |name, value| super::net::peer_id(name, value);
    /// A UUID: a storage path's ID, a worker's ID, a call's ID.
    enum Uuid => String, string(UUID_PATTERN), |name, value| super::miner::storage::uuid_param(name, value);
    /// A libp2p resource manager scope: `system`, `transient`, `svc:NAME`, `proto:ID` or `peer:PEER_ID`.
    enum Scope => String, string("^(system|transient|svc:.+|proto:.+|peer:.+)$"),
        |_, value| super::net::scope(value, false);
    /// A resource manager scope whose usage is read, or `all`.
    enum StatScope => String, string("^(all|system|transient|svc:.+|proto:.+|peer:.+)$"),
        |_, value| super::net::scope(value, true);
    /// Where randomness is drawn from.
    for Randomness => Randomness, string("^(tickets|beacon)$"), |name, value| match value.trim() {
        "tickets" => Ok(Randomness::Tickets),
        "beacon" => Ok(Randomness::Beacon),
        other => Err(ApiError::invalid_parameter(format!(
            "invalid {name} \"{other}\": expected tickets or beacon"
        ))),
    };
    /// A queued batch of sector messages.
    for Batch => Batch, string("^(precommit|commit|terminate)$"), |name, value| match value {
        "precommit" => Ok(Batch::PreCommit),
        "commit" => Ok(Batch::Commit),
        "terminate" => Ok(Batch::Terminate),
        other => Err(ApiError::invalid_parameter(format!(
            "invalid {name} \"{other}\": expected precommit, commit or terminate (parameter {name})"
        ))),
    };
    /// A log subsystem's name, or `*` for all of them.
    enum Subsystem => String, string("^(\\*|[A-Za-z0-9_./-]+)$"),
        |_, value| super::logs::subsystem_param(value).map(|()| value.to_owned());
    /// The name of a sector number reservation of the miner.
    enum ReservationName => String, string("^[a-zA-Z0-9_-]+$"),
        |_, value| super::miner::sectors::reservation_name(value, None).map(|()| value.to_owned());
}

/// A tipset key, in Lotus's JSON form (a list of CIDs).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct TipsetKey(pub Value);

/// The chain's tickets or the drand beacon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Randomness {
    Tickets,
    Beacon,
}

impl Randomness {
    /// The method of the source: `tickets`' or `beacon`'s.
    pub fn pick<'a>(self, tickets: &'a str, beacon: &'a str) -> &'a str {
        match self {
            Randomness::Tickets => tickets,
            Randomness::Beacon => beacon,
        }
    }
}

/// One segment of the matched path, parsed: the router matched it by name. A refusal says which parameter it was,
/// by its description, when its own words do not already name it.
pub fn segment<T: PathValue>(
    req: &HttpRequest,
    name: &str,
    description: &str,
) -> Result<T::Value, ApiError> {
    T::parse(name, req.match_info().get(name).unwrap_or_default()).map_err(|mut e| {
        if !e.detail.contains("(parameter ") {
            e.detail = format!("{} (parameter {name}: {description})", e.detail);
        }
        e
    })
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

/// Declares the path type of a resource: its parameters, each with its kind, description and example. The type is
/// an extractor that checks every parameter, in order, and describes them to the spec (`IntoParams`); each field
/// holds what its kind parses to.
macro_rules! path_type {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty = $desc:literal, $example:expr);+ $(;)? })+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            $(pub $field: <$ty as PathValue>::Value),+
        }

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = std::future::Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                std::future::ready((|| {
                    Ok($name {
                        $($field: segment::<$ty>(req, stringify!($field), $desc)?),+
                    })
                })())
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
    /// A sector of a storage miner.
    MinerSectorPath {
        address: Address = "The miner's address", "f01000";
        number: SectorNumber = "The sector number", 9
    }
    /// A proving deadline of a storage miner.
    MinerDeadlinePath {
        address: Address = "The miner's address", "f01000";
        index: DeadlineIndex = "The deadline index", 3
    }
    /// A market participant.
    ParticipantPath { address: Address = "The participant's address", "f01234" }
    /// A storage deal.
    DealPath { deal_id: u64 = "The deal's ID", 5432 }
    /// A verifier.
    VerifierPath { address: Address = "The verifier's address", "f0101" }
    /// A verified client.
    ClientPath { address: Address = "The client's address", "f0100" }
    /// An allocation of a verified client.
    AllocationPath {
        address: Address = "The client's address", "f0100";
        id: u64 = "The allocation ID", 4
    }
    /// A claim of a storage provider.
    ClaimPath {
        address: Address = "The provider's address", "f01000";
        id: u64 = "The claim ID", 1
    }
    /// A deal published but not yet activated.
    PendingDealPath { id: u64 = "The deal ID", 5004 }
    /// A multisig wallet.
    MsigPath { address: Address = "A multisig wallet's address", "f02000" }
    /// A pending transaction of a multisig wallet: a proposal, a signer addition or a signer swap.
    MsigTxnPath {
        address: Address = "A multisig wallet's address", "f02000";
        id: u64 = "The pending transaction's ID", 0
    }
    /// A signer of a multisig wallet.
    MsigSignerPath {
        address: Address = "A multisig wallet's address", "f02000";
        signer: Address = "The signer", "f01236"
    }
    /// A payment channel.
    ChannelPath { channel: Address = "The channel's address", "f01100" }
    /// The two parties of a payment channel.
    PartiesPath {
        from: Address = "The payer", "f0100";
        to: Address = "The payee", "f0101"
    }
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
    /// An events AMT root.
    EventsRootPath {
        cid: Cid = "The root CID of the events AMT", "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4"
    }
    /// A source of randomness.
    RandomnessPath { source: Randomness = "`tickets` or `beacon`", "beacon" }
    /// A log subsystem of the node.
    SubsystemPath { subsystem: Subsystem = "A subsystem name, or * for all", "chain" }
    /// A log subsystem of the miner.
    MinerSubsystemPath { subsystem: Subsystem = "A subsystem name, or * for all", "sectors" }
    /// A sector of the miner.
    SectorPath { number: SectorNumber = "The sector number", 9 }
    /// Where the miner stores a sector: a sector and one of the miner's storage paths.
    SectorLocationPath {
        number: SectorNumber = "The sector number", 9;
        id: Uuid = "The path's ID", "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8"
    }
    /// A storage path of the miner.
    StorageIdPath { id: Uuid = "The path's ID", "76f1988b-ef30-4d7e-b3ec-9a627f4ba5a8" }
    /// A worker of the miner.
    WorkerPath { id: Uuid = "The worker's ID", "ef8d99a2-6865-4189-8ffa-9fef0f806eee" }
    /// A job of the miner's workers.
    JobPath { id: Uuid = "The job's call ID", "76081ba0-61bd-45a5-bc08-af05f1c26e5d" }
    /// A request waiting in the miner's scheduler.
    SchedRequestPath { id: Uuid = "The request's SchedId", "07070707-0707-0707-0707-070707070707" }
    /// A queued batch of sector messages.
    BatchPath { kind: Batch = "The batch: precommit, commit or terminate", "precommit" }
    /// A sector number reservation of the miner.
    ReservationPath { name: ReservationName = "The reservation's name", "snap-batch" }
    /// A connected or known peer.
    PeerPath { peer_id: PeerId = "A libp2p peer ID", "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf" }
    /// A resource manager scope.
    ScopePath { scope: Scope = "system, transient, svc:NAME, proto:PROTOCOL or peer:PEER_ID", "system" }
    /// A resource manager scope, or all of them.
    StatScopePath {
        scope: StatScope = "all, system, transient, svc:NAME, proto:PROTOCOL or peer:PEER_ID", "all"
    }
    /// A GPBFT instance of F3.
    InstancePath { instance: u64 = "A GPBFT instance", 42 }
    /// A tipset, by its key.
    TipsetPath {
        key: TipsetKey = "The tipset key: its block CIDs, separated by commas", "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"
    }
    /// A tipset, by its height.
    HeightPath { height: i64 = "The chain epoch", 100 }
    /// A chain epoch.
    EpochPath { epoch: i64 = "A chain epoch", 100 }
}
