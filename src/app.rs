//! The gateway application: every documented route, declared once, made into the actix app and the OpenAPI
//! document.

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};
use utoipa_actix_web::{scope, AppExt, OpenApiFactory, UtoipaApp};

use crate::state::AppState;
use crate::{error, middleware, routes, shape};

/// HTTP options of the app that come from the settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub max_body_bytes: usize,
    /// Origins allowed by CORS; empty turns CORS off, `*` allows any.
    pub cors_origins: Vec<String>,
    /// The largest request head accepted.
    pub max_header_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            max_body_bytes: 1 << 20,
            cors_origins: Vec::new(),
            max_header_bytes: 16384,
        }
    }
}

/// An app that routes are declared into: with the OpenAPI document ([`UtoipaApp`]) or without it ([`App`]).
trait Declare: Sized {
    fn service<F>(self, factory: F) -> Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static;
    fn v1(self) -> Self;
}

impl<T> Declare for UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    fn service<F>(self, factory: F) -> Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        UtoipaApp::service(self, factory)
    }

    fn v1(self) -> Self {
        UtoipaApp::service(
            self,
            scope::scope("/v1")
                .configure(|cfg| routes::v1(&mut routes::ServiceConfig::Documented(cfg))),
        )
    }
}

impl<T> Declare for App<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    fn service<F>(self, factory: F) -> Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        App::service(self, factory)
    }

    fn v1(self) -> Self {
        App::service(
            self,
            web::scope("/v1").configure(|cfg| routes::v1(&mut routes::ServiceConfig::Plain(cfg))),
        )
    }
}

/// Declares every documented route, once: the app and the OpenAPI document are both made from this.
fn api<A: Declare>(app: A) -> A {
    app.service(routes::health::healthz)
        .service(routes::health::readyz)
        .service(routes::health::get_metrics)
        .service(routes::rpc::post_rpc_v1)
        .service(routes::rpc::post_rpc_v0)
        .service(routes::rpc_ws::get_rpc_v1)
        .service(routes::rpc_ws::get_rpc_v0)
        .service(routes::catalog::list_methods)
        .v1()
}

/// The OpenAPI document of the gateway with the default settings (anonymous callers may read), as committed.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_with(true)
}

/// The OpenAPI document; `anonymous_read` says whether callers without a token may use the read operations.
pub fn openapi_with(anonymous_read: bool) -> utoipa::openapi::OpenApi {
    let (_, spec) = api(App::new().into_utoipa_app()).split_for_parts();
    crate::openapi::finish(spec, anonymous_read)
}

/// What the application of every HTTP worker shares, made once per server: the OpenAPI document, its JSON as
/// served at `/openapi.json` (gzipped: about 100 KB instead of 1 MB), and the rules read from it.
/// The document itself is not kept: only what is read from it, so that its memory is given back.
#[derive(Clone)]
pub struct Spec {
    json_gzip: web::Bytes,
    query_rules: web::Data<middleware::QueryRules>,
    shapes: web::Data<shape::Shapes>,
    allowed: web::Data<middleware::Allowed>,
    catalogs: web::Data<routes::catalog::Catalogs>,
    weights: std::sync::Arc<crate::state::Weights>,
}

impl Spec {
    pub fn new(doc: utoipa::openapi::OpenApi) -> Spec {
        let value = serde_json::to_value(&doc).expect("the document is JSON");
        let spec = Spec {
            json_gzip: gzip(&serde_json::to_vec(&value).expect("the document is JSON")),
            query_rules: web::Data::new(middleware::QueryRules::from_spec(&doc)),
            shapes: web::Data::new(shape::Shapes::from_spec(&value)),
            allowed: web::Data::new(middleware::Allowed::from_spec(&doc)),
            catalogs: web::Data::new(routes::catalog::Catalogs::from_spec(&value)),
            weights: std::sync::Arc::new(crate::state::Limits::weights_from(&value)),
        };
        drop((doc, value));
        release_free_memory();
        spec
    }

    /// The document's facts for a server, made once per process for each value of `anonymous_read`: the document
    /// never changes while the process runs, and every server of a process (the tests start hundreds) shares them.
    pub fn shared(anonymous_read: bool) -> Spec {
        static MADE: [std::sync::OnceLock<Spec>; 2] = [const { std::sync::OnceLock::new() }; 2];
        MADE[usize::from(anonymous_read)]
            .get_or_init(|| Spec::new(openapi_with(anonymous_read)))
            .clone()
    }

    /// The weight of each operation, for the rate limits.
    pub fn weights(&self) -> std::sync::Arc<crate::state::Weights> {
        self.weights.clone()
    }
}

fn gzip(bytes: &[u8]) -> web::Bytes {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)
        .and_then(|()| gz.finish())
        .map(web::Bytes::from)
        .expect("writing to memory does not fail")
}

/// The OpenAPI document, as JSON: kept gzipped, sent as it is to clients that take gzip (browsers, Swagger UI,
/// `curl --compressed`), unpacked for the others.
async fn openapi_json(
    req: actix_web::HttpRequest,
    spec: web::Data<SpecJson>,
) -> actix_web::HttpResponse {
    use actix_web::http::header;
    let mut res = actix_web::HttpResponse::Ok();
    res.content_type("application/json")
        .insert_header((header::VARY, "accept-encoding"));
    if accepts_gzip(req.headers()) {
        return res
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(spec.gzipped.clone());
    }
    match SpecJson::unpacked(&spec) {
        Ok(json) => res.body(json),
        Err(e) => actix_web::ResponseError::error_response(&error::ApiError::internal(format!(
            "cannot unpack the OpenAPI document: {e}"
        ))),
    }
}

/// Whether `Accept-Encoding` takes gzip: named (or `*`) with a weight above zero (RFC 9110, 12.5.3).
fn accepts_gzip(headers: &actix_web::http::header::HeaderMap) -> bool {
    let mut any = false;
    for coding in headers
        .get_all(actix_web::http::header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let weighted = parts
            .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0));
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            return weighted;
        }
        if name == "*" {
            any = weighted;
        }
    }
    any
}

/// The document served at `/openapi.json`: gzipped, and unpacked for a while after a client that does not take
/// gzip asked for it.
struct SpecJson {
    gzipped: web::Bytes,
    unpacked: std::sync::Mutex<Option<web::Bytes>>,
}

/// How long the unpacked document is kept after it was unpacked: clients asking in a row pay for unpacking it
/// (a few milliseconds of CPU) once.
const KEEP_UNPACKED: std::time::Duration = std::time::Duration::from_secs(60);

impl SpecJson {
    fn new(gzipped: web::Bytes) -> SpecJson {
        SpecJson {
            gzipped,
            unpacked: std::sync::Mutex::new(None),
        }
    }

    fn unpacked(spec: &web::Data<Self>) -> std::io::Result<web::Bytes> {
        use std::io::Read;
        let mut kept = spec.unpacked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(json) = &*kept {
            return Ok(json.clone());
        }
        // gzip's trailer ends with the unpacked size (modulo 2^32).
        let size = spec
            .gzipped
            .last_chunk::<4>()
            .map_or(0, |n| u32::from_le_bytes(*n) as usize);
        let mut json = Vec::with_capacity(size);
        flate2::read::GzDecoder::new(&spec.gzipped[..]).read_to_end(&mut json)?;
        let json = web::Bytes::from(json);
        *kept = Some(json.clone());
        let spec = spec.clone();
        actix_web::rt::spawn(async move {
            tokio::time::sleep(KEEP_UNPACKED).await;
            spec.unpacked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        });
        Ok(json)
    }
}

/// Gives back to the system the allocator's free pages: after the OpenAPI document was made and read, and after many
/// long-lived connections have gone; the allocator would otherwise keep those pages for the life of the process.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The gateway application: routes, documentation, error shaping and access logs.
pub fn app(
    state: web::Data<AppState>,
    spec: &Spec,
    http: &HttpOptions,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let app = api(App::new());
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .config(utoipa_swagger_ui::Config::new(["/openapi.json"]));
    app.app_data(state)
        .app_data(spec.query_rules.clone())
        .app_data(spec.shapes.clone())
        .app_data(spec.allowed.clone())
        .app_data(spec.catalogs.clone())
        .service(
            web::resource("/openapi.json")
                .app_data(web::Data::new(SpecJson::new(spec.json_gzip.clone())))
                .get(openapi_json),
        )
        .app_data(web::PathConfig::default().error_handler(error::extractors::path))
        .app_data(web::QueryConfig::default().error_handler(error::extractors::query))
        .app_data(web::PayloadConfig::new(http.max_body_bytes))
        .app_data(
            web::JsonConfig::default()
                .limit(http.max_body_bytes)
                .error_handler(error::extractors::json),
        )
        .service(swagger)
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(middleware::not_found))
        .wrap(actix_web::middleware::from_fn(middleware::gate))
        .app_data(web::Data::new(middleware::HeaderLimit(
            http.max_header_bytes,
        )))
        .wrap(middleware::problems())
        .wrap(actix_web::middleware::Condition::new(
            !http.cors_origins.is_empty(),
            middleware::cors(&http.cors_origins),
        ))
        .wrap(actix_web::middleware::from_fn(middleware::access_log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING};

    /// Every documented operation is routed to the route of its own path: a request to its path (each parameter
    /// filled in) with its method is labelled with that path, so no route is hidden behind another one declared
    /// before it, and a nested scope puts its routes at the paths the document gives.
    #[actix_web::test]
    async fn every_operation_is_routed_to_its_own_path() {
        use actix_web::test::{call_service, init_service, TestRequest};
        let app = init_service(api(App::new()).wrap_fn(|req, srv| {
            use actix_web::dev::Service;
            let fut = srv.call(req);
            async move {
                let res = fut.await?;
                let pattern = res.request().match_pattern().unwrap_or_default();
                Ok(res.map_body(move |_, _| actix_web::body::BoxBody::new(pattern)))
            }
        }))
        .await;
        let doc = openapi();
        let mut checked = 0;
        for (path, item) in &doc.paths.paths {
            let concrete = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for (method, _) in middleware::operations(item) {
                let req = TestRequest::default()
                    .method(method.clone())
                    .uri(&concrete)
                    .to_request();
                let res = call_service(&app, req).await;
                let body = actix_web::test::read_body(res).await;
                assert_eq!(
                    std::str::from_utf8(&body).unwrap(),
                    path.as_str(),
                    "{method} {concrete}"
                );
                checked += 1;
            }
        }
        assert!(checked > 250, "{checked} operations");
    }

    #[test]
    fn gzip_is_sent_where_accept_encoding_takes_it() {
        let takes = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            }
            accepts_gzip(&headers)
        };
        for yes in [
            "gzip",
            "gzip, deflate, br",
            "br;q=1.0, gzip;q=0.8",
            "*",
            "deflate, *;q=0.5",
            "GZIP",
        ] {
            assert!(takes(Some(yes)), "{yes}");
        }
        for no in [
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip;q=0.0, *",
            "*;q=0",
            "",
        ] {
            assert!(!takes(Some(no)), "{no}");
        }
        assert!(!takes(None));
    }
}
