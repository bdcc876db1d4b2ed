//! Term libraries and hash banks of the caller's tenant. Every change is validated before it
//! is stored, and the very next request of the tenant is moderated with it.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_hashbank::{BankConfig, BankKind, Entry, EntryHash, HashBank};
use rampart_store::{HashKind, LibrarySummary, NewBankEntry, NewLibrary};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{roles, Caller};
use crate::engine::compile_library;
use crate::error::{body_error, media_type, parse_json, ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::routes::moderate::{read_image, Binary, ImageQuery};
use crate::state::AppState;
use rampart_types::ErrorCode;

// ----- libraries -----

/// A severity as a number (1–3) or a word (`mild`, `strong`, `severe`).
#[derive(Deserialize, ToSchema, Clone)]
#[serde(untagged)]
pub enum SeverityInput {
    Number(f64),
    Word(String),
}

impl SeverityInput {
    fn as_string(&self) -> String {
        match self {
            SeverityInput::Number(n) => n.to_string(),
            SeverityInput::Word(w) => w.clone(),
        }
    }
}

/// What a library's terms do (for the OpenAPI document).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum LibraryKindName {
    Block,
    Review,
    Flag,
    Allow,
}

/// A new term library.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLibraryRequest {
    /// 1–64 characters of `a-z 0-9 _ : . -`, not starting with `.`; `builtin:` names are
    /// reserved.
    #[schema(example = "scams", pattern = "^[a-z0-9_:-][a-z0-9_:.-]{0,63}$")]
    pub name: String,
    /// `block`, `review`, `flag` (scored by severity, the policy decides) or `allow`.
    #[schema(value_type = LibraryKindName, example = "block")]
    pub kind: String,
    /// A label of the taxonomy or `custom:<name>`.
    #[schema(
        example = "custom:scams",
        pattern = "^(sexual|sexual_minors|violence|terrorism|hate|harassment|profanity|self_harm|illicit|spam|ads|pii|custom:[a-z0-9_-]{1,64})$"
    )]
    pub label: String,
    /// Default severity of the terms (default 2).
    pub severity: Option<SeverityInput>,
    /// One term per element in the library line syntax: `word`, `multi word`,
    /// `a & b`, `a ~ b`, `re:<regex>`, optionally followed by a tab, a label and a severity.
    #[serde(default)]
    pub terms: Vec<String>,
}

/// A library without its terms.
#[derive(Serialize, ToSchema)]
pub struct LibraryView {
    pub name: String,
    #[schema(value_type = LibraryKindName)]
    pub kind: String,
    pub label: String,
    pub severity: String,
    pub term_count: u64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

impl From<LibrarySummary> for LibraryView {
    fn from(s: LibrarySummary) -> Self {
        LibraryView {
            name: s.name,
            kind: s.kind,
            label: s.label,
            severity: s.severity,
            term_count: s.term_count,
            updated_at: s.updated_at,
        }
    }
}

/// The tenant's libraries.
#[derive(Serialize, ToSchema)]
pub struct LibraryList {
    pub libraries: Vec<LibraryView>,
}

/// Terms to add or remove.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermList {
    pub terms: Vec<String>,
}

/// How many terms or entries a change touched.
#[derive(Serialize, ToSchema)]
pub struct Changed {
    /// New terms/entries stored (duplicates of stored terms are skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
}

async fn library_summary(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<LibrarySummary, ApiError> {
    state
        .store
        .list_libraries(caller.tenant())
        .await?
        .into_iter()
        .find(|l| l.name == name)
        .ok_or_else(|| ApiError::not_found("library"))
}

/// List libraries.
#[utoipa::path(get, path = "/v1/libraries", tag = "libraries",
    responses((status = 200, body = LibraryList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_libraries(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LibraryList>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading libraries")?;
    let libraries = state.store.list_libraries(caller.tenant()).await?;
    Ok(Json(LibraryList {
        libraries: libraries.into_iter().map(Into::into).collect(),
    }))
}

/// Which of a new library's settings is refused (its name when kind, label and severity parse).
fn settings_field(request: &NewLibraryRequest, severity: &str) -> &'static str {
    use rampart_text::library::{LibraryKind, Severity};
    if request.kind.parse::<LibraryKind>().is_err() {
        "kind"
    } else if request.label.parse::<rampart_types::Label>().is_err() {
        "label"
    } else if severity.parse::<Severity>().is_err() {
        "severity"
    } else {
        "name"
    }
}

/// Create a library with its terms.
#[utoipa::path(post, path = "/v1/libraries", tag = "libraries", request_body = NewLibraryRequest,
    responses((status = 201, body = LibraryView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_library(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewLibraryRequest>,
) -> Result<(StatusCode, Json<LibraryView>), ApiError> {
    caller.require(roles::EDIT_LISTS, "changing libraries")?;
    if request.name.starts_with("builtin:") {
        return Err(ApiError::invalid(
            "name",
            "names starting with builtin: are reserved",
        ));
    }
    let severity = request
        .severity
        .as_ref()
        .map_or_else(|| "2".to_string(), SeverityInput::as_string);
    // The settings first, so that the error names the field at fault.
    compile_library(&request.name, &request.kind, &request.label, &severity, &[])
        .map_err(|e| ApiError::invalid(settings_field(&request, &severity), e))?;
    let compiled = compile_library(
        &request.name,
        &request.kind,
        &request.label,
        &severity,
        &request.terms,
    )
    .map_err(|e| ApiError::invalid("terms", e))?;
    let library = NewLibrary {
        name: compiled.name.clone(),
        kind: compiled.kind.as_str().to_string(),
        label: compiled.label.to_string(),
        severity: compiled.severity.value().to_string(),
        terms: request.terms,
    };
    let stored = state
        .store
        .create_library(caller.tenant(), &library)
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(library = %stored.name, terms = stored.terms.len(), by = %caller.0.key_id, "library created");
    Ok((
        StatusCode::CREATED,
        Json(LibraryView {
            term_count: stored.terms.len() as u64,
            name: stored.name,
            kind: stored.kind,
            label: stored.label,
            severity: stored.severity,
            updated_at: stored.updated_at,
        }),
    ))
}

/// Read a library's settings.
#[utoipa::path(get, path = "/v1/libraries/{name}", tag = "libraries",
    params(("name" = String, Path)),
    responses((status = 200, body = LibraryView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_library(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<LibraryView>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading libraries")?;
    Ok(Json(library_summary(&state, &caller, &name).await?.into()))
}

/// Delete a library and its terms.
#[utoipa::path(delete, path = "/v1/libraries/{name}", tag = "libraries",
    params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_library(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(roles::EDIT_LISTS, "changing libraries")?;
    state.store.delete_library(caller.tenant(), &name).await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(library = %name, by = %caller.0.key_id, "library deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A library's terms.
#[utoipa::path(get, path = "/v1/libraries/{name}/terms", tag = "libraries",
    params(("name" = String, Path)),
    responses((status = 200, body = TermList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_terms(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TermList>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading libraries")?;
    let library = state
        .store
        .get_library(caller.tenant(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found("library"))?;
    Ok(Json(TermList {
        terms: library.terms,
    }))
}

/// Terms from JSON `{"terms": […]}` or a `text/plain` body of one term per line, and the lines
/// to validate them as (all of a text body's lines, so that errors name the body's line).
async fn read_terms(
    state: &AppState,
    request: Request,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let content_type = media_type(&request);
    let body = Bytes::from_request(request, state)
        .await
        .map_err(body_error)?;
    if content_type.starts_with("text/plain") {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::invalid("terms", "the body is not UTF-8"))?;
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        let terms = lines
            .iter()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .cloned()
            .collect();
        Ok((terms, lines))
    } else if content_type.starts_with("application/json") || content_type.is_empty() {
        let terms = parse_json::<TermList>(&body)?.terms;
        Ok((terms.clone(), terms))
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMedia,
            "send JSON {\"terms\": […]} or text/plain, one term per line",
        ))
    }
}

/// Bulk import: add terms (all or nothing; already stored terms are skipped).
#[utoipa::path(post, path = "/v1/libraries/{name}/terms", tag = "libraries",
    params(("name" = String, Path)),
    request_body(content((TermList = "application/json"), (String = "text/plain")), description = "JSON, or one term per line"),
    responses((status = 200, body = Changed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_terms(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    request: Request,
) -> Result<Json<Changed>, ApiError> {
    caller.require(roles::EDIT_LISTS, "changing libraries")?;
    let (terms, lines) = read_terms(&state, request).await?;
    let library = library_summary(&state, &caller, &name).await?;
    compile_library(
        &name,
        &library.kind,
        &library.label,
        &library.severity,
        &lines,
    )
    .map_err(|e| ApiError::invalid("terms", e))?;
    let added = state
        .store
        .add_terms(caller.tenant(), &name, &terms)
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(library = %name, added, by = %caller.0.key_id, "terms added");
    Ok(Json(Changed {
        added: Some(added),
        removed: None,
    }))
}

/// Remove terms.
#[utoipa::path(delete, path = "/v1/libraries/{name}/terms", tag = "libraries",
    params(("name" = String, Path)), request_body = TermList,
    responses((status = 200, body = Changed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_terms(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<TermList>,
) -> Result<Json<Changed>, ApiError> {
    caller.require(roles::EDIT_LISTS, "changing libraries")?;
    library_summary(&state, &caller, &name).await?;
    let removed = state
        .store
        .remove_terms(caller.tenant(), &name, &request.terms)
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(library = %name, removed, by = %caller.0.key_id, "terms removed");
    Ok(Json(Changed {
        added: None,
        removed: Some(removed),
    }))
}

// ----- banks -----

/// What a bank holds (for the OpenAPI document).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum BankKindName {
    Pdq,
    Exact,
    Vpdq,
}

/// The kind of a bank entry's hash (for the OpenAPI document).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum HashKindName {
    Pdq,
    Md5,
    Sha256,
    Vpdq,
}

/// A new hash bank.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBankRequest {
    /// 1–64 characters of `a-z 0-9 _ -`.
    #[schema(example = "known-csam", pattern = "^[a-z0-9_-]{1,64}$")]
    pub name: String,
    /// What a match means, e.g. `sexual_minors`, `terrorism` or `custom:<name>`.
    #[schema(
        example = "sexual_minors",
        pattern = "^(sexual|sexual_minors|violence|terrorism|hate|harassment|profanity|self_harm|illicit|spam|ads|pii|custom:[a-z0-9_-]{1,64})$"
    )]
    pub label: String,
    /// `pdq` (perceptual, matched within `threshold` bits) or `exact` (MD5/SHA-256 of files).
    #[schema(value_type = Option<BankKindName>, example = "pdq")]
    pub kind: Option<String>,
    /// Largest Hamming distance that matches (0–256, default 31).
    #[schema(minimum = 0, maximum = 256)]
    pub threshold: Option<u32>,
    /// Query and entry hashes below this PDQ quality are not matched (default 50).
    #[schema(minimum = 0, maximum = 100)]
    pub min_quality: Option<u8>,
    /// Also match the 7 rotations and mirror images of the query.
    pub dihedral: Option<bool>,
}

/// A bank's settings and size.
#[derive(Serialize, ToSchema)]
pub struct BankView {
    pub name: String,
    pub label: String,
    /// `pdq` or `exact`.
    #[schema(value_type = BankKindName)]
    pub kind: String,
    pub threshold: u32,
    pub min_quality: u8,
    pub dihedral: bool,
    pub entry_count: u64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

fn bank_view(bank: rampart_store::Bank) -> Result<BankView, ApiError> {
    let config: BankConfig = serde_json::from_value(bank.config).map_err(ApiError::internal)?;
    Ok(BankView {
        name: bank.name,
        label: config.label,
        kind: match config.kind {
            BankKind::Pdq => "pdq".into(),
            BankKind::Exact => "exact".into(),
            BankKind::Vpdq => "vpdq".into(),
        },
        threshold: config.threshold,
        min_quality: config.min_quality,
        dihedral: config.dihedral,
        entry_count: bank.entry_count,
        updated_at: bank.updated_at,
    })
}

/// The tenant's banks.
#[derive(Serialize, ToSchema)]
pub struct BankList {
    pub banks: Vec<BankView>,
}

/// List banks.
#[utoipa::path(get, path = "/v1/banks", tag = "banks",
    responses((status = 200, body = BankList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_banks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BankList>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading banks")?;
    let banks = state.store.list_banks(caller.tenant()).await?;
    Ok(Json(BankList {
        banks: banks.into_iter().map(bank_view).collect::<Result<_, _>>()?,
    }))
}

/// Create a bank.
#[utoipa::path(post, path = "/v1/banks", tag = "banks", request_body = NewBankRequest,
    responses((status = 201, body = BankView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_bank(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewBankRequest>,
) -> Result<(StatusCode, Json<BankView>), ApiError> {
    caller.require(roles::EDIT_LISTS, "changing banks")?;
    request
        .label
        .parse::<rampart_types::Label>()
        .map_err(|e| ApiError::invalid("label", e.to_string()))?;
    let mut config = match request.kind.as_deref().unwrap_or("pdq") {
        "pdq" => BankConfig::pdq(&request.name, &request.label),
        "exact" => BankConfig::exact(&request.name, &request.label),
        "vpdq" => BankConfig::vpdq(&request.name, &request.label),
        other => {
            return Err(ApiError::invalid(
                "kind",
                format!("unknown bank kind '{other}': use pdq, exact or vpdq"),
            ))
        }
    };
    if let Some(t) = request.threshold {
        config.threshold = t;
    }
    if let Some(q) = request.min_quality {
        if q > 100 {
            return Err(ApiError::invalid("min_quality", "min_quality is 0 to 100"));
        }
        config.min_quality = q;
    }
    if let Some(d) = request.dihedral {
        config.dihedral = d;
    }
    HashBank::new(config.clone()).map_err(|e| {
        let field = match e {
            rampart_hashbank::BankError::InvalidThreshold(_) => "threshold",
            rampart_hashbank::BankError::InvalidLabel(_) => "label",
            _ => "name",
        };
        ApiError::invalid(field, e.to_string())
    })?;
    let json = serde_json::to_value(&config).map_err(ApiError::internal)?;
    let bank = state
        .store
        .create_bank(caller.tenant(), &config.name, &json)
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(bank = %bank.name, by = %caller.0.key_id, "bank created");
    Ok((StatusCode::CREATED, Json(bank_view(bank)?)))
}

/// Read a bank.
#[utoipa::path(get, path = "/v1/banks/{name}", tag = "banks", params(("name" = String, Path)),
    responses((status = 200, body = BankView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_bank(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<BankView>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading banks")?;
    let bank = state
        .store
        .get_bank(caller.tenant(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found("bank"))?;
    Ok(Json(bank_view(bank)?))
}

/// Delete a bank and its entries.
#[utoipa::path(delete, path = "/v1/banks/{name}", tag = "banks", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_bank(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(roles::EDIT_LISTS, "changing banks")?;
    state.store.delete_bank(caller.tenant(), &name).await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(bank = %name, by = %caller.0.key_id, "bank deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A bank entry.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    /// Unique within the bank.
    pub id: String,
    /// `pdq`, `md5` or `sha256`.
    #[schema(value_type = HashKindName)]
    pub kind: String,
    /// Lowercase hex.
    pub hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Unix milliseconds.
    pub added_at: i64,
}

impl From<rampart_store::BankEntry> for EntryView {
    fn from(e: rampart_store::BankEntry) -> Self {
        EntryView {
            id: e.id,
            kind: e.kind.as_str().to_string(),
            hash: e.hash,
            quality: e.quality,
            note: e.note,
            added_at: e.added_at,
        }
    }
}

/// A page of entries.
#[derive(Serialize, ToSchema)]
pub struct EntryPage {
    pub entries: Vec<EntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Paging of entry lists.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntryQuery {
    /// At most this many (1–10000, default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<usize>,
    /// Only entries after the one with this id.
    pub after: Option<String>,
}

/// List a bank's entries, oldest first.
#[utoipa::path(get, path = "/v1/banks/{name}/entries", tag = "banks", params(("name" = String, Path), EntryQuery),
    responses((status = 200, body = EntryPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<EntryQuery>,
) -> Result<Json<EntryPage>, ApiError> {
    caller.require(roles::READ_CONFIG, "reading banks")?;
    let limit = query.limit.unwrap_or(1000);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::invalid("limit", "limit must be 1 to 10000"));
    }
    let entries = state
        .store
        .list_bank_entries(caller.tenant(), &name)
        .await?;
    let start = match &query.after {
        Some(after) => entries
            .iter()
            .position(|e| &e.id == after)
            .map(|i| i + 1)
            .ok_or_else(|| ApiError::invalid("after", "no entry with that id"))?,
        None => 0,
    };
    let page: Vec<EntryView> = entries
        .into_iter()
        .skip(start)
        .take(limit)
        .map(EntryView::from)
        .collect();
    let next = (page.len() == limit)
        .then(|| page.last().map(|e| e.id.clone()))
        .flatten();
    Ok(Json(EntryPage {
        entries: page,
        next,
    }))
}

/// One hash to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// Hex digits: 64 for PDQ or SHA-256, 32 for MD5.
    #[schema(pattern = "^[0-9A-Fa-f]{32}([0-9A-Fa-f]{32})?$")]
    pub hash: String,
    /// `pdq`, `md5` or `sha256`; default `pdq` in a PDQ bank, by length in an exact bank.
    #[schema(value_type = Option<HashKindName>)]
    pub kind: Option<String>,
    /// Unique within the bank; a ULID is made when absent.
    pub id: Option<String>,
    /// PDQ quality 0–100, when known.
    #[schema(minimum = 0, maximum = 100)]
    pub quality: Option<u8>,
    /// Where the hash came from (≤ 256 bytes of UTF-8, no control characters but tab).
    #[schema(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub note: Option<String>,
}

/// Hashes to add (all or nothing).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntries {
    pub entries: Vec<NewEntry>,
    /// Store PDQ hashes below the bank's minimum quality anyway.
    #[serde(default)]
    pub force: bool,
}

/// Query of an image added to a bank.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AddImageQuery {
    /// The entry id (a ULID is made when absent).
    pub id: Option<String>,
    /// Where the image came from (≤ 256 bytes of UTF-8, no control characters but tab).
    #[param(max_length = 256, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F-\\x9F]*$")]
    pub note: Option<String>,
    /// Store the hash even if its PDQ quality is below the bank's minimum.
    pub force: Option<bool>,
}

/// The ids of the entries added.
#[derive(Serialize, ToSchema)]
pub struct AddedEntries {
    pub added: Vec<EntryView>,
}

/// Entries to remove.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryIds {
    pub ids: Vec<String>,
}

/// Add entries: JSON hashes in bulk, or one image (raw body or multipart `image` field) that
/// is hashed here (PDQ for a PDQ bank, SHA-256 of the file for an exact bank).
#[utoipa::path(post, path = "/v1/banks/{name}/entries", tag = "banks",
    params(("name" = String, Path), AddImageQuery),
    request_body(content((NewEntries = "application/json"), (Binary = "image/jpeg"), (Binary = "image/png"), (Binary = "application/octet-stream")),
        description = "Hashes as JSON, or an image to hash"),
    responses((status = 201, body = AddedEntries), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<AddImageQuery>,
    request: Request,
) -> Result<(StatusCode, Json<AddedEntries>), ApiError> {
    caller.require(roles::EDIT_LISTS, "changing banks")?;
    let bank = state
        .store
        .get_bank(caller.tenant(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found("bank"))?;
    let config: BankConfig = serde_json::from_value(bank.config).map_err(ApiError::internal)?;
    let is_json = media_type(&request).starts_with("application/json");
    let (entries, force) = if is_json {
        if query.id.is_some() || query.note.is_some() || query.force.is_some() {
            return Err(ApiError::invalid(
                "query",
                "id, note and force go in the JSON body for hashes",
            ));
        }
        let body = Bytes::from_request(request, &state)
            .await
            .map_err(body_error)?;
        let request: NewEntries = parse_json(&body)?;
        let entries = request
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                json_entry(&config, e)
                    .map_err(|m| ApiError::invalid("entries", format!("entry {i}: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        (entries, request.force)
    } else {
        let input = read_image(&state, ImageQuery::default(), request).await?;
        let entry = image_entry(&config, input.bytes, query.id, query.note).await?;
        (vec![entry], query.force.unwrap_or(false))
    };
    if entries.is_empty() {
        return Err(ApiError::invalid("entries", "no entries given"));
    }
    // Validate the batch as the matcher will see it: kind, quality, duplicate ids.
    let mut probe = HashBank::new(config.clone()).map_err(ApiError::internal)?;
    for (entry, _) in &entries {
        probe
            .add(entry.clone(), force)
            .map_err(|e| ApiError::invalid("entries", e.to_string()))?;
    }
    let new: Vec<NewBankEntry> = entries.into_iter().map(|(_, n)| n).collect();
    let added = state
        .store
        .add_bank_entries(caller.tenant(), &name, &new)
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(bank = %name, added = added.len(), by = %caller.0.key_id, "bank entries added");
    Ok((
        StatusCode::CREATED,
        Json(AddedEntries {
            added: added.into_iter().map(EntryView::from).collect(),
        }),
    ))
}

fn json_entry(config: &BankConfig, e: NewEntry) -> Result<(Entry, NewBankEntry), String> {
    let hash = e.hash.to_ascii_lowercase();
    let kind = match (e.kind.as_deref(), config.kind) {
        (Some(k), _) => k.parse::<HashKind>().map_err(|err| err.to_string())?,
        (None, BankKind::Pdq) => HashKind::Pdq,
        (None, BankKind::Exact) if hash.len() == 32 => HashKind::Md5,
        (None, BankKind::Exact) => HashKind::Sha256,
        (None, BankKind::Vpdq) => HashKind::Vpdq,
    };
    let entry_hash = match kind {
        HashKind::Pdq => EntryHash::Pdq(hash.parse().map_err(|err| format!("{err}"))?),
        HashKind::Md5 => EntryHash::md5(&hash).map_err(|err| err.to_string())?,
        HashKind::Sha256 => EntryHash::sha256(&hash).map_err(|err| err.to_string())?,
        HashKind::Vpdq => EntryHash::Vpdq(
            rampart_hashbank::decode_signature(&hash).map_err(|err| err.to_string())?,
        ),
    };
    if e.note.as_ref().is_some_and(|n| n.chars().count() > 256) {
        return Err("note is longer than 256 characters".into());
    }
    let mut entry = Entry::new(entry_hash);
    let id = e.id.unwrap_or_else(|| entry.id.clone());
    entry.id = id.clone();
    entry.quality = e.quality;
    entry.note = e.note.clone();
    Ok((
        entry,
        NewBankEntry {
            id: Some(id),
            kind,
            hash,
            quality: e.quality,
            note: e.note,
        },
    ))
}

async fn image_entry(
    config: &BankConfig,
    bytes: Bytes,
    id: Option<String>,
    note: Option<String>,
) -> Result<(Entry, NewBankEntry), ApiError> {
    let kind = config.kind;
    let (entry_hash, kind, hash, quality) =
        tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
            match kind {
                BankKind::Exact => {
                    let sha = rampart_image::content_hashes(&bytes).sha256;
                    Ok((
                        EntryHash::sha256(&sha).map_err(ApiError::internal)?,
                        HashKind::Sha256,
                        sha,
                        None,
                    ))
                }
                BankKind::Pdq => {
                    let image =
                        rampart_image::decode_for_pdq(&bytes, &rampart_image::Limits::default())
                            .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
                    let out = rampart_pdq::hash(&image.pixels());
                    Ok((
                        EntryHash::Pdq(out.hash),
                        HashKind::Pdq,
                        out.hash.to_string(),
                        Some(out.quality),
                    ))
                }
                BankKind::Vpdq => {
                    let frames = video_signature(&bytes)?;
                    let signature = rampart_hashbank::encode_signature(&frames);
                    Ok((EntryHash::Vpdq(frames), HashKind::Vpdq, signature, None))
                }
            }
        })
        .await
        .map_err(ApiError::internal)??;
    let mut entry = Entry::new(entry_hash);
    if let Some(id) = &id {
        entry.id = id.clone();
    }
    entry.quality = quality;
    entry.note = note.clone();
    let new = NewBankEntry {
        id: Some(entry.id.clone()),
        kind,
        hash,
        quality,
        note,
    };
    Ok((entry, new))
}

/// The vPDQ frames of an uploaded video (one hash per second, at native resolution), from a
/// private temporary file that is removed on return.
fn video_signature(bytes: &[u8]) -> Result<Vec<rampart_hashbank::VpdqFeature>, ApiError> {
    let mut file = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
    std::io::Write::write_all(&mut file, bytes).map_err(ApiError::internal)?;
    let options = rampart_media::vpdq::VpdqOptions {
        seconds_per_hash: 1.0,
        downsample: None,
    };
    let frames = rampart_media::vpdq::hash_video(
        file.path(),
        &options,
        &rampart_media::video::VideoLimits::default(),
    )
    .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    if frames.is_empty() {
        return Err(ApiError::new(
            ErrorCode::DecodeFailed,
            "the video has no frames to hash",
        ));
    }
    Ok(frames
        .into_iter()
        .map(|f| rampart_hashbank::VpdqFeature {
            hash: f.hash,
            quality: f.quality,
        })
        .collect())
}

/// Remove entries by id.
#[utoipa::path(delete, path = "/v1/banks/{name}/entries", tag = "banks", params(("name" = String, Path)),
    request_body = EntryIds,
    responses((status = 200, body = Changed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<EntryIds>,
) -> Result<Json<Changed>, ApiError> {
    caller.require(roles::EDIT_LISTS, "changing banks")?;
    let removed = state
        .store
        .remove_bank_entries(caller.tenant(), &name, &request.ids)
        .await?;
    state.engines.invalidate(caller.tenant());
    tracing::info!(bank = %name, removed, by = %caller.0.key_id, "bank entries removed");
    Ok(Json(Changed {
        added: None,
        removed: Some(removed),
    }))
}
