//! What wraps every request: request ids and access logs, and the shaping of the framework's own error replies
//! (unknown route, wrong verb) into problem documents.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::error::{ApiError, Code, PROBLEM_JSON};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of a request, as taken from `X-Request-Id` or generated.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's request id is kept when it is short, visible ASCII; otherwise a new one is made.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_request_id)
}

/// A new random (version 4) UUID, from the thread's generator (seeded from the system's, and reseeded by it):
/// `Uuid::new_v4` asks the system for randomness with one system call a request.
pub fn new_request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Logs one line per request: method, path (never the query, which may hold a token), status, latency and id;
/// echoes the request id.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let metrics = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|s| s.metrics.clone());
    let in_flight = metrics.clone().map(InFlight::new);
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = start.elapsed();
    let status = res.status();
    drop(in_flight);
    let (method, path) = (res.request().method(), res.request().path());
    if let Some(m) = metrics {
        // Once routed, the request's pattern is known without matching its path again.
        let route = crate::metrics::route_of(res.request());
        let route = route.as_deref().unwrap_or("unmatched");
        m.request_finished(route, method.as_str(), status.as_str(), elapsed);
    }
    log::info!(
        target: "lotus_rest::access",
        "{method} {path} {} {}us id={id}",
        status.as_u16(),
        elapsed.as_micros()
    );
    Ok(res)
}

/// Counts a request in flight until it is answered or abandoned.
struct InFlight(std::sync::Arc<crate::metrics::Metrics>);

impl InFlight {
    fn new(metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        metrics.request_started();
        InFlight(metrics)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

/// Any request no route takes: 405 with `Allow` when the path exists with other methods, else 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if let Some(allow) = allowed_methods(&req) {
        let mut res = ApiError::new(
            Code::MethodNotAllowed,
            format!(
                "{} is not allowed on {}; allowed: {allow}",
                req.method(),
                req.path()
            ),
        )
        .error_response();
        if let Ok(v) = HeaderValue::from_str(&allow) {
            res.headers_mut().insert(header::ALLOW, v);
        }
        return res;
    }
    ApiError::new(
        Code::RouteNotFound,
        format!(
            "no route {} {}: the routes are listed at /docs and /openapi.json",
            req.method(),
            req.path()
        ),
    )
    .error_response()
}

/// Whether an error response already has a deliberate JSON body (a problem document, or a JSON-RPC error).
fn is_problem(res: &ServiceResponse<impl MessageBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("application/json"))
}

/// The operations of a documented path with the HTTP methods they answer, in the order `Allow` lists them.
pub fn operations(
    item: &utoipa::openapi::PathItem,
) -> impl Iterator<Item = (actix_web::http::Method, &utoipa::openapi::path::Operation)> {
    use actix_web::http::Method;
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::PATCH, &item.patch),
    ]
    .into_iter()
    .filter_map(|(method, op)| Some((method, op.as_ref()?)))
}

/// The methods the spec lists for each route, for `Allow`.
pub struct Allowed(std::collections::HashMap<String, String>);

impl Allowed {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Allowed {
        let mut all = std::collections::HashMap::new();
        for (pattern, item) in &spec.paths.paths {
            let methods: Vec<String> = operations(item)
                .map(|(method, _)| method.to_string())
                .collect();
            if !methods.is_empty() {
                all.insert(pattern.clone(), methods.join(", "));
            }
        }
        Allowed(all)
    }
}

/// The methods the spec lists for the route a request matched, for `Allow`.
fn allowed_methods(req: &HttpRequest) -> Option<String> {
    let pattern = crate::metrics::route_of(req)?;
    let allowed = req.app_data::<web::Data<Allowed>>()?;
    allowed.0.get(&pattern).cloned()
}

fn reshape<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if is_problem(&res) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, _) = res.into_parts();
    let err = match status.as_u16() {
        405 => ApiError::new(
            Code::MethodNotAllowed,
            format!(
                "{} is not allowed on {}{}",
                req.method(),
                req.path(),
                allowed_methods(&req)
                    .map(|m| format!("; allowed: {m}"))
                    .unwrap_or_default()
            ),
        ),
        404 => ApiError::new(Code::RouteNotFound, format!("no route for {}", req.path())),
        406 => ApiError::new(
            Code::NotAcceptable,
            "the requested media type cannot be produced",
        ),
        413 => ApiError::new(Code::PayloadTooLarge, "the request is too large"),
        415 => ApiError::new(Code::UnsupportedMediaType, "unsupported media type"),
        s if (400..500).contains(&s) => ApiError::new(
            Code::InvalidRequest,
            format!("the request is malformed ({status})"),
        ),
        _ => ApiError::internal(format!("the gateway failed to answer ({status})")),
    };
    let mut response: HttpResponse<BoxBody> = err.error_response();
    if status.as_u16() == 405 {
        if let Some(allow) = allowed_methods(&req) {
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// Turns every error reply that is not already a problem document into one.
pub fn problems<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(reshape)
}

/// The query parameters each documented operation takes, from the OpenAPI document: a parameter no operation
/// declares is refused, never silently ignored.
#[derive(Debug, Default)]
pub struct QueryRules(std::collections::HashMap<(String, actix_web::http::Method), Vec<String>>);

impl QueryRules {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        use utoipa::openapi::{path::ParameterIn, RefOr};
        let mut rules = std::collections::HashMap::new();
        for (path, item) in &spec.paths.paths {
            for (method, op) in operations(item) {
                let names = op
                    .parameters
                    .iter()
                    .flatten()
                    .filter_map(|p| match p {
                        RefOr::T(p) if p.parameter_in == ParameterIn::Query => Some(p.name.clone()),
                        _ => None,
                    })
                    .collect();
                rules.insert((path.clone(), method), names);
            }
        }
        QueryRules(rules)
    }
}

/// The refusal of a query parameter the matched operation does not declare, if the request has one.
fn unknown_query(req: &ServiceRequest) -> Option<HttpResponse> {
    if req.query_string().is_empty() {
        return None;
    }
    let pattern = crate::metrics::route_of(req.request())?;
    let rules = req.app_data::<web::Data<QueryRules>>()?;
    let allowed = rules.0.get(&(pattern, req.method().clone()))?;
    let first = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, _)| k)
        .find(|k| !allowed.iter().any(|a| a == k))?;
    let takes = if allowed.is_empty() {
        "this route takes no query parameters".to_string()
    } else {
        format!("this route takes: {}", allowed.join(", "))
    };
    Some(
        ApiError::new(
            Code::InvalidQuery,
            format!("unknown query parameter \"{first}\"; {takes}"),
        )
        .error_response(),
    )
}

/// CORS for the allowed origins: preflight requests are answered here, before any route or upstream call.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_NONE_MATCH,
            REQUEST_ID,
        ])
        .expose_headers([
            REQUEST_ID,
            header::LOCATION,
            header::ETAG,
            header::RETRY_AFTER,
        ])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// Gives every successful GET answer an `ETag` (a hash of its body) and answers `If-None-Match` with 304, so a
/// client that polls pays for a body only when it changed.
async fn etag(res: ServiceResponse<BoxBody>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let is_get = res.request().method() == actix_web::http::Method::GET;
    if !is_get || res.status() != actix_web::http::StatusCode::OK || !json {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| ApiError::internal("cannot read the response body"))?;
    let hash = blake2b_simd::Params::new().hash_length(16).hash(&bytes);
    let tag = format!("\"{}\"", hash.to_hex());
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let matches = if_none_match.is_some_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag || t == "*")
    });
    let mut res = if matches {
        let mut not_modified = HttpResponse::NotModified().finish();
        for name in [header::CACHE_CONTROL, REQUEST_ID] {
            if let Some(v) = head.headers().get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        not_modified
    } else {
        head.set_body(BoxBody::new(bytes))
    };
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(ServiceResponse::new(req, res))
}

/// Everything between the error shaping and the routes, in one layer, in this order: the request head's size, the
/// query parameters, the client address's rate limit; after the route, the answer shaped to its schema, its `ETag`,
/// and the rate-limit headers. A request refused on the way in goes no further.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refused = oversized_head(&req).or_else(|| unknown_query(&req));
    if let Some(res) = refused {
        return Ok(ServiceResponse::new(req.into_parts().0, res));
    }
    let (req, charged) = match rate_limit(req).await {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(refused),
    };
    let res = next.call(req).await?.map_into_boxed_body();
    let res = crate::shape::conform(res).await?;
    let mut res = etag(res).await?;
    if let Some(charged) = charged {
        charged.headers(&mut res);
    }
    Ok(res)
}

/// A request admitted by the rate limit: the tightest bucket it was charged to, for the answer's headers.
struct Charged {
    tightest: Option<(f64, f64)>,
}

impl Charged {
    /// The rate-limit headers: of the token's bucket when it ran out, else of the tightest bucket charged (the
    /// client address's here, the token's by the route).
    fn headers(self, res: &mut ServiceResponse<BoxBody>) {
        use crate::ratelimit::TokenBudget;
        let mut tightest = self.tightest;
        let budget = res.request().extensions().get::<TokenBudget>().copied();
        match budget {
            Some(TokenBudget {
                limit,
                reset: Some(wait),
                ..
            }) => rate_headers(res.response_mut(), limit, 0.0, Some(wait)),
            other => {
                if let Some(b) = other {
                    if tightest.is_none_or(|(_, r)| b.remaining < r) {
                        tightest = Some((b.limit, b.remaining));
                    }
                }
                if let Some((limit, remaining)) = tightest {
                    rate_headers(res.response_mut(), limit, remaining, None);
                }
            }
        }
    }
}

/// Applies the rate limits, weighted by the operation's cost: the client address's bucket here, before the
/// request is authenticated (so a flood of forged tokens is limited before any is verified); the token's bucket
/// once the token is verified (see [`crate::ratelimit::charge_token`]), for which the weight is left with the request.
/// `None` beside the request when no limit applies to it; the refusal (429) when it is over the limit.
async fn rate_limit(
    req: ServiceRequest,
) -> Result<(ServiceRequest, Option<Charged>), ServiceResponse<BoxBody>> {
    use crate::ratelimit::{RouteWeight, Verdict};
    use actix_web::HttpMessage;
    let Some(state) = req.app_data::<web::Data<crate::state::AppState>>().cloned() else {
        return Ok((req, None));
    };
    let limits = &state.limits;
    if limits.per_token.is_none() && limits.per_ip.is_none() {
        return Ok((req, None));
    }
    let weight = crate::metrics::route_of(req.request()).and_then(|pattern| {
        limits
            .weights
            .get(&(pattern, req.method().clone()))
            .copied()
    });
    let Some(weight) = weight else {
        return Ok((req, None));
    };
    if limits.per_token.is_some() {
        req.extensions_mut().insert(RouteWeight(weight));
    }
    let cost = f64::from(weight);
    let mut tightest: Option<(f64, f64)> = None;
    if let (Some(buckets), Some(addr)) = (&limits.per_ip, req.peer_addr()) {
        match buckets.take(&format!("ip:{}", addr.ip()), cost).await {
            Verdict::Allowed { remaining } => tightest = Some((buckets.burst, remaining)),
            Verdict::Limited { retry_after_secs } => {
                let wait = retry_after_secs.ceil().max(1.0) as u64;
                let mut err = ApiError::new(
                    Code::RateLimited,
                    format!(
                        "rate limit reached ({} units a second, this operation costs {weight}); retry in {wait} s",
                        buckets.rate
                    ),
                );
                err.retry_after = Some(wait);
                let mut res = err.error_response();
                rate_headers(&mut res, buckets.burst, 0.0, Some(wait));
                let (http_req, _) = req.into_parts();
                return Err(ServiceResponse::new(http_req, res));
            }
        }
    }
    Ok((req, Some(Charged { tightest })))
}

/// The `RateLimit-Limit`, `-Remaining` and (when limited) `-Reset` headers.
fn rate_headers<B>(res: &mut HttpResponse<B>, limit: f64, remaining: f64, reset: Option<u64>) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(HeaderName::from_static(name), v);
        }
    };
    set("ratelimit-limit", format!("{}", limit.floor()));
    set("ratelimit-remaining", format!("{}", remaining.floor()));
    if let Some(wait) = reset {
        set("ratelimit-reset", wait.to_string());
    }
}

/// The largest request head accepted, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct HeaderLimit(pub usize);

/// The refusal (431) of a request whose request line and headers are larger than the configured limit.
fn oversized_head(req: &ServiceRequest) -> Option<HttpResponse> {
    let limit = req.app_data::<web::Data<HeaderLimit>>()?.0;
    // The length of the request's URI as written (`Uri`'s `Display`), without writing it.
    let uri = req.uri();
    let uri_len = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path().len()
        + uri.query().map_or(0, |q| q.len() + 1);
    let size = uri_len
        + req.method().as_str().len()
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    (size > limit).then(|| {
        ApiError::new(
            Code::HeadersTooLarge,
            format!("the request line and headers take {size} bytes, more than the limit of {limit} ([API] MaxHeaderBytes)"),
        )
        .error_response()
    })
}
