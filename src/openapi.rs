//! The OpenAPI document: collected from the route declarations, then completed with what every operation shares
//! (the security scheme, the problem responses) so that no route has to repeat it.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, Parameter, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr, ResponseBuilder, ServerBuilder, Tag,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::error::{Problem, RpcErrorInfo, PROBLEM_JSON};
use crate::routes::params::{AtTipset, TIPSET_METHODS};

/// The tags in the order the documentation shows them.
pub const TAGS: &[(&str, &str)] = &[
    (
        "Node",
        "The node's version, network, identity and lifecycle",
    ),
    (
        "Chain",
        "Tipsets, blocks, the head of the chain and IPLD objects",
    ),
    ("Messages", "Messages: sending, finding, and their receipts"),
    (
        "Message pool",
        "Pending messages, nonces, selection and the pool's configuration",
    ),
    ("Gas", "Gas estimation"),
    ("Actors", "Actors, balances and address resolution"),
    (
        "State",
        "Network parameters, supply, state computation, randomness and events",
    ),
    (
        "Miners",
        "Storage providers: info, power, deadlines, partitions, sectors, faults and recoveries",
    ),
    ("Market", "Storage deals, market balances and escrow"),
    (
        "Verified registry",
        "Verifiers, verified clients, allocations and claims",
    ),
    (
        "Wallet",
        "The node's keys: addresses, balances, signing and verification",
    ),
    (
        "Multisig",
        "Multisig wallets: balances, vesting, proposals and signers",
    ),
    ("Payment channels", "Payment channels and vouchers"),
    (
        "Network",
        "Peers, connections, bandwidth, protection and resource limits",
    ),
    ("Sync", "Chain synchronisation and bad blocks"),
    (
        "F3",
        "Fast finality: certificates, power tables and participation",
    ),
    ("Logs", "Log subsystems and levels, and alerts"),
    (
        "Streams",
        "Live head changes, message pool updates and incoming blocks, as Server-Sent Events or NDJSON",
    ),
    ("Auth", "Token creation and verification"),
    (
        "Methods",
        "Which route serves which Lotus method, with the permission it needs",
    ),
    (
        "JSON-RPC",
        "Lotus's own JSON-RPC protocol, with the same tokens and permissions",
    ),
    (
        "Miner",
        "The Lotus miner itself (/v1/miner/, with miner tokens): version, actor and addresses, tokens, logs, \
         backups, withdrawals, proofs and deals",
    ),
    (
        "Miner sectors",
        "The miner's sectors: listing, status, pledging, sealing, upgrades, termination, batches, sector numbers \
         and pieces",
    ),
    (
        "Miner storage",
        "The miner's storage paths, their health, sector locations and locks",
    ),
    (
        "Miner workers",
        "The miner's sealing workers, their jobs and the sealing scheduler",
    ),
    ("Health", "Liveness and readiness of the gateway"),
];

pub const SECURITY_SCHEME: &str = "lotus_token";

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// Adds the standard problem responses an operation can give, unless it declares them itself.
fn add_problems(op: &mut Operation, path: &str) {
    let secured = op
        .security
        .as_ref()
        .is_some_and(|reqs| !reqs.is_empty() && reqs.iter().any(|r| r != &Default::default()));
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || path.contains('{');
    // An error is always a problem document: a Problem body declared without its media type gets it.
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            let is_problem = response.content.get("application/json").is_some_and(|c| {
                matches!(c, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")))
            });
            if is_problem {
                if let Some(content) = response.content.shift_remove("application/json") {
                    response.content.insert(PROBLEM_JSON.to_string(), content);
                }
            }
        }
    }
    let upstream = if path.starts_with("/v1/miner/") {
        "miner"
    } else {
        "node"
    };
    let mut wanted: Vec<(&str, String)> = Vec::new();
    if has_params || op.request_body.is_some() {
        wanted.push(("400", "Invalid parameter, query or body".into()));
    }
    if secured {
        wanted.extend([
            ("401", "Missing, malformed or badly signed token".into()),
            (
                "403",
                "The token lacks the permission this operation needs".into(),
            ),
            (
                "404",
                if upstream == "miner" {
                    "Not found (the sector, path, worker, job or reservation)".into()
                } else {
                    "Not found (the object, the actor, or a null round)".into()
                },
            ),
            (
                "502",
                format!("The Lotus {upstream} is unreachable or answered with an error"),
            ),
            (
                "503",
                format!("The Lotus {upstream} is unavailable, not ready, or not configured"),
            ),
            (
                "504",
                format!("The Lotus {upstream} did not answer in time"),
            ),
        ]);
    }
    for (status, description) in wanted {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem_response(&description));
    }
}

/// A read operation may also be called without a token while anonymous callers get `read`: an empty security
/// requirement says the token is optional.
fn allow_anonymous_reads(op: &mut Operation) {
    let Some(reqs) = op.security.as_mut() else {
        return;
    };
    let read_only = serde_json::to_value(&*reqs).ok().is_some_and(|v| {
        v.as_array().is_some_and(|reqs| {
            reqs.iter()
                .any(|r| r.get(SECURITY_SCHEME) == Some(&serde_json::json!(["read"])))
        })
    });
    if read_only {
        reqs.push(Default::default());
    }
}

/// An operation that takes the tipset to read at ([`AtTipset`]) may call the methods that select it: they are
/// declared here, once, after the route's own methods.
fn add_tipset_methods(op: &mut Operation) {
    let query = |p: &Parameter| (p.parameter_in == ParameterIn::Query).then(|| p.name.clone());
    let taken: Vec<String> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => query(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let selects_tipset = AtTipset::into_params(|| None)
        .iter()
        .filter_map(query)
        .all(|n| taken.contains(&n));
    if !selects_tipset {
        return;
    }
    let extensions = op.extensions.get_or_insert_with(Default::default);
    let methods = extensions
        .entry("x-lotus-methods".to_string())
        .or_insert_with(|| serde_json::json!([]));
    if let Some(list) = methods.as_array_mut() {
        for method in TIPSET_METHODS {
            if !list.iter().any(|m| m == method) {
                list.push(method.into());
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Completes the collected document.
pub fn finish(mut spec: OpenApi, anonymous_read: bool) -> OpenApi {
    spec.info = InfoBuilder::new()
        .title("lotus-rest")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A resource-oriented REST API in front of a Filecoin Lotus node. Every operation maps onto Lotus \
             JSON-RPC methods and needs the Lotus token permission named in its security scope \
             (read < write < sign < admin); tokens made by `lotus auth create-token` work unchanged. \
             Errors are RFC 9457 problem documents with a stable `code`.",
        ))
        .build();
    spec.servers = Some(vec![ServerBuilder::new().url("/").build()]);
    spec.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                let mut tag = Tag::new(*name);
                tag.description = Some(description.to_string());
                tag
            })
            .collect(),
    );
    let components = spec.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        SECURITY_SCHEME.to_string(),
        RefOr::T(SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A Lotus API token (`lotus auth create-token --perm read|write|sign|admin`). \
                     Requests without a token get the anonymous permission (read by default).",
                ))
                .build(),
        )),
    );
    components
        .schemas
        .insert(Problem::name().into_owned(), Problem::schema());
    components
        .schemas
        .insert(RpcErrorInfo::name().into_owned(), RpcErrorInfo::schema());
    // What a null round selects: one component, referred to by every operation reading at a height.
    components.schemas.insert(
        crate::routes::params::NullRound::name().into_owned(),
        crate::routes::params::NullRound::schema(),
    );
    let paths: BTreeMap<String, PathItem> =
        std::mem::take(&mut spec.paths.paths).into_iter().collect();
    for (path, mut item) in paths {
        for op in operations(&mut item) {
            if anonymous_read {
                allow_anonymous_reads(op);
            }
            add_tipset_methods(op);
            add_problems(op, &path);
        }
        spec.paths.paths.insert(path, item);
    }
    spec
}

/// The document as pretty JSON with a trailing newline, as committed in `openapi/openapi.json`.
pub fn to_pretty_json(spec: &OpenApi) -> String {
    // Through a JSON value, whose object keys are in name order: the extensions are kept in a hash map,
    // so printing the spec directly would order them differently from one build to the next.
    let value = serde_json::to_value(spec).expect("the spec serializes");
    let mut text = serde_json::to_string_pretty(&value).expect("the spec serializes");
    text.push('\n');
    text
}
