//! The review console at `/console`: server-rendered pages (`rampart-console`) over the same
//! store calls as the API, behind a session cookie.
//!
//! Sign-in exchanges an API key (role admin, moderator or auditor) for a session: the cookie
//! holds a random value whose SHA-256 the store keeps, `HttpOnly; SameSite=Strict;
//! Path=/console` (and `Secure` behind HTTPS), valid for [`SESSION_TTL`] and dropped at once
//! when its key is revoked. Every form carries the session's CSRF token (sign-in a
//! pre-session token from its own cookie); a post without a valid one is refused `403` and
//! audited as a security event. Every page is sent with a strict Content-Security-Policy
//! (no inline script or style), `X-Frame-Options: DENY`, `no-store` and `no-referrer`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rampart_console as ui;
use rampart_store::{ClaimRule, ConsoleSession, ReviewItem, ReviewState, Role, TenantId};
use rampart_types::{EvidenceKind, Label, Suggestion, Verdict};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::roles;
use crate::error::ApiError;
use crate::routes::reviews::{self, ReviewQuery};
use crate::state::AppState;

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
const SESSION_COOKIE: &str = "rampart_session";
const LOGIN_COOKIE: &str = "rampart_login";
/// Largest form body.
const FORM_LIMIT: usize = 64 << 10;
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
    script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(queue))
        .route("/console/", get(queue))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/items/{id}", get(item))
        .route("/console/items/{id}/content/{part}", get(content))
        .route("/console/items/{id}/{action}", post(item_action))
        .route("/console/bulk", post(bulk))
        .route("/console/audit", get(audit))
        .route("/console/transparency", get(transparency))
        .route("/console/static/console.css", get(css))
        .route("/console/static/console.js", get(js))
}

fn now_ms() -> i64 {
    crate::jobs::now_ms()
}

/// A page with the console's security headers.
fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(h);
    response
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, v);
    }
    secure_headers(response.headers_mut());
    response
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Secure` when the request reached us over HTTPS (a TLS-terminating proxy says so).
fn secure_flag(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

fn random_token() -> String {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).expect("the operating system's random source failed");
    hex::encode(raw)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The signed-in key of a console request.
struct User {
    session: ConsoleSession,
    tenant_name: String,
}

impl User {
    fn view(&self) -> ui::Session {
        ui::Session {
            tenant: self.tenant_name.clone(),
            key_name: self.session.key_name.clone(),
            role: self.session.role.as_str().to_owned(),
            csrf: self.session.csrf.clone(),
        }
    }

    fn tenant(&self) -> TenantId {
        self.session.tenant
    }

    fn actor(&self) -> String {
        format!("key:{}", self.session.key_id)
    }

    fn may(&self, roles: &[Role]) -> bool {
        roles.contains(&self.session.role)
    }
}

/// The session of the request, or the response to send instead (the sign-in page).
async fn user(state: &AppState, headers: &HeaderMap) -> Result<User, Response> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Err(redirect("/console/login"));
    };
    let session = match state.store.console_session(value).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(redirect("/console/login")),
        Err(e) => return Err(error_page(None, &ApiError::from(e))),
    };
    let tenant_name = match state.store.tenant(session.tenant).await {
        Ok(Some(t)) => t.name,
        _ => return Err(redirect("/console/login")),
    };
    // Everything this request changes is audited as the signed-in key.
    rampart_store::set_actor(format!("key:{}", session.key_id));
    Ok(User {
        session,
        tenant_name,
    })
}

fn error_page(user: Option<&User>, e: &ApiError) -> Response {
    let view = user.map(User::view);
    page(
        e.status(),
        ui::error_page(view.as_ref(), e.status().as_u16(), &e.message),
    )
}

/// A posted form: its fields in order (repeated names kept).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Refuses a form without the session's CSRF token, auditing the attempt.
async fn check_csrf(state: &AppState, user: &User, form: &Form) -> Result<(), Response> {
    if form
        .get("csrf")
        .is_some_and(|t| same(t, &user.session.csrf))
    {
        return Ok(());
    }
    reviews::security_event(
        state,
        user.tenant(),
        "console form without a valid CSRF token",
        "console",
    )
    .await;
    Err(error_page(
        Some(user),
        &ApiError::new(
            rampart_types::ErrorCode::Forbidden,
            "this form was not sent from the console (missing or wrong CSRF token); reload the page and try again",
        ),
    ))
}

/// The signed-in user and the form of a console post, its CSRF token checked; or the page to
/// send instead (sign-in, a too-large form, a refused token).
async fn posted_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(User, Form), Response> {
    let user = user(state, headers).await?;
    let form = body_of(body).map_err(|e| error_page(None, &e))?;
    check_csrf(state, &user, &form).await?;
    Ok((user, form))
}

fn body_of(body: &Bytes) -> Result<Form, ApiError> {
    if body.len() > FORM_LIMIT {
        return Err(ApiError::new(
            rampart_types::ErrorCode::PayloadTooLarge,
            "the form is too large",
        ));
    }
    Ok(Form::parse(body))
}

// ----- sign-in -----

async fn login_form(headers: HeaderMap) -> Response {
    let token = random_token();
    let mut response = page(StatusCode::OK, ui::login_page(&token, None));
    set_cookie(
        &mut response,
        &format!(
            "{LOGIN_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure_flag(&headers)
        ),
    );
    response
}

async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match body_of(&body) {
        Ok(f) => f,
        Err(e) => return error_page(None, &e),
    };
    let retry = |status: StatusCode, message: &str| {
        let token = random_token();
        let mut response = page(status, ui::login_page(&token, Some(message)));
        set_cookie(
            &mut response,
            &format!(
                "{LOGIN_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600{}",
                secure_flag(&headers)
            ),
        );
        response
    };
    let token_ok = match (cookie(&headers, LOGIN_COOKIE), form.get("csrf")) {
        (Some(c), Some(f)) => same(c, f),
        _ => false,
    };
    if !token_ok {
        return retry(
            StatusCode::FORBIDDEN,
            "The sign-in form expired or was not sent from this page. Try again.",
        );
    }
    let key = form.get("key").unwrap_or("").trim();
    let info = match state.auth.authenticate(state.store.as_ref(), key).await {
        Ok(Some(info)) => info,
        Ok(None) => return retry(StatusCode::UNAUTHORIZED, "That key is not valid."),
        Err(e) => return error_page(None, &ApiError::from(e)),
    };
    if !roles::CONSOLE.contains(&info.role) {
        return retry(
            StatusCode::FORBIDDEN,
            "The console is for admin, moderator and auditor keys.",
        );
    }
    rampart_store::set_actor(format!("key:{}", info.key_id));
    let (value, _) = match state
        .store
        .create_console_session(info.tenant, &info.key_id, SESSION_TTL.as_millis() as u64)
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(None, &ApiError::from(e)),
    };
    let mut response = redirect("/console");
    set_cookie(
        &mut response,
        &format!(
            "{SESSION_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
            SESSION_TTL.as_secs(),
            secure_flag(&headers)
        ),
    );
    set_cookie(
        &mut response,
        &format!("{LOGIN_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = posted_form(&state, &headers, &body).await {
        return r;
    }
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.end_console_session(value).await;
    }
    let mut response = redirect("/console/login");
    set_cookie(
        &mut response,
        &format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

// ----- queue -----

#[derive(Deserialize)]
struct QueueParams {
    state: Option<String>,
    after: Option<String>,
}

fn label_choices() -> Vec<String> {
    Label::FIXED.iter().map(|l| l.as_str().to_owned()).collect()
}

fn flagged(verdict: Option<&Verdict>) -> Vec<(String, f32)> {
    verdict
        .map(|v| {
            v.labels
                .iter()
                .filter(|l| l.suggestion != Suggestion::Pass)
                .map(|l| (l.label.as_str().to_owned(), l.score))
                .collect()
        })
        .unwrap_or_default()
}

async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<QueueParams>,
) -> Response {
    let user = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    queue_page(&state, &user, params.state, params.after, None).await
}

async fn queue_page(
    state: &AppState,
    user: &User,
    state_param: Option<String>,
    after: Option<String>,
    flash: Option<ui::Flash>,
) -> Response {
    let query = ReviewQuery {
        state: state_param.clone(),
        reason: None,
        escalated: None,
        order: None,
        limit: Some(50),
        after,
    };
    let listed = match reviews::list_page(state, user.tenant(), &query).await {
        Ok(p) => p,
        Err(e) => return error_page(Some(user), &e),
    };
    let now = now_ms();
    let me = user.actor();
    let mut rows = Vec::with_capacity(listed.items.len());
    for item in &listed.items {
        let verdict = state
            .store
            .get_verdict(user.tenant(), &item.verdict_id)
            .await
            .ok()
            .flatten();
        let claimed_by = item.claimed_by(now).map(str::to_owned);
        rows.push(ui::QueueRow {
            id: item.id.clone(),
            content_type: item.content_type.clone(),
            reason: item.reason.as_str().to_owned(),
            escalated: item.escalated,
            priority: item.priority,
            labels: flagged(verdict.as_ref().map(|v| &v.verdict)),
            suggestion: item.automated.as_str().to_owned(),
            created_at_ms: item.created_at,
            now_ms: now,
            claim_is_mine: claimed_by.as_deref() == Some(me.as_str()),
            claimed_by,
            outcome: item
                .decision
                .as_ref()
                .map(|d| d.outcome.as_str().to_owned()),
        });
    }
    let view = ui::QueueView {
        state: state_param.unwrap_or_else(|| "open".into()),
        rows,
        next: listed.next,
        flash,
        label_choices: label_choices(),
    };
    page(StatusCode::OK, ui::queue_page(&user.view(), &view))
}

async fn bulk(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (user, form) = match posted_form(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    if !user.may(roles::REVIEW) {
        return error_page(Some(&user), &forbidden("deciding review items"));
    }
    let ids = form.all("item");
    let label = form.get("label").filter(|l| !l.is_empty());
    let result = reviews::bulk(
        &state,
        user.tenant(),
        user.session.role,
        &ids,
        reviews::DecisionInput {
            outcome: form.get("outcome").unwrap_or(""),
            label,
            reason: form.get("reason"),
        },
    )
    .await;
    let flash = match result {
        Ok(results) => {
            let decided = results.iter().filter(|r| r.status == "decided").count();
            let refused: Vec<String> = results
                .iter()
                .filter(|r| r.status != "decided")
                .map(|r| format!("{} ({})", r.id, r.message.as_deref().unwrap_or(&r.status)))
                .collect();
            if refused.is_empty() {
                info(format!("Decided {decided} item(s)."))
            } else {
                ui::Flash {
                    kind: ui::FlashKind::Error,
                    message: format!(
                        "Decided {decided} item(s); not decided: {}",
                        refused.join("; ")
                    ),
                }
            }
        }
        Err(e) => failure(&e),
    };
    queue_page(&state, &user, None, None, Some(flash)).await
}

fn forbidden(what: &str) -> ApiError {
    ApiError::new(
        rampart_types::ErrorCode::Forbidden,
        format!("{what} needs a moderator or admin key"),
    )
}

fn info(message: String) -> ui::Flash {
    ui::Flash {
        kind: ui::FlashKind::Info,
        message,
    }
}

fn failure(e: &ApiError) -> ui::Flash {
    ui::Flash {
        kind: ui::FlashKind::Error,
        message: e.message.clone(),
    }
}

// ----- one item -----

#[derive(Deserialize)]
struct ItemParams {
    reveal: Option<String>,
    done: Option<String>,
}

async fn item(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<ItemParams>,
) -> Response {
    let user = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let flash = match params.done.as_deref() {
        Some("claimed") => Some(info("Claimed: the item is yours to decide.".into())),
        Some("released") => Some(info("Released: the item is back in the queue.".into())),
        Some("decided") => Some(info("Decided.".into())),
        Some("escalated") => Some(info("Escalated to an admin.".into())),
        Some("appealed") => Some(info("Reopened on appeal.".into())),
        _ => None,
    };
    item_page(
        &state,
        &user,
        &id,
        params.reveal.is_some(),
        flash,
        StatusCode::OK,
    )
    .await
}

async fn item_page(
    state: &AppState,
    user: &User,
    id: &str,
    reveal: bool,
    flash: Option<ui::Flash>,
    status: StatusCode,
) -> Response {
    let detail = match reviews::detail(state, user.tenant(), id).await {
        Ok(d) => d,
        Err(e) => return error_page(Some(user), &e),
    };
    let now = now_ms();
    let me = user.actor();
    let item = &detail.item;
    let verdict = detail.verdict.as_ref();
    let claimed_by = item.claimed_by(now);
    let excluded = item
        .appeal
        .as_ref()
        .and_then(|a| a.excluded_actor.as_deref())
        == Some(me.as_str());
    let reviewer = user.may(roles::REVIEW);
    let escalation_ok = !item.escalated || user.session.role == Role::Admin;
    let open = item.state == ReviewState::Open;
    let next_item = next_open(state, user.tenant(), &item.id).await;
    let view = ui::ItemView {
        id: item.id.clone(),
        verdict_id: item.verdict_id.clone(),
        client_id: item.client_id.clone(),
        policy: verdict.map(|v| v.policy.clone()).unwrap_or_default(),
        content_type: item.content_type.clone(),
        reason: item.reason.as_str().to_owned(),
        state: item.state.as_str().to_owned(),
        escalated: item.escalated,
        priority: item.priority,
        suggestion: item.automated.as_str().to_owned(),
        created_at_ms: item.created_at,
        now_ms: now,
        claim: item
            .claim
            .as_ref()
            .filter(|c| c.until > now)
            .map(|c| ui::ClaimView {
                by: c.actor.clone(),
                until_ms: c.until,
                mine: c.actor == me,
            }),
        decision: item.decision.as_ref().map(decision_view),
        history: detail.history.iter().map(decision_view).collect(),
        appeal: item.appeal.as_ref().map(|a| ui::AppealView {
            of_item: a.of_item.clone(),
            statement: a.statement.clone(),
            excluded: a.excluded_actor.clone(),
        }),
        // Auditors see the decisions and the evidence, not the content itself.
        content: if !reviewer {
            ui::ContentView::NotRetained
        } else {
            match with_text(state, user, item, verdict).await {
                Some(text) => text,
                None => content_view(item, verdict),
            }
        },
        evidence: evidence_rows(verdict),
        label_choices: label_choices(),
        default_label: verdict.and_then(reviews::top_label),
        next_item,
        can_claim: reviewer
            && open
            && escalation_ok
            && !excluded
            && claimed_by.is_none_or(|by| by == me),
        can_decide: reviewer && open && escalation_ok && !excluded && claimed_by == Some(&me),
        can_appeal: reviewer && !open,
        reveal,
        flash,
    };
    page(status, ui::item_page(&user.view(), &view))
}

/// The first open item in queue order other than `current`.
async fn next_open(state: &AppState, tenant: TenantId, current: &str) -> Option<String> {
    let items = state
        .store
        .list_review_items(tenant, &Default::default(), None, 2)
        .await
        .ok()?;
    items.into_iter().map(|i| i.id).find(|id| id != current)
}

fn decision_view(d: &rampart_store::ReviewDecision) -> ui::DecisionView {
    ui::DecisionView {
        outcome: d.outcome.as_str().to_owned(),
        label: d.label.clone(),
        reason: d.reason.clone(),
        by: d.actor.clone(),
        at_ms: d.at,
    }
}

fn content_view(item: &ReviewItem, verdict: Option<&Verdict>) -> ui::ContentView {
    let url = |part: u32| format!("/console/items/{}/content/{part}", item.id);
    if item.content_type == "audio" {
        return ui::ContentView::Transcript {
            segments: transcript(verdict),
        };
    }
    if item.content.is_empty() {
        return match item.purged_at {
            Some(at) => ui::ContentView::Purged { at_ms: Some(at) },
            None => ui::ContentView::NotRetained,
        };
    }
    let first = &item.content[0];
    if item.content_type == "video" {
        return ui::ContentView::Frames {
            frames: item
                .content
                .iter()
                .map(|p| ui::FrameView {
                    url: url(p.part),
                    t_ms: p.t_ms.unwrap_or(0),
                    note: frame_note(verdict, p.t_ms.unwrap_or(0)),
                })
                .collect(),
        };
    }
    if first.media_type.starts_with("image/") {
        return ui::ContentView::Image {
            url: url(first.part),
            media_type: first.media_type.clone(),
        };
    }
    // Kept text is read by `with_text`; anything else is not shown.
    ui::ContentView::NotRetained
}

/// What the verdict found around `t_ms` in a video, for a frame's caption.
fn frame_note(verdict: Option<&Verdict>, t_ms: i64) -> String {
    let t = t_ms as f64 / 1000.0;
    let mut notes: Vec<String> = Vec::new();
    for label in verdict.map(|v| v.labels.as_slice()).unwrap_or_default() {
        if label.suggestion == Suggestion::Pass {
            continue;
        }
        for e in &label.evidence {
            if let (Some(s), Some(end)) = (e.t_start, e.t_end) {
                if t + 0.5 >= s && t <= end + 0.5 {
                    notes.push(format!(
                        "{}: {}",
                        label.label.as_str(),
                        rampart_dsa::describe(e)
                    ));
                }
            }
        }
    }
    notes.dedup();
    notes.join("; ")
}

fn transcript(verdict: Option<&Verdict>) -> Vec<ui::TranscriptSegment> {
    let mut segments: Vec<ui::TranscriptSegment> = verdict
        .map(|v| v.labels.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|l| l.evidence.iter().map(move |e| (l, e)))
        .filter(|(_, e)| e.kind == EvidenceKind::Asr)
        .map(|(l, e)| ui::TranscriptSegment {
            t_start: e.t_start.unwrap_or(0.0),
            t_end: e.t_end.unwrap_or(0.0),
            words: e
                .matched
                .clone()
                .or_else(|| e.detail.clone())
                .unwrap_or_default(),
            flagged: l.suggestion != Suggestion::Pass,
        })
        .collect();
    segments.sort_by(|a, b| a.t_start.total_cmp(&b.t_start));
    segments
}

fn evidence_rows(verdict: Option<&Verdict>) -> Vec<ui::EvidenceRow> {
    let Some(v) = verdict else {
        return Vec::new();
    };
    v.labels
        .iter()
        .filter(|l| l.suggestion != Suggestion::Pass)
        .flat_map(|l| {
            l.evidence.iter().map(move |e| ui::EvidenceRow {
                label: l.label.as_str().to_owned(),
                score: e.score.unwrap_or(l.score),
                kind: serde_json::to_value(e.kind)
                    .ok()
                    .and_then(|k| k.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                explanation: rampart_dsa::describe(e),
                t_start: e.t_start,
                t_end: e.t_end,
            })
        })
        .collect()
}

/// Fills in a text item's kept text and its highlighted evidence spans.
async fn with_text(
    state: &AppState,
    user: &User,
    item: &ReviewItem,
    verdict: Option<&Verdict>,
) -> Option<ui::ContentView> {
    let first = item.content.first()?;
    if first.media_type != crate::review::TEXT_MEDIA_TYPE {
        return None;
    }
    let part = state
        .store
        .review_content(user.tenant(), &item.id, first.part)
        .await
        .ok()??;
    let text = String::from_utf8_lossy(&part.data).into_owned();
    let spans = verdict
        .map(|v| v.labels.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|l| l.suggestion != Suggestion::Pass)
        .flat_map(|l| {
            l.evidence.iter().filter_map(move |e| {
                e.span.map(|s| ui::Highlight {
                    start: s.start,
                    end: s.end,
                    label: l.label.as_str().to_owned(),
                    note: rampart_dsa::describe(e),
                })
            })
        })
        .collect();
    Some(ui::ContentView::Text { text, spans })
}

async fn content(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, part)): Path<(String, String)>,
) -> Response {
    let user = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !user.may(roles::REVIEW) {
        return error_page(Some(&user), &forbidden("seeing content under review"));
    }
    let Ok(part) = part.parse::<u32>() else {
        return error_page(Some(&user), &ApiError::not_found("content part"));
    };
    match reviews::content_response(&state, user.tenant(), &id, part).await {
        Ok(r) => r,
        Err(e) => error_page(Some(&user), &e),
    }
}

async fn item_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (user, form) = match posted_form(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    if !user.may(roles::REVIEW) {
        return error_page(Some(&user), &forbidden("working on review items"));
    }
    let tenant = user.tenant();
    let role = user.session.role;
    let done = match action.as_str() {
        "claim" => reviews::claim(&state, tenant, role, &id)
            .await
            .map(|_| "claimed"),
        "release" => match reviews::item_of(&state, tenant, &id).await {
            Ok(_) => state
                .store
                .release_review(tenant, &id)
                .await
                .map(|_| "released")
                .map_err(ApiError::from),
            Err(e) => Err(e),
        },
        "decide" => {
            let outcome = form.get("outcome").unwrap_or("");
            reviews::decide(
                &state,
                tenant,
                role,
                &id,
                reviews::DecisionInput {
                    outcome,
                    label: form.get("label").filter(|l| !l.is_empty()),
                    reason: form.get("reason"),
                },
                ClaimRule::Required,
            )
            .await
            .map(|_| {
                if outcome == "escalate" {
                    "escalated"
                } else {
                    "decided"
                }
            })
        }
        "appeal" => match reviews::item_of(&state, tenant, &id).await {
            Ok(item) => match state
                .store
                .open_appeal(
                    tenant,
                    &item.verdict_id,
                    form.get("statement").unwrap_or(""),
                )
                .await
            {
                // Straight to the new appeal item.
                Ok(appeal) => {
                    return redirect(&format!(
                        "/console/items/{}?done=appealed",
                        encode(&appeal.id)
                    ))
                }
                Err(e) => Err(ApiError::from(e)),
            },
            Err(e) => Err(e),
        },
        _ => Err(ApiError::not_found("console action")),
    };
    match done {
        Ok(what @ ("decided" | "escalated")) => {
            let target = next_open(&state, tenant, &id).await.unwrap_or(id);
            redirect(&format!("/console/items/{}?done={what}", encode(&target)))
        }
        Ok(what) => redirect(&format!("/console/items/{}?done={what}", encode(&id))),
        Err(e) => item_page(&state, &user, &id, false, Some(failure(&e)), e.status()).await,
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ----- audit and transparency -----

#[derive(Deserialize)]
struct AuditParams {
    after: Option<u64>,
    verify: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<AuditParams>,
) -> Response {
    let user = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !user.may(roles::READ_AUDIT) && !user.may(roles::REVIEW) {
        return error_page(Some(&user), &forbidden("reading the audit log"));
    }
    const PAGE: u32 = 50;
    let tenant = user.tenant();
    let after = match params.after {
        Some(a) => a,
        // The newest page by default.
        None => match state.store.audit_head(tenant).await {
            Ok(Some(head)) => head.seq.saturating_sub(u64::from(PAGE)),
            _ => 0,
        },
    };
    let entries = match state.store.list_audit(tenant, after, PAGE).await {
        Ok(e) => e,
        Err(e) => return error_page(Some(&user), &ApiError::from(e)),
    };
    let next_after = (entries.len() == PAGE as usize)
        .then(|| entries.last().map(|(e, _)| e.seq))
        .flatten();
    let verify = if params.verify.is_some() {
        match rampart_store::verify_chain(state.store.as_ref(), tenant).await {
            Ok(report) => Some(ui::VerifyView {
                ok: report.is_intact(),
                checked: report.entries_checked,
                broken_seq: report.first_broken.as_ref().map(|b| b.seq),
                message: report
                    .first_broken
                    .as_ref()
                    .map(|b| format!("{:?}", b.reason))
                    .unwrap_or_else(|| "every link verifies".into()),
            }),
            Err(e) => return error_page(Some(&user), &ApiError::from(e)),
        }
    } else {
        None
    };
    let head = state
        .store
        .audit_head(tenant)
        .await
        .ok()
        .flatten()
        .map(|h| h.to_string());
    let view = ui::AuditView {
        entries: entries
            .into_iter()
            .rev()
            .map(|(e, _)| ui::AuditRow {
                seq: e.seq,
                ts_ms: e.ts_ms,
                actor: e.actor,
                action: e.action.as_str().to_owned(),
                subject: e.subject,
                hash: e.hash,
            })
            .collect(),
        next_after,
        verify,
        head,
        flash: None,
    };
    page(StatusCode::OK, ui::audit_page(&user.view(), &view))
}

#[derive(Deserialize)]
struct TransparencyParams {
    from: Option<String>,
    to: Option<String>,
}

async fn transparency(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<TransparencyParams>,
) -> Response {
    let user = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !user.may(roles::READ_REPORTS) {
        return error_page(Some(&user), &forbidden("reading transparency reports"));
    }
    let today = now_ms().div_euclid(86_400_000);
    let day = |d: i64| {
        rampart_dsa::Date::from_unix_days(d)
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let from = params
        .from
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| day(today - 29));
    let to = params
        .to
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| day(today));
    let mut view = ui::TransparencyView {
        from: from.clone(),
        to: to.clone(),
        ..Default::default()
    };
    match crate::routes::reports::transparency_of(&state, user.tenant(), &from, &to).await {
        Ok(r) => {
            view.by_suggestion = r.by_suggestion.into_iter().collect();
            view.by_content_type = r.by_content_type.into_iter().collect();
            view.by_label = r
                .by_label
                .into_iter()
                .map(|(label, t)| ui::LabelCount {
                    label,
                    pass: 0,
                    review: t.review,
                    block: t.block,
                })
                .collect();
            view.daily = r
                .daily
                .into_iter()
                .map(|d| ui::DayCount {
                    day: d.day,
                    pass: d.pass,
                    review: d.review,
                    block: d.block,
                    human: d.human,
                })
                .collect();
            view.automated_decisions = r.automated_decisions;
            view.human_decisions = r.human_decisions;
            view.by_outcome = r.by_outcome.into_iter().collect();
            view.median_time_to_decision_ms = r.median_time_to_decision_ms;
            view.appeals = r.appeals;
            view.appeals_decided = r.appeals_decided;
            view.reversed = r.appeals_reversed;
            view.reversal_rate = r.appeal_reversal_rate;
            view.open_items = r.open_items;
            view.escalated_items = r.escalated_items;
        }
        Err(e) => view.error = Some(e.message),
    }
    page(StatusCode::OK, ui::transparency_page(&user.view(), &view))
}

// ----- static files -----

async fn css() -> Response {
    asset("text/css; charset=utf-8", ui::CONSOLE_CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", ui::CONSOLE_JS)
}

fn asset(media_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
