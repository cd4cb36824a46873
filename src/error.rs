//! The one error type of the gateway. Every error it emits is RFC 9457 `application/problem+json` with a stable
//! snake_case `code`; each code has one HTTP status and title, kept in one table.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lotus::rpc::RpcError;
use crate::lotus::{Perm, PermSet};

macro_rules! error_codes {
    ($($variant:ident = ($code:literal, $status:literal, $title:literal, $doc:literal);)*) => {
        /// A stable error code. Clients can match on its string form.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $(#[doc = $doc] $variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::from_u16($status).expect("valid status"),)*
                }
            }

            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

error_codes! {
    InvalidParameter = ("invalid_parameter", 400, "Invalid parameter", "A path or query parameter does not have the expected syntax or range.");
    InvalidQuery = ("invalid_query", 400, "Invalid query string", "The query string could not be parsed or has an unknown parameter.");
    InvalidBody = ("invalid_body", 400, "Invalid request body", "The request body is not valid JSON of the expected shape.");
    InvalidRequest = ("invalid_request", 400, "Invalid request", "The request is malformed.");
    Unauthorized = ("unauthorized", 401, "Unauthorized", "The token is missing where one is required, malformed, not HS256 or badly signed.");
    Forbidden = ("insufficient_permission", 403, "Insufficient permission", "The token is valid but lacks the permission this operation needs.");
    OperationDisabled = ("operation_disabled", 403, "Operation disabled", "This gateway is in public mode and serves read operations only.");
    UpstreamForbidden = ("upstream_forbidden", 403, "Refused by the Lotus node", "The Lotus node refused the call for lack of permission.");
    RouteNotFound = ("route_not_found", 404, "Not found", "No route matches this path.");
    NotFound = ("not_found", 404, "Not found", "The Lotus node does not have the requested object.");
    ActorNotFound = ("actor_not_found", 404, "Actor not found", "No actor exists at this address in the state read.");
    MessageNotFound = ("message_not_found", 404, "Message not found", "The message has not been found on chain (yet).");
    NullRound = ("null_round", 404, "Null round", "No tipset was produced at this height: it is a null round.");
    Conflict = ("conflict", 409, "Conflict", "The request is well formed but conflicts with the node's current state (funds not reserved, a file that exists, a blocked peer).");
    MethodNotAllowed = ("method_not_allowed", 405, "Method not allowed", "The route exists but not with this HTTP method.");
    NotAcceptable = ("not_acceptable", 406, "Not acceptable", "The requested media type cannot be produced.");
    HeadersTooLarge = ("headers_too_large", 431, "Request headers too large", "The request's headers exceed the configured limit.");
    PayloadTooLarge = ("payload_too_large", 413, "Payload too large", "The request body exceeds the configured limit.");
    UnsupportedMediaType = ("unsupported_media_type", 415, "Unsupported media type", "The request body must be application/json.");
    RateLimited = ("rate_limited", 429, "Too many requests", "The token or client address has used up its rate limit; retry after Retry-After seconds.");
    Internal = ("internal_error", 500, "Internal error", "The gateway failed unexpectedly; the log has details.");
    UpstreamUnreachable = ("upstream_unreachable", 502, "Lotus node unreachable", "The gateway could not connect to the Lotus node.");
    UpstreamBadResponse = ("upstream_bad_response", 502, "Bad response from the Lotus node", "The Lotus node answered with something that is not a valid JSON-RPC reply.");
    UpstreamAuthFailed = ("upstream_auth_failed", 502, "Lotus node refused the gateway's credentials", "The Lotus node answered 401 to a token the gateway accepted: the secrets or upstream token are misconfigured.");
    UpstreamMethodNotFound = ("upstream_method_not_found", 502, "Method not supported by the Lotus node", "The Lotus node does not know the method this route needs; it may be an older version.");
    UpstreamError = ("upstream_error", 502, "Lotus node error", "The Lotus node answered the call with an error.");
    UpstreamUnavailable = ("upstream_unavailable", 503, "Lotus node unavailable", "The Lotus node is overloaded, starting or not ready.");
    UpstreamTimeout = ("upstream_timeout", 504, "Lotus node timed out", "The Lotus node did not answer within the configured timeout.");
}

/// The JSON-RPC error behind a problem, when the Lotus node returned one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RpcErrorInfo {
    /// The JSON-RPC error code.
    #[schema(example = 1)]
    pub code: i64,
    /// The message of the Lotus node.
    #[schema(example = "resolution lookup failed (f01234): actor not found")]
    pub message: String,
}

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference that names the problem type.
    #[schema(example = "urn:lotus-rest:problem:invalid_parameter")]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    #[schema(example = "Invalid parameter")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// What went wrong with this request and what to do about it.
    #[schema(
        example = "invalid CID \"bafyxx\" in path parameter cid: expected a CID such as bafy2bzaced..."
    )]
    pub detail: String,
    /// A stable, snake_case error code.
    #[schema(example = "invalid_parameter")]
    pub code: String,
    /// The Lotus JSON-RPC error, when the problem came from the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc: Option<RpcErrorInfo>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The error every handler, extractor and middleware of the gateway returns.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub detail: String,
    pub rpc: Option<RpcErrorInfo>,
    /// Seconds to put in `Retry-After`, for errors a client may retry.
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            rpc: None,
            retry_after: None,
        }
    }

    pub fn with_rpc(mut self, rpc: &RpcError) -> Self {
        self.rpc = Some(RpcErrorInfo {
            code: rpc.code,
            message: rpc.message.clone(),
        });
        self
    }

    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidParameter, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(Code::Internal, detail)
    }

    pub fn forbidden(needed: Perm, held: PermSet) -> Self {
        let held = if held.is_empty() {
            "no permission (anonymous access is disabled; send a token)".to_string()
        } else {
            format!("[{}]", held.names().join(", "))
        };
        Self::new(
            Code::Forbidden,
            format!("this operation needs the '{needed}' permission; the token grants {held}"),
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:lotus-rest:problem:{}", self.code.as_str()),
            title: self.code.title().to_string(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_string(),
            rpc: self.rpc.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if self.code == Code::Unauthorized {
            let desc = self.detail.replace('"', "'");
            res.insert_header((
                header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"lotus\", error=\"invalid_token\", error_description=\"{desc}\""
                ),
            ));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(serde_json::to_vec(&self.problem()).expect("problem serializes"))
    }
}

/// JSON-RPC's "internal error" code.
const INTERNAL_ERROR: i64 = -32603;
/// JSON-RPC's "parse error" code: Lotus answers it when a parameter does not decode (a bad address or CID).
const PARSE_ERROR: i64 = -32700;

/// Whether a node's message says a thing is not there, in Lotus's wording (`ipld: could not find <cid>`,
/// `failed to find sector`, `failed to load message`) or Forest's (`can't find message`, `Entry not found in cbor
/// store`, `Key for header not found`).
fn is_not_found(msg: &str) -> bool {
    msg.contains("not found")
        || msg.contains("failed to find sector")
        || msg.contains("failed to resolve")
        || msg.contains("could not find")
        || msg.contains("can't find")
        || msg.contains("failed to load message")
        || msg.contains("not due at any deadline")
}

/// Maps a Lotus error message onto a code. Lotus has renumbered its error codes between releases, so the message
/// decides; the number only confirms the JSON-RPC protocol errors.
pub fn classify_rpc(rpc: &RpcError) -> Code {
    let msg = rpc.message.to_ascii_lowercase();
    // JSON-RPC's "internal error": the node failed inside (Forest reports a missing thing this way too). Whatever
    // its wording, the caller did nothing wrong that the gateway could name, so it is never the caller's 400.
    let internal = rpc.code == INTERNAL_ERROR;
    if msg.contains("missing permission") {
        Code::UpstreamForbidden
    } else if rpc.code == -32601 || msg.contains("method not found") {
        Code::UpstreamMethodNotFound
    } else if msg.contains("actor not found")
        || msg.contains("failed to find actor")
        || msg.contains("failed to lookup the id address")
    {
        Code::ActorNotFound
    } else if internal {
        if is_not_found(&msg) {
            Code::NotFound
        } else {
            Code::UpstreamError
        }
    } else if rpc.code == -32602
        || rpc.code == PARSE_ERROR
        || msg.contains("unmarshaling params")
        || msg.contains("invalid params")
        || msg.contains("greater than start point")
        || msg.contains("is not an account actor")
        || msg.contains("greater than head")
        || msg.contains("invalid network version")
        || msg.contains("unsupported network version")
        || msg.contains("from height must be less than to height")
        || msg.contains("height range exceeds maximum")
        || msg.contains("cannot draw randomness from")
        || msg.contains("below the base tipset")
        || msg.contains("can only validate at an epoch less than")
        || msg.contains("unknown actor code")
        || msg.contains("invalid retainstate")
        || msg.contains("invalid scope")
        || msg.contains("takes no parameters")
        || msg.contains("must provide at least one signer")
        || msg.contains("negative unlock duration")
        || msg.contains("parsing path")
        || msg.contains("unknown sector size")
        || msg.contains("unrecognized level")
        || msg.contains("unsupported key type")
        || msg.contains("hash does not match proposal params")
    {
        Code::InvalidParameter
    } else if msg.contains("failed to decode params")
        || msg.contains("minimum expected nonce")
        || msg.contains("failed to validate signature")
    {
        Code::InvalidBody
    } else if msg.contains("not enough funds reserved")
        || msg.contains("file exists")
        || msg.contains("gater disallows connection")
    {
        Code::Conflict
    } else if msg.contains("null round") {
        Code::NullRound
    } else if is_not_found(&msg) {
        Code::NotFound
    } else if msg.contains("not ready")
        || msg.contains("too many requests")
        || msg.contains("overloaded")
        || msg.contains("node is syncing")
    {
        Code::UpstreamUnavailable
    } else {
        Code::UpstreamError
    }
}

/// Turns the errors of actix's own extractors (path, query, JSON body) into problems, so that no error of the
/// gateway has another shape.
pub mod extractors {
    use super::*;
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
    use actix_web::HttpRequest;

    pub fn path(err: PathError, _req: &HttpRequest) -> actix_web::Error {
        let PathError::Deserialize(e) = err else {
            return ApiError::new(Code::InvalidParameter, "invalid path parameter").into();
        };
        ApiError::new(
            Code::InvalidParameter,
            format!("invalid path parameter: {e}"),
        )
        .into()
    }

    pub fn query(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let detail = match err {
            QueryPayloadError::Deserialize(e) => format!("invalid query string: {e}"),
            other => format!("invalid query string: {other}"),
        };
        ApiError::new(Code::InvalidQuery, detail).into()
    }

    pub fn json(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let (code, detail) = match &err {
            JsonPayloadError::ContentType => (
                Code::UnsupportedMediaType,
                "the request body must be sent with Content-Type: application/json".to_string(),
            ),
            JsonPayloadError::Overflow { limit }
            | JsonPayloadError::OverflowKnownLength { limit, .. } => (
                Code::PayloadTooLarge,
                format!("the request body is larger than the limit of {limit} bytes"),
            ),
            JsonPayloadError::Deserialize(e) => {
                (Code::InvalidBody, format!("invalid JSON body: {e}"))
            }
            other => (Code::InvalidBody, format!("invalid request body: {other}")),
        };
        ApiError::new(code, detail).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn maps_lotus_messages() {
        let rpc = |code, message: &str| RpcError {
            code,
            message: message.into(),
            data: None,
        };
        let cases = [
            (
                rpc(1, "resolution lookup failed (f0999): actor not found"),
                Code::ActorNotFound,
            ),
            (
                rpc(12, "looking for tipset with height: null round"),
                Code::NullRound,
            ),
            (rpc(1, "blockstore: block not found"), Code::NotFound),
            (
                rpc(1, "missing permission to invoke 'MpoolPush' (need 'write')"),
                Code::UpstreamForbidden,
            ),
            (
                rpc(-32601, "method 'Filecoin.X' not found"),
                Code::UpstreamMethodNotFound,
            ),
            (rpc(-32602, "wrong param count"), Code::InvalidParameter),
            (
                rpc(1, "invalid network version 999: unsupported network version 999"),
                Code::InvalidParameter,
            ),
            (
                rpc(1, "from height must be less than to height"),
                Code::InvalidParameter,
            ),
            (
                rpc(1, "cannot draw randomness from the future: epoch 9 is after the tipset at 1"),
                Code::InvalidParameter,
            ),
            (
                rpc(1, "cannot compute state at height 2: below the base tipset at 219"),
                Code::InvalidParameter,
            ),
            (
                rpc(1, "cannot validate index at epoch 9, can only validate at an epoch less than chain head epoch 1"),
                Code::InvalidParameter,
            ),
            (rpc(1, "unknown actor code bafk2bzaced"), Code::InvalidParameter),
            // A node's internal failure is never the caller's 400, whatever its wording.
            (rpc(-32603, "Unknown actor code bafk2bzaced"), Code::UpstreamError),
            (rpc(-32603, "invalid params: height mismatch"), Code::UpstreamError),
            // Forest reports missing things as internal errors, in its own words.
            (rpc(-32603, "can't find message bafy2bzacea"), Code::NotFound),
            (rpc(-32603, "Entry not found in cbor store"), Code::NotFound),
            (rpc(-32603, "Failed to lookup the id address f0999"), Code::ActorNotFound),
            // Both nodes, StateAccountKey of an unknown ID.
            (rpc(1, "failed to find actor: f0999"), Code::ActorNotFound),
            // Lotus's answer to a parameter that does not decode.
            (rpc(-32700, "(param: *address.Address): invalid address checksum"), Code::InvalidParameter),
            (rpc(1, "failed to load message: bafy2bzacea"), Code::NotFound),
            (
                rpc(1, "failed to decode params for method 2 of t01001: expected value"),
                Code::InvalidBody,
            ),
            (
                rpc(1, "not enough funds reserved to release 1: 0 reserved for t0100"),
                Code::Conflict,
            ),
            (rpc(1, "opening backup file /b.cbor: file exists"), Code::Conflict),
            (
                rpc(1, "failed to dial 12D3KooW: gater disallows connection to peer"),
                Code::Conflict,
            ),
            (
                rpc(1, "minimum expected nonce is 3: message nonce too low"),
                Code::InvalidBody,
            ),
            (rpc(1, "unrecognized level: \"loud\""), Code::InvalidParameter),
            (rpc(1, "invalid scope system:x"), Code::InvalidParameter),
            (rpc(1, "failed to find sector 7"), Code::NotFound),
            (rpc(1, "something else broke"), Code::UpstreamError),
        ];
        for (err, want) in cases {
            assert_eq!(classify_rpc(&err), want, "{}", err.message);
        }
    }
}
