//! The router: every route, the layers around them, and the OpenAPI document generated from
//! the handlers' annotations.

pub mod admin;
pub mod audit;
pub mod jobs;
pub mod lists;
pub mod moderate;
pub mod ops;
pub mod policies;
pub mod reports;
pub mod reviews;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{delete, get, post};
use axum::Router;
use rampart_types::ErrorCode;
use tower::ServiceBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;
use crate::state::AppState;

/// The OpenAPI document, generated from the route annotations and the request and response
/// types (never written by hand).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rampart",
        description = "Self-hosted content moderation: text and images in, pass/review/block verdicts with labels, scores and evidence out. Every /v1 route takes `Authorization: Bearer <key>`; every error is `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable code.",
        license(name = "MIT")
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics, ops::openapi_json,
        moderate::moderate_text, moderate::moderate_image,
        jobs::moderate_video, jobs::moderate_audio, jobs::get_job, jobs::list_jobs,
        jobs::get_webhook, jobs::put_webhook, jobs::list_deliveries, jobs::get_delivery,
        admin::get_verdict, admin::list_verdicts,
        admin::list_keys, admin::create_key, admin::revoke_key,
        lists::list_libraries, lists::create_library, lists::get_library, lists::delete_library,
        lists::list_terms, lists::add_terms, lists::remove_terms,
        lists::list_banks, lists::create_bank, lists::get_bank, lists::delete_bank,
        lists::list_entries, lists::add_entries, lists::remove_entries,
        policies::list_policies, policies::put_policy, policies::get_policy, policies::policy_versions,
        audit::list_audit, audit::verify_audit, audit::audit_head,
        reports::dsa_report, reports::transparency_report,
        reviews::list_reviews, reviews::get_review, reviews::get_review_content,
        reviews::claim_review, reviews::release_review, reviews::decide_review,
        reviews::bulk_decide, reviews::create_appeal,
    ),
    modifiers(&BearerAuth, &CommonResponses, &ExactlyOneText),
    tags(
        (name = "moderation", description = "Content in, verdict out"),
        (name = "jobs", description = "Video and audio moderation jobs: state, progress, verdict"),
        (name = "webhooks", description = "Signed result callbacks (Rampart-Signature) and their delivery log"),
        (name = "verdicts", description = "Stored verdicts (hashes and evidence, never content)"),
        (name = "libraries", description = "Term libraries; changes apply to the next request"),
        (name = "banks", description = "Hash banks (PDQ, MD5, SHA-256); changes apply to the next request"),
        (name = "policies", description = "Versioned policies"),
        (name = "keys", description = "API keys of the caller's tenant"),
        (name = "reports", description = "Statements of reasons (DSA Transparency Database format) and transparency reports"),
        (name = "reviews", description = "The human-review queue: claim, decide, escalate, bulk decisions; appeals"),
        (name = "audit", description = "The tenant's hash-chained audit log: read, verify, publish its head"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// Responses that come from the layers and extractors every route shares rather than from a
/// handler, added to each operation that does not declare them itself: 503 with Retry-After
/// (the request timeout wraps every route, load shedding past `max_in_flight` every /v1 route);
/// on the routes that take a key, 401 with `WWW-Authenticate: Bearer` and 429 with Retry-After
/// (the per-key rate limit is checked with the key); on the routes that take a body, 413 (every
/// body is read under a size limit).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::{Header, HeaderBuilder};
        use utoipa::openapi::{
            ContentBuilder, Object, Ref, RefOr, Response, ResponseBuilder, Type,
        };

        let error = |description: &str| -> RefOr<Response> {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
                .into()
        };
        let header = |schema_type: Type, about: &str| -> Header {
            HeaderBuilder::new()
                .schema(Object::with_type(schema_type))
                .description(Some(about))
                .build()
        };
        // Adds `status` unless the operation declares it, and `name` to its headers.
        let add = |responses: &mut std::collections::BTreeMap<String, RefOr<Response>>,
                   status: &str,
                   description: &str,
                   name: Option<(&str, Header)>| {
            let response = responses
                .entry(status.into())
                .or_insert_with(|| error(description));
            if let (RefOr::T(response), Some((name, header))) = (response, name) {
                response.headers.entry(name.into()).or_insert(header);
            }
        };
        let retry_after = || {
            Some((
                "Retry-After",
                header(Type::Integer, "Seconds to wait before retrying"),
            ))
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let keyed = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                if keyed {
                    add(
                        responses,
                        "401",
                        "unauthenticated: missing or invalid API key",
                        Some(("WWW-Authenticate", header(Type::String, "`Bearer`"))),
                    );
                    add(
                        responses,
                        "429",
                        "rate_limited: this key is over its request rate",
                        retry_after(),
                    );
                }
                if body {
                    add(
                        responses,
                        "413",
                        "payload_too_large: the body is over this route's limit",
                        None,
                    );
                }
                // Not onto a route's own 503 (GET /readyz: the store is down, no Retry-After).
                if !responses.contains_key("503") {
                    add(
                        responses,
                        "503",
                        "The server is at capacity, or the request did not finish in time",
                        retry_after(),
                    );
                }
            }
        }
    }
}

/// `TextRequest` takes exactly one of `text` (a string) and `texts` (an array): serde sees two
/// optional fields and the handler refuses neither and both, so the document adds a `oneOf`.
struct ExactlyOneText;

impl Modify for ExactlyOneText {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{
            AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
        };
        use utoipa::openapi::RefOr;

        let Some(schemas) = openapi.components.as_mut().map(|c| &mut c.schemas) else {
            return;
        };
        let Some(RefOr::T(Schema::Object(request))) = schemas.get("TextRequest").cloned() else {
            return;
        };
        let one = |field: &str, schema: Schema| {
            ObjectBuilder::new()
                .required(field)
                .property(field, schema)
                .build()
        };
        let choice = OneOfBuilder::new()
            .item(one(
                "text",
                ObjectBuilder::new().schema_type(Type::String).into(),
            ))
            .item(one("texts", ArrayBuilder::new().into()));
        let description = request.description.clone();
        schemas.insert(
            "TextRequest".into(),
            AllOfBuilder::new()
                .item(request)
                .item(choice)
                .description(description)
                .into(),
        );
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rk_<id>_<secret>")
                    .build(),
            ),
        );
    }
}

/// The router of the whole API, with its layers: request ids, logs, metrics and the request
/// timeout (outermost), then load shedding past `max_in_flight` requests in flight over all /v1
/// routes (one semaphore shared by them; health, readiness and metrics are never shed).
pub fn router(state: AppState, max_in_flight: usize) -> Router {
    let limits = state.limits.clone();
    let json = DefaultBodyLimit::max(limits.json_body);
    let image = DefaultBodyLimit::max(limits.image_body);
    let import = DefaultBodyLimit::max(limits.import_body);
    let v1 = Router::new()
        .route(
            "/v1/moderate/text",
            post(moderate::moderate_text).layer(json),
        )
        .route(
            "/v1/moderate/image",
            post(moderate::moderate_image).layer(image),
        )
        .route(
            "/v1/moderate/video",
            post(jobs::moderate_video).layer(DefaultBodyLimit::max(limits.media_body)),
        )
        .route(
            "/v1/moderate/audio",
            post(jobs::moderate_audio).layer(DefaultBodyLimit::max(limits.media_body)),
        )
        .route("/v1/jobs", get(jobs::list_jobs))
        .route("/v1/jobs/{id}", get(jobs::get_job))
        .route(
            "/v1/webhooks",
            get(jobs::get_webhook).put(jobs::put_webhook).layer(json),
        )
        .route("/v1/webhooks/deliveries", get(jobs::list_deliveries))
        .route("/v1/webhooks/deliveries/{id}", get(jobs::get_delivery))
        .route("/v1/verdicts", get(admin::list_verdicts))
        .route("/v1/verdicts/{id}", get(admin::get_verdict))
        .route(
            "/v1/keys",
            get(admin::list_keys).post(admin::create_key).layer(json),
        )
        .route("/v1/keys/{id}", delete(admin::revoke_key))
        .route(
            "/v1/libraries",
            get(lists::list_libraries)
                .post(lists::create_library)
                .layer(import),
        )
        .route(
            "/v1/libraries/{name}",
            get(lists::get_library).delete(lists::delete_library),
        )
        .route(
            "/v1/libraries/{name}/terms",
            get(lists::list_terms)
                .post(lists::add_terms)
                .delete(lists::remove_terms)
                .layer(import),
        )
        .route(
            "/v1/banks",
            get(lists::list_banks).post(lists::create_bank).layer(json),
        )
        .route(
            "/v1/banks/{name}",
            get(lists::get_bank).delete(lists::delete_bank),
        )
        .route(
            "/v1/banks/{name}/entries",
            get(lists::list_entries)
                .post(lists::add_entries)
                .delete(lists::remove_entries)
                .layer(DefaultBodyLimit::max(
                    limits.image_body.max(limits.import_body),
                )),
        )
        .route("/v1/policies", get(policies::list_policies))
        .route(
            "/v1/policies/{name}",
            get(policies::get_policy)
                .put(policies::put_policy)
                .layer(json),
        )
        .route(
            "/v1/policies/{name}/versions",
            get(policies::policy_versions),
        )
        .route("/v1/audit", get(audit::list_audit))
        .route("/v1/audit/verify", get(audit::verify_audit))
        .route("/v1/audit/head", get(audit::audit_head))
        .route("/v1/reports/dsa", get(reports::dsa_report))
        .route(
            "/v1/reports/transparency",
            get(reports::transparency_report),
        )
        .route("/v1/reviews", get(reviews::list_reviews))
        .route(
            "/v1/reviews/decisions",
            post(reviews::bulk_decide).layer(json),
        )
        .route("/v1/reviews/{id}", get(reviews::get_review))
        .route(
            "/v1/reviews/{id}/content/{part}",
            get(reviews::get_review_content),
        )
        .route("/v1/reviews/{id}/claim", post(reviews::claim_review))
        .route("/v1/reviews/{id}/release", post(reviews::release_review))
        .route(
            "/v1/reviews/{id}/decision",
            post(reviews::decide_review).layer(json),
        )
        .route("/v1/appeals", post(reviews::create_appeal).layer(json))
        // Shedding covers the API only: health checks and metrics scrapes must keep answering
        // when the server is saturated.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    metrics::counter!("rampart_load_shed_total").increment(1);
                    ApiError::new(
                        ErrorCode::RateLimited,
                        "the server is at capacity; retry shortly",
                    )
                    .with_status(StatusCode::SERVICE_UNAVAILABLE)
                    .retry_after(1)
                }))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    max_in_flight,
                )),
        );

    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi_json))
        .merge(v1)
        .merge(crate::console::router())
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(middleware::from_fn(audit_actor))
        .layer(middleware::from_fn_with_state(state.clone(), ops::observe))
        .with_state(state)
}

/// Runs each request in its own audit-actor scope: `anonymous` until the `Caller` extractor
/// authenticates a key and sets `key:<id>`, so the store attributes every change it audits to
/// the key that asked for it.
async fn audit_actor(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    rampart_store::acting_as("anonymous", next.run(request)).await
}
