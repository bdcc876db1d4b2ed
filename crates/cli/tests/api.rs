//! End to end: every route, auth rule and error code of `rampart serve`, through the real
//! binary over raw HTTP/1.1, on SQLite and on PostgreSQL (the same body runs against both).
//!
//! Server starts per backend: one for the main scenario (started with `--fetch-allow 127.0.0.2
//! --header-timeout 1`), then one more on the same store with `--max-in-flight 1
//! --request-timeout 2 --rate-limit 2 --rate-burst 2` for load shedding, the request timeout,
//! rate limits and persistence across a restart.
//!
//! The PostgreSQL run needs `DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`),
//! `psql` and `pg_dump`; it fails, not skips, without them. Each run gets a fresh schema.
//! `RAMPART_TESTDATA` overrides the test data dir (default the repository's `data/testdata`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// A well-formed verdict id (ULID) that no one has.
const MISSING_ULID: &str = "01JD3Q8Z5Y4K2M7N9P0R1S2T3V";

/// Every `/v1` route of the router, with its methods (kept in sync with `routes/mod.rs`).
const V1_ROUTES: &[(&str, &[&str])] = &[
    ("/v1/moderate/text", &["post"]),
    ("/v1/moderate/image", &["post"]),
    ("/v1/verdicts", &["get"]),
    ("/v1/verdicts/{id}", &["get"]),
    ("/v1/keys", &["get", "post"]),
    ("/v1/keys/{id}", &["delete"]),
    ("/v1/libraries", &["get", "post"]),
    ("/v1/libraries/{name}", &["get", "delete"]),
    ("/v1/libraries/{name}/terms", &["get", "post", "delete"]),
    ("/v1/banks", &["get", "post"]),
    ("/v1/banks/{name}", &["get", "delete"]),
    ("/v1/banks/{name}/entries", &["get", "post", "delete"]),
    ("/v1/policies", &["get"]),
    ("/v1/policies/{name}", &["get", "put"]),
    ("/v1/policies/{name}/versions", &["get"]),
    ("/v1/moderate/video", &["post"]),
    ("/v1/moderate/audio", &["post"]),
    ("/v1/jobs", &["get"]),
    ("/v1/jobs/{id}", &["get"]),
    ("/v1/webhooks", &["get", "put"]),
    ("/v1/webhooks/deliveries", &["get"]),
    ("/v1/webhooks/deliveries/{id}", &["get"]),
    ("/v1/audit", &["get"]),
    ("/v1/audit/verify", &["get"]),
    ("/v1/audit/head", &["get"]),
    ("/v1/reports/dsa", &["get"]),
    ("/v1/reports/transparency", &["get"]),
    ("/v1/reviews", &["get"]),
    ("/v1/reviews/decisions", &["post"]),
    ("/v1/reviews/{id}", &["get"]),
    ("/v1/reviews/{id}/content/{part}", &["get"]),
    ("/v1/reviews/{id}/claim", &["post"]),
    ("/v1/reviews/{id}/release", &["post"]),
    ("/v1/reviews/{id}/decision", &["post"]),
    ("/v1/appeals", &["post"]),
];

// ----- small helpers -----

fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
}

fn read_testdata(rel: &str) -> Vec<u8> {
    let path = testdata().join(rel);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (data/testdata/*/README.md)", path.display()))
}

/// The reference PDQ hash of a file listed in `pdq/expected.csv`.
fn expected_pdq(file: &str) -> String {
    let csv = String::from_utf8(read_testdata("pdq/expected.csv")).unwrap();
    csv.lines()
        .find_map(|l| {
            let mut cols = l.split(',');
            (cols.next() == Some(file)).then(|| cols.next().unwrap().to_string())
        })
        .unwrap_or_else(|| panic!("{file} not in pdq/expected.csv"))
}

/// The reference PDQ hash of one of the bridge photo's rotations and flips (`rotate180`,
/// `flipx`, …), from `pdq/expected-lossless-transforms.csv`.
fn transformed_pdq(transform: &str) -> String {
    let path = testdata().join("pdq/expected-lossless-transforms.csv");
    csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .records()
        .map(Result::unwrap)
        .find(|row| &row[0] == transform)
        .map(|row| row[2].to_string())
        .unwrap_or_else(|| panic!("{transform} not in {}", path.display()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ----- HTTP -----

/// A response: status, headers (names lowercased) and body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_line = String::from_utf8_lossy(&body[..end]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_line:?}"));
        body = &body[end + 2..];
        if size == 0 || body.len() < size {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

/// Parses one HTTP/1.1 response; `None` when no complete head arrived.
fn parse_response(raw: &[u8]) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    } else if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.truncate(len);
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// Reads until the peer closes (or fails); what arrived before an error is kept.
fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 << 10];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    raw
}

#[track_caller]
fn finish(raw: &[u8], what: &str) -> Resp {
    let resp = parse_response(raw).unwrap_or_else(|| {
        panic!(
            "no HTTP response to {what}: {:?}",
            String::from_utf8_lossy(raw)
        )
    });
    // Every response carries a request id (checked on every request this file sends).
    assert!(
        resp.header("x-request-id").is_some_and(|v| !v.is_empty()),
        "{what}: no x-request-id in {:?}",
        resp.headers
    );
    resp
}

fn head_of(method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> String {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: rampart.test\r\nConnection: close\r\nContent-Length: {len}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// One request on a fresh connection.
#[track_caller]
fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = head_of(method, path, headers, body.len()).into_bytes();
    request.extend_from_slice(body);
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(&request);
    let raw = read_all(&mut stream);
    finish(&raw, &format!("{method} {path}"))
}

/// The API of one server, as one caller.
#[derive(Clone, Copy)]
struct Api {
    addr: SocketAddr,
}

impl Api {
    #[track_caller]
    fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Resp {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        http(self.addr, method, path, &headers, body)
    }

    #[track_caller]
    fn get(&self, key: &str, path: &str) -> Resp {
        self.call("GET", path, Some(key), None, b"")
    }

    #[track_caller]
    fn delete(&self, key: &str, path: &str) -> Resp {
        self.call("DELETE", path, Some(key), None, b"")
    }

    #[track_caller]
    fn json(&self, method: &str, key: &str, path: &str, body: &Value) -> Resp {
        self.call(
            method,
            path,
            Some(key),
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    #[track_caller]
    fn post(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.json("POST", key, path, body)
    }

    #[track_caller]
    fn raw(&self, method: &str, key: &str, path: &str, content_type: &str, body: &[u8]) -> Resp {
        self.call(method, path, Some(key), Some(content_type), body)
    }

    /// Moderates one text (200 expected) and returns the verdict.
    #[track_caller]
    fn moderate(&self, key: &str, body: Value) -> Value {
        ok(&self.post(key, "/v1/moderate/text", &body), 200)
    }

    #[track_caller]
    fn moderate_text(&self, key: &str, text: &str) -> Value {
        self.moderate(key, json!({ "text": text }))
    }

    #[track_caller]
    fn moderate_image(&self, key: &str, content_type: &str, bytes: &[u8]) -> Value {
        ok(
            &self.raw("POST", key, "/v1/moderate/image", content_type, bytes),
            200,
        )
    }

    /// Ids of every verdict of the caller's tenant, oldest first.
    #[track_caller]
    fn verdict_ids(&self, key: &str) -> Vec<String> {
        let page = ok(&self.get(key, "/v1/verdicts?limit=1000"), 200);
        assert!(page.get("next").is_none(), "more than 1000 verdicts");
        page["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    fn healthy(&self) {
        let resp = self.call("GET", "/healthz", None, None, b"");
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
}

/// Asserts the status and returns the JSON body (`null` for an empty one).
#[track_caller]
fn ok(resp: &Resp, status: u16) -> Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    if resp.body.is_empty() {
        Value::Null
    } else {
        resp.json()
    }
}

/// Asserts an error response with its stable code; returns `error`.
#[track_caller]
fn err(resp: &Resp, status: u16, code: &str) -> Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some(), "{body}");
    error
}

/// `invalid_request` naming `field`.
#[track_caller]
fn invalid(resp: &Resp, field: &str) -> Value {
    let error = err(resp, 400, "invalid_request");
    assert_eq!(error["field"], field, "{error}");
    error
}

fn label_names(verdict: &Value) -> Vec<String> {
    verdict["labels"]
        .as_array()
        .unwrap_or_else(|| panic!("no labels: {verdict}"))
        .iter()
        .map(|l| l["label"].as_str().unwrap().to_string())
        .collect()
}

fn label<'a>(verdict: &'a Value, name: &str) -> Option<&'a Value> {
    verdict["labels"]
        .as_array()?
        .iter()
        .find(|l| l["label"] == name)
}

/// Every piece of evidence of a verdict, with its label.
fn evidence(verdict: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for l in verdict["labels"].as_array().unwrap() {
        for e in l["evidence"].as_array().unwrap() {
            out.push((l["label"].as_str().unwrap().to_string(), e.clone()));
        }
    }
    out
}

fn cites_library(verdict: &Value, library: &str) -> bool {
    evidence(verdict)
        .iter()
        .any(|(_, e)| e["library"] == library)
}

fn names_of(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field}: {list}"))
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

/// A `multipart/form-data` body; parts are (name, optional (filename, content type), data).
/// One form field: name, optional (filename, content type), data.
type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

fn multipart(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some((filename, ct)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

// ----- the server and the store -----

struct Server {
    child: Child,
    addr: SocketAddr,
    /// Printed on the first start of a store only.
    admin_key: Option<String>,
}

/// Kills the server if a test panics part-way.
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Where the data lives: a data dir, and a PostgreSQL schema or the data dir's SQLite file.
struct Backend {
    data: PathBuf,
    /// `--store` URL; `None` for SQLite in the data dir.
    store: Option<String>,
    /// PostgreSQL: the base URL and the schema (for `pg_dump`).
    pg: Option<(String, String)>,
}

fn start(backend: &Backend, flags: &[&str]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data")
        .arg(&backend.data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(flags);
    if let Some(url) = &backend.store {
        cmd.args(["--store", url]);
    }
    let mut child = cmd
        .env_remove("RAMPART_STORE")
        .env_remove("RAMPART_FETCH_ALLOW")
        .env_remove("RAMPART_RATE_LIMIT")
        .env_remove("RAMPART_RATE_BURST")
        .env_remove("RAMPART_MAX_IN_FLIGHT")
        .env_remove("RAMPART_REQUEST_TIMEOUT")
        .env_remove("RAMPART_HEADER_TIMEOUT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rampart serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // Keep draining after the receiver is gone so the server never blocks on a pipe.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut addr, mut admin_key) = (None, None);
    while addr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("server did not print its address in time");
        if let Some(key) =
            line.strip_prefix("rampart: first start: admin key for tenant 'default' (shown once): ")
        {
            admin_key = Some(key.trim().to_string());
        }
        if let Some(a) = line.strip_prefix("rampart: listening on http://") {
            addr = Some(a.trim().parse().expect("bound address"));
        }
    }
    let addr = addr.unwrap();
    loop {
        if TcpStream::connect(addr).is_ok() && http(addr, "GET", "/healthz", &[], b"").status == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "healthz never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        addr,
        admin_key,
    }
}

/// `rampart keys create` (run while the server runs).
fn cli_key(backend: &Backend, tenant: &str, role: &str) -> String {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data")
        .arg(&backend.data)
        .args(["keys", "create", "--tenant", tenant, "--role", role]);
    if let Some(url) = &backend.store {
        cmd.args(["--store", url]);
    }
    let out = cmd
        .env_remove("RAMPART_STORE")
        .output()
        .expect("run keys create");
    assert!(
        out.status.success(),
        "keys create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must hold the key alone: {stdout:?}");
    assert!(lines[0].starts_with("rk_"), "{stdout:?}");
    lines[0].to_string()
}

/// Sends SIGTERM and waits (at most 15 s) for a clean exit.
fn terminate(server: &mut Server) {
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.child.kill();
            panic!("server did not exit within 15 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "server exit status {status}");
}

// ----- a tiny origin server for image URLs -----

/// Serves `/img.jpg` (a JPEG), `/redirect` (302 to the cloud metadata address) and 404 else;
/// counts connections.
struct Origin {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

fn origin(bind: &str, jpeg: Vec<u8>) -> Origin {
    let listener = TcpListener::bind(bind).unwrap_or_else(|e| panic!("bind {bind}: {e}"));
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let response: Vec<u8> = match path {
                "/img.jpg" => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        jpeg.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&jpeg);
                    r
                }
                "/redirect" => b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    Origin { addr, hits }
}

// ----- the scenario -----

struct Keys {
    submitter: String,
    submitter_id: String,
    moderator: String,
    auditor: String,
}

fn run_suite(backend: &Backend) {
    let jpeg = read_testdata("pdq/misc-images/small.jpg");
    // The server may fetch from 127.0.0.2 only; 127.0.0.1 stays refused.
    let allowed = origin("127.0.0.2:0", jpeg.clone());
    let loopback = origin("127.0.0.1:0", jpeg);
    let mut server = start(
        backend,
        &["--fetch-allow", "127.0.0.2", "--header-timeout", "1"],
    );
    let api = Api { addr: server.addr };
    let admin = server
        .admin_key
        .clone()
        .expect("no first-start admin key on stderr");

    operations(api);
    authentication(api, &admin);
    let keys = api_keys(api, &admin);
    roles(api, &admin, &keys);
    let first_verdict = text_and_verdicts(api, &admin);
    libraries(api, &admin, &keys);
    policies(api, &admin);
    banks(api, &admin);
    images(api, &admin, &allowed, &loopback);
    bad_input(api, &admin);
    tenants(api, backend, &admin, &keys, &first_verdict);
    privacy(api, backend, &admin);
    slow_loris(api);
    metrics_and_openapi(api, &admin);
    graceful_shutdown(&mut server, &admin);
    drop(server);
    limits_after_restart(backend, &admin, &first_verdict);
}

/// Health, readiness, request ids, unknown routes, wrong methods.
fn operations(api: Api) {
    let resp = api.call("GET", "/healthz", None, None, b"");
    assert_eq!(ok(&resp, 200), json!({"status": "ok"}));
    assert_eq!(
        ok(&api.call("GET", "/readyz", None, None, b""), 200)["status"],
        "ok"
    );

    // A sane client request id is echoed; an unsafe one is replaced.
    let resp = http(
        api.addr,
        "GET",
        "/healthz",
        &[("X-Request-Id", "req-abc_1.2")],
        b"",
    );
    assert_eq!(resp.header("x-request-id"), Some("req-abc_1.2"));
    let resp = http(
        api.addr,
        "GET",
        "/healthz",
        &[("X-Request-Id", "a b<c>")],
        b"",
    );
    assert_ne!(resp.header("x-request-id"), Some("a b<c>"));
    // Two requests get two ids.
    let a = http(api.addr, "GET", "/readyz", &[], b"");
    let b = http(api.addr, "GET", "/readyz", &[], b"");
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));

    err(&api.call("GET", "/nope", None, None, b""), 404, "not_found");
    err(
        &api.call("GET", "/v1/nope", None, None, b""),
        404,
        "not_found",
    );
    err(
        &api.call("GET", "/v1/moderate", None, None, b""),
        404,
        "not_found",
    );
    for (method, path) in [
        ("DELETE", "/v1/moderate/text"),
        ("GET", "/v1/moderate/image"),
        ("POST", "/healthz"),
        ("PUT", "/v1/keys"),
        ("POST", "/v1/policies"),
        ("PATCH", "/v1/libraries/x"),
    ] {
        let resp = api.call(method, path, None, None, b"");
        assert_eq!(resp.status, 405, "{method} {path}: {}", resp.text());
        assert_eq!(resp.json()["error"]["code"], "invalid_request");
    }
}

/// Missing, malformed and unknown keys: 401 with `WWW-Authenticate`.
fn authentication(api: Api, admin: &str) {
    let body = br#"{"text": "hi"}"#;
    let unknown = format!("Bearer rk_{}_{}", "0".repeat(16), "0".repeat(64));
    let basic = format!("Basic {admin}");
    let bare = admin.to_string();
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("no header", None),
        ("wrong scheme", Some(basic.as_str())),
        ("no scheme", Some(bare.as_str())),
        ("garbage key", Some("Bearer garbage")),
        ("empty key", Some("Bearer ")),
        ("well-formed unknown key", Some(unknown.as_str())),
    ];
    for (what, header) in cases {
        for (method, path, body) in [
            ("POST", "/v1/moderate/text", &body[..]),
            ("GET", "/v1/keys", &b""[..]),
            ("GET", "/v1/verdicts", &b""[..]),
        ] {
            let mut headers = vec![("Content-Type", "application/json")];
            if let Some(h) = header {
                headers.push(("Authorization", h));
            }
            let resp = http(api.addr, method, path, &headers, body);
            err(&resp, 401, "unauthenticated");
            assert_eq!(
                resp.header("www-authenticate"),
                Some("Bearer"),
                "{what}: {method} {path}"
            );
        }
    }
    // The scheme is case-insensitive.
    let lower = format!("bearer {admin}");
    let resp = http(
        api.addr,
        "POST",
        "/v1/moderate/text",
        &[
            ("Authorization", &lower),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
}

/// Creating (shown once), listing (no secrets) and revoking (at once) keys.
fn api_keys(api: Api, admin: &str) -> Keys {
    let mut created = Vec::new();
    for role in ["submitter", "moderator", "auditor"] {
        let body = ok(
            &api.post(
                admin,
                "/v1/keys",
                &json!({"role": role, "name": format!("{role} key")}),
            ),
            201,
        );
        let key = body["key"].as_str().unwrap().to_string();
        let id = body["id"].as_str().unwrap().to_string();
        assert!(key.starts_with("rk_"), "{body}");
        assert!(key.starts_with(&format!("rk_{id}_")), "{body}");
        assert_eq!(body["role"], role);
        assert_eq!(body["name"], format!("{role} key"));
        assert!(body["created_at"].as_i64().is_some(), "{body}");
        assert!(body.get("revoked_at").is_none(), "{body}");
        created.push((key, id));
    }

    // Listing shows every key, never a secret.
    let list = ok(&api.get(admin, "/v1/keys"), 200);
    let listed = names_of(&list, "keys", "id");
    let text = list.to_string();
    for (key, id) in &created {
        assert!(listed.contains(id), "{list}");
        let secret = &key[format!("rk_{id}_").len()..];
        assert_eq!(secret.len(), 64);
        assert!(!text.contains(secret), "a secret is listed: {list}");
    }
    let admin_secret = admin.rsplit('_').next().unwrap();
    assert!(!text.contains(admin_secret), "{list}");
    for k in list["keys"].as_array().unwrap() {
        assert!(k.get("key").is_none(), "{k}");
    }

    // Bad requests.
    invalid(
        &api.post(admin, "/v1/keys", &json!({"role": "root"})),
        "role",
    );
    invalid(
        &api.post(
            admin,
            "/v1/keys",
            &json!({"role": "admin", "name": "n".repeat(129)}),
        ),
        "name",
    );
    invalid(
        &api.post(
            admin,
            "/v1/keys",
            &json!({"role": "admin", "tenant": "other"}),
        ),
        "tenant",
    );
    invalid(&api.post(admin, "/v1/keys", &json!({})), "role");

    // Revocation takes effect on the very next request (the auth cache is dropped).
    let doomed = ok(
        &api.post(
            admin,
            "/v1/keys",
            &json!({"role": "submitter", "name": "doomed"}),
        ),
        201,
    );
    let doomed_key = doomed["key"].as_str().unwrap();
    let doomed_id = doomed["id"].as_str().unwrap();
    api.moderate_text(doomed_key, "warm the auth cache");
    assert_eq!(api.get(doomed_key, "/v1/verdicts?limit=1").status, 200);
    ok(&api.delete(admin, &format!("/v1/keys/{doomed_id}")), 204);
    let resp = api.post(doomed_key, "/v1/moderate/text", &json!({"text": "hi"}));
    err(&resp, 401, "unauthenticated");
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    err(
        &api.get(doomed_key, "/v1/verdicts?limit=1"),
        401,
        "unauthenticated",
    );
    let list = ok(&api.get(admin, "/v1/keys"), 200);
    let listed = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == doomed_id)
        .unwrap_or_else(|| panic!("revoked keys stay listed: {list}"))
        .clone();
    assert!(listed["revoked_at"].as_i64().is_some(), "{listed}");
    // Idempotent; unknown ids are 404.
    ok(&api.delete(admin, &format!("/v1/keys/{doomed_id}")), 204);
    err(
        &api.delete(admin, &format!("/v1/keys/{}", "f".repeat(16))),
        404,
        "not_found",
    );
    err(&api.delete(admin, "/v1/keys/nonsense"), 404, "not_found");

    let mut created = created.into_iter();
    let (submitter, submitter_id) = created.next().unwrap();
    let (moderator, _) = created.next().unwrap();
    let (auditor, _) = created.next().unwrap();
    Keys {
        submitter,
        submitter_id,
        moderator,
        auditor,
    }
}

/// (method, path, content type, body, roles allowed, their status); `{role}` in the path and
/// body is replaced by the caller's role.
type RoleCase<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Vec<u8>,
    &'a [&'a str],
    u16,
);

/// Which role may call which route: allowed callers get the route's status, the others 403.
fn roles(api: Api, admin: &str, keys: &Keys) {
    // Objects to read.
    ok(
        &api.post(
            admin,
            "/v1/libraries",
            &json!({"name": "roles-lib", "kind": "block", "label": "spam", "terms": ["zqxroleterm"]}),
        ),
        201,
    );
    ok(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "roles-bank", "label": "spam"}),
        ),
        201,
    );
    ok(
        &api.raw(
            "PUT",
            admin,
            "/v1/policies/roles-policy",
            "application/toml",
            b"[labels.spam]\nreview = 0.6\nblock = 0.97\n",
        ),
        201,
    );
    let verdict = api.moderate_text(admin, "a verdict to read")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let jpeg = read_testdata("pdq/misc-images/small.jpg");
    let hash = expected_pdq("reg-test-input/dih/bridge-2-rotate-90.jpg");

    const ALL: &[&str] = &["admin", "submitter", "moderator", "auditor"];
    const SUBMIT: &[&str] = &["admin", "submitter"];
    const READ_CONFIG: &[&str] = &["admin", "moderator", "auditor"];
    const EDIT_LISTS: &[&str] = &["admin", "moderator"];
    const ADMIN: &[&str] = &["admin"];
    const READ_KEYS: &[&str] = &["admin", "auditor"];
    let json_ct = Some("application/json");
    let cases: Vec<RoleCase> = vec![
        ("POST", "/v1/moderate/text".into(), json_ct, br#"{"text": "hello"}"#.to_vec(), SUBMIT, 200),
        ("POST", "/v1/moderate/image".into(), Some("image/jpeg"), jpeg, SUBMIT, 200),
        ("GET", "/v1/verdicts?limit=1".into(), None, vec![], ALL, 200),
        ("GET", format!("/v1/verdicts/{verdict}"), None, vec![], ALL, 200),
        ("GET", "/v1/keys".into(), None, vec![], READ_KEYS, 200),
        ("POST", "/v1/keys".into(), json_ct, br#"{"role": "auditor", "name": "by {role}"}"#.to_vec(), ADMIN, 201),
        ("DELETE", format!("/v1/keys/{}", "e".repeat(16)), None, vec![], ADMIN, 404),
        ("GET", "/v1/libraries".into(), None, vec![], READ_CONFIG, 200),
        ("POST", "/v1/libraries".into(), json_ct,
            br#"{"name": "lib-{role}", "kind": "review", "label": "spam", "terms": ["zqx{role}term"]}"#.to_vec(), EDIT_LISTS, 201),
        ("GET", "/v1/libraries/roles-lib".into(), None, vec![], READ_CONFIG, 200),
        ("DELETE", "/v1/libraries/no-such-lib".into(), None, vec![], EDIT_LISTS, 404),
        ("GET", "/v1/libraries/roles-lib/terms".into(), None, vec![], READ_CONFIG, 200),
        ("POST", "/v1/libraries/roles-lib/terms".into(), json_ct, br#"{"terms": ["zqxroleterm"]}"#.to_vec(), EDIT_LISTS, 200),
        ("DELETE", "/v1/libraries/roles-lib/terms".into(), json_ct, br#"{"terms": ["zqxabsent"]}"#.to_vec(), EDIT_LISTS, 200),
        ("GET", "/v1/banks".into(), None, vec![], READ_CONFIG, 200),
        ("POST", "/v1/banks".into(), json_ct, br#"{"name": "bank-{role}", "label": "spam"}"#.to_vec(), EDIT_LISTS, 201),
        ("GET", "/v1/banks/roles-bank".into(), None, vec![], READ_CONFIG, 200),
        ("DELETE", "/v1/banks/no-such-bank".into(), None, vec![], EDIT_LISTS, 404),
        ("GET", "/v1/banks/roles-bank/entries".into(), None, vec![], READ_CONFIG, 200),
        ("POST", "/v1/banks/roles-bank/entries".into(), json_ct,
            format!(r#"{{"entries": [{{"hash": "{hash}"}}]}}"#).into_bytes(), EDIT_LISTS, 201),
        ("DELETE", "/v1/banks/roles-bank/entries".into(), json_ct, br#"{"ids": ["no-such-entry"]}"#.to_vec(), EDIT_LISTS, 200),
        ("GET", "/v1/policies".into(), None, vec![], READ_CONFIG, 200),
        ("GET", "/v1/policies/roles-policy".into(), None, vec![], READ_CONFIG, 200),
        ("GET", "/v1/policies/roles-policy/versions".into(), None, vec![], READ_CONFIG, 200),
        ("PUT", "/v1/policies/policy-{role}".into(), Some("application/toml"), b"[labels.ads]\nenabled = false\n".to_vec(), ADMIN, 201),
        // The role check comes before the body is read: an empty file is decode_failed (422).
        ("POST", "/v1/moderate/video".into(), Some("video/mp4"), vec![], SUBMIT, 422),
        ("POST", "/v1/moderate/audio".into(), Some("audio/wav"), vec![], SUBMIT, 422),
        ("GET", "/v1/jobs?limit=1".into(), None, vec![], ALL, 200),
        ("GET", format!("/v1/jobs/{}", "0".repeat(26)), None, vec![], ALL, 404),
        ("GET", "/v1/webhooks".into(), None, vec![], READ_KEYS, 200),
        ("PUT", "/v1/webhooks".into(), json_ct, br#"{"rotate_secret": false}"#.to_vec(), ADMIN, 200),
        ("GET", "/v1/webhooks/deliveries".into(), None, vec![], ALL, 200),
        ("GET", format!("/v1/webhooks/deliveries/{}", "0".repeat(26)), None, vec![], ALL, 404),
        ("GET", "/v1/audit?limit=5".into(), None, vec![], READ_KEYS, 200),
        ("GET", "/v1/audit/verify".into(), None, vec![], READ_KEYS, 200),
        ("GET", "/v1/audit/head".into(), None, vec![], READ_KEYS, 200),
        ("GET", "/v1/reports/dsa?from=2026-01-01&to=2026-01-31".into(), None, vec![], READ_KEYS, 200),
    ];
    let callers = [
        ("admin", admin),
        ("submitter", keys.submitter.as_str()),
        ("moderator", keys.moderator.as_str()),
        ("auditor", keys.auditor.as_str()),
    ];
    for (method, path, ct, body, allowed, status) in &cases {
        for (role, key) in callers {
            let path = path.replace("{role}", role);
            let body = String::from_utf8(body.clone())
                .map(|b| b.replace("{role}", role).into_bytes())
                .unwrap_or_else(|e| e.into_bytes());
            let resp = api.call(method, &path, Some(key), *ct, &body);
            if allowed.contains(&role) {
                assert_eq!(
                    resp.status,
                    *status,
                    "{role}: {method} {path}: {}",
                    resp.text()
                );
            } else {
                let error = err(&resp, 403, "forbidden");
                assert!(error.get("field").is_none(), "{error}");
            }
        }
    }
    // The moderator's edits landed (and only the allowed ones did).
    let libraries = names_of(
        &ok(&api.get(admin, "/v1/libraries"), 200),
        "libraries",
        "name",
    );
    assert!(
        libraries.contains(&"lib-moderator".to_string()),
        "{libraries:?}"
    );
    assert!(
        !libraries.contains(&"lib-submitter".to_string()),
        "{libraries:?}"
    );
    assert!(
        !libraries.contains(&"lib-auditor".to_string()),
        "{libraries:?}"
    );
    err(
        &api.get(admin, "/v1/policies/policy-moderator"),
        404,
        "not_found",
    );
    ok(&api.get(admin, "/v1/policies/policy-admin"), 200);
    let bank = ok(&api.get(admin, "/v1/banks/roles-bank"), 200);
    assert_eq!(bank["entry_count"], 2, "{bank}");
}

/// Single and batch text moderation, reading verdicts back, paging. Returns a verdict id.
fn text_and_verdicts(api: Api, admin: &str) -> String {
    let one = api.moderate(
        admin,
        json!({"text": "hello there, nice weather", "client_id": "post-1", "lang": "en"}),
    );
    assert_eq!(one["content_type"], "text");
    assert_eq!(one["content_ref"]["client_id"], "post-1");
    assert_eq!(
        one["content_ref"]["sha256"],
        sha256_hex(b"hello there, nice weather")
    );
    assert_eq!(one["policy"], "default@1", "{one}");
    assert!(one["models"].as_array().is_some(), "{one}");
    let first = one["id"].as_str().unwrap().to_string();

    // A batch answers in order.
    let texts = [
        "first zqx text",
        "you are a fucking idiot",
        "third zqx text",
    ];
    let batch = ok(
        &api.post(
            admin,
            "/v1/moderate/text",
            &json!({"texts": texts, "client_id": "batch-1"}),
        ),
        200,
    );
    let verdicts = batch["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 3, "{batch}");
    let mut ids = Vec::new();
    for (verdict, text) in verdicts.iter().zip(texts) {
        assert_eq!(
            verdict["content_ref"]["sha256"],
            sha256_hex(text.as_bytes())
        );
        assert_eq!(verdict["content_ref"]["client_id"], "batch-1");
        ids.push(verdict["id"].as_str().unwrap().to_string());
    }
    assert_eq!(verdicts[1]["suggestion"], "block", "{batch}");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3);
    for (id, text) in ids.iter().zip(texts) {
        let stored = ok(&api.get(admin, &format!("/v1/verdicts/{id}")), 200);
        assert_eq!(stored["id"], id.as_str());
        assert_eq!(stored["content_ref"]["sha256"], sha256_hex(text.as_bytes()));
        assert!(stored["recorded_at"].as_i64().is_some(), "{stored}");
    }
    let stored = ok(&api.get(admin, &format!("/v1/verdicts/{first}")), 200);
    assert_eq!(stored["content_ref"]["client_id"], "post-1");
    err(
        &api.get(admin, &format!("/v1/verdicts/{MISSING_ULID}")),
        404,
        "not_found",
    );
    err(&api.get(admin, "/v1/verdicts/not-a-ulid"), 404, "not_found");

    // Paging walks every verdict once, in order.
    let all = api.verdict_ids(admin);
    // (Verdicts of one batch share a millisecond, and ULIDs are not monotonic within one, so
    // their listed order is not the batch's order.)
    for id in &ids {
        assert!(all.contains(id), "{id} is not listed");
    }
    let mut walked = Vec::new();
    let mut path = "/v1/verdicts?limit=2".to_string();
    loop {
        let page = ok(&api.get(admin, &path), 200);
        let got = page["verdicts"].as_array().unwrap();
        assert!(got.len() <= 2, "{page}");
        walked.extend(got.iter().map(|v| v["id"].as_str().unwrap().to_string()));
        match page.get("next").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(got.len(), 2, "a page with next is full: {page}");
                path = format!("/v1/verdicts?limit=2&after={next}");
            }
            None => break,
        }
        assert!(walked.len() <= all.len(), "paging does not end");
    }
    assert_eq!(walked, all);
    assert!(all.len() > 2);
    invalid(&api.get(admin, "/v1/verdicts?limit=0"), "limit");
    invalid(&api.get(admin, "/v1/verdicts?limit=1001"), "limit");
    err(
        &api.get(admin, "/v1/verdicts?limit=x"),
        400,
        "invalid_request",
    );
    err(
        &api.get(admin, "/v1/verdicts?bogus=1"),
        400,
        "invalid_request",
    );
    first
}

/// Term libraries: create, live reload, bulk import, removal, validation, deletion.
fn libraries(api: Api, admin: &str, keys: &Keys) {
    let scam = "try the crypto doubler today";
    assert!(!cites_library(&api.moderate_text(admin, scam), "scams"));
    let created = ok(
        &api.post(
            admin,
            "/v1/libraries",
            &json!({"name": "scams", "kind": "block", "label": "custom:scams", "severity": 3,
                    "terms": ["crypto doubler"]}),
        ),
        201,
    );
    assert_eq!(created["name"], "scams");
    assert_eq!(created["kind"], "block");
    assert_eq!(created["label"], "custom:scams");
    assert_eq!(created["term_count"], 1);

    // The very next request uses it.
    let verdict = api.moderate_text(admin, scam);
    assert_eq!(verdict["suggestion"], "block", "{verdict}");
    let l = label(&verdict, "custom:scams").unwrap_or_else(|| panic!("{verdict}"));
    assert_eq!(l["suggestion"], "block");
    let e = &l["evidence"][0];
    assert_eq!(e["library"], "scams", "{verdict}");
    assert_eq!(e["term"], "crypto doubler");
    assert_eq!(e["matched"], "crypto doubler");
    assert_eq!(e["span"], json!([8, 22]));

    let got = ok(&api.get(admin, "/v1/libraries/scams"), 200);
    assert_eq!(got["label"], "custom:scams");
    assert_eq!(got["term_count"], 1);
    let listed = names_of(
        &ok(&api.get(admin, "/v1/libraries"), 200),
        "libraries",
        "name",
    );
    assert!(listed.contains(&"scams".to_string()), "{listed:?}");

    // JSON import; stored terms are skipped.
    let added = ok(
        &api.post(
            admin,
            "/v1/libraries/scams/terms",
            &json!({"terms": ["wire me bitcoins", "crypto doubler"]}),
        ),
        200,
    );
    assert_eq!(added, json!({"added": 1}));
    assert!(cites_library(
        &api.moderate_text(admin, "please wire me bitcoins now"),
        "scams"
    ));
    // Bulk import as text/plain, one term per line, comments and blank lines skipped.
    let bulk = "# bulk import\nmoney flipper\n\nre:\\bgold\\s+multiplier\\b\r\ncrypto doubler\n";
    let added = ok(
        &api.raw(
            "POST",
            admin,
            "/v1/libraries/scams/terms",
            "text/plain; charset=utf-8",
            bulk.as_bytes(),
        ),
        200,
    );
    assert_eq!(added, json!({"added": 2}));
    assert!(cites_library(
        &api.moderate_text(admin, "a money flipper"),
        "scams"
    ));
    assert!(cites_library(
        &api.moderate_text(admin, "the gold   multiplier works"),
        "scams"
    ));
    // A moderator may edit lists too.
    let added = ok(
        &api.post(
            &keys.moderator,
            "/v1/libraries/scams/terms",
            &json!({"terms": ["zqxmodterm"]}),
        ),
        200,
    );
    assert_eq!(added["added"], 1);
    let terms = ok(&api.get(admin, "/v1/libraries/scams/terms"), 200);
    let terms: BTreeSet<&str> = terms["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = [
        "crypto doubler",
        "wire me bitcoins",
        "money flipper",
        "re:\\bgold\\s+multiplier\\b",
        "zqxmodterm",
    ]
    .into();
    assert_eq!(terms, want);

    // Removing a term stops it matching on the next request.
    let removed = api.json(
        "DELETE",
        admin,
        "/v1/libraries/scams/terms",
        &json!({"terms": ["crypto doubler", "never stored"]}),
    );
    assert_eq!(ok(&removed, 200), json!({"removed": 1}));
    let verdict = api.moderate_text(admin, scam);
    assert!(!cites_library(&verdict, "scams"), "{verdict}");
    assert!(label(&verdict, "custom:scams").is_none(), "{verdict}");

    // A bad regex is refused, naming its line; nothing of the batch is stored.
    let resp = api.raw(
        "POST",
        admin,
        "/v1/libraries/scams/terms",
        "text/plain",
        b"# header\nfine new term\nre:(\n",
    );
    let error = invalid(&resp, "terms");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("line 3"),
        "the error names the body's line 3 (the bad regex): {message}"
    );
    let resp = api.post(
        admin,
        "/v1/libraries/scams/terms",
        &json!({"terms": ["fine new term", "re:("]}),
    );
    assert!(invalid(&resp, "terms")["message"]
        .as_str()
        .unwrap()
        .contains("line 2"));
    let count = ok(&api.get(admin, "/v1/libraries/scams"), 200)["term_count"].clone();
    assert_eq!(count, 4);
    let resp = api.post(
        admin,
        "/v1/libraries",
        &json!({"name": "badre", "kind": "block", "label": "spam", "terms": ["ok", "re:("]}),
    );
    assert!(invalid(&resp, "terms")["message"]
        .as_str()
        .unwrap()
        .contains("line 2"));
    err(&api.get(admin, "/v1/libraries/badre"), 404, "not_found");
    // Names, kinds, labels, shapes.
    invalid(
        &api.post(
            admin,
            "/v1/libraries",
            &json!({"name": "builtin:x", "kind": "block", "label": "spam", "terms": []}),
        ),
        "name",
    );
    for (bad, field) in [
        (
            json!({"name": "X1", "kind": "block", "label": "spam"}),
            "name",
        ),
        (
            json!({"name": "x1", "kind": "nope", "label": "spam"}),
            "kind",
        ),
        (
            json!({"name": "x1", "kind": "block", "label": "politics"}),
            "label",
        ),
        (
            json!({"name": "x1", "kind": "block", "label": "spam", "severity": 9}),
            "severity",
        ),
        (
            json!({"name": "x1", "kind": "block", "label": "spam", "terms": ["a\nb"]}),
            "terms",
        ),
        (
            json!({"name": "x1", "kind": "block", "label": "spam", "terms": [" "]}),
            "terms",
        ),
        (
            json!({"name": "x1", "kind": "block", "label": "spam", "colour": "red"}),
            "colour",
        ),
        (json!({"name": "x1", "kind": "block"}), "label"),
    ] {
        invalid(&api.post(admin, "/v1/libraries", &bad), field);
    }
    err(
        &api.post(
            admin,
            "/v1/libraries",
            &json!({"name": "x1", "kind": "block", "label": "spam", "terms": "a"}),
        ),
        400,
        "invalid_request",
    );
    err(&api.get(admin, "/v1/libraries/x1"), 404, "not_found");
    err(
        &api.post(
            admin,
            "/v1/libraries",
            &json!({"name": "scams", "kind": "flag", "label": "spam"}),
        ),
        409,
        "conflict",
    );
    err(
        &api.raw(
            "POST",
            admin,
            "/v1/libraries/scams/terms",
            "image/png",
            b"x",
        ),
        415,
        "unsupported_media",
    );
    err(
        &api.post(
            admin,
            "/v1/libraries/scams/terms",
            &json!({"terms": ["a"], "x": 1}),
        ),
        400,
        "invalid_request",
    );
    err(
        &api.call(
            "POST",
            "/v1/libraries/scams/terms",
            Some(admin),
            Some("application/json"),
            b"{\"terms\": [",
        ),
        400,
        "invalid_json",
    );
    err(
        &api.post(admin, "/v1/libraries/nope/terms", &json!({"terms": ["a"]})),
        404,
        "not_found",
    );
    err(
        &api.get(admin, "/v1/libraries/nope/terms"),
        404,
        "not_found",
    );
    err(
        &api.json(
            "DELETE",
            admin,
            "/v1/libraries/nope/terms",
            &json!({"terms": ["a"]}),
        ),
        404,
        "not_found",
    );

    // Deleting a library: 204, then gone, and it no longer matches.
    ok(&api.delete(admin, "/v1/libraries/scams"), 204);
    err(&api.get(admin, "/v1/libraries/scams"), 404, "not_found");
    err(
        &api.get(admin, "/v1/libraries/scams/terms"),
        404,
        "not_found",
    );
    err(&api.delete(admin, "/v1/libraries/scams"), 404, "not_found");
    assert!(!cites_library(
        &api.moderate_text(admin, "please wire me bitcoins now"),
        "scams"
    ));
}

/// Versioned policies: a change is a new version, old versions stay usable and readable.
fn policies(api: Api, admin: &str) {
    let profane = "this shit is great";
    let before = api.moderate_text(admin, profane);
    assert!(
        label_names(&before).contains(&"profanity".to_string()),
        "{before}"
    );
    let list = ok(&api.get(admin, "/v1/policies"), 200);
    assert_eq!(list["default"], "default@1", "{list}");
    let base = ok(&api.get(admin, "/v1/policies/default"), 200);
    assert_eq!(base["source"], "data_dir", "{base}");
    // The server's own policy is version 1 of `default`; stored versions are numbered above it.
    let versions = ok(&api.get(admin, "/v1/policies/default/versions"), 200);
    assert_eq!(names_of(&versions, "versions", "id"), ["default@1"]);

    let v1 = ok(
        &api.raw(
            "PUT",
            admin,
            "/v1/policies/default",
            "application/toml",
            b"[labels.profanity]\nenabled = false\n",
        ),
        201,
    );
    assert_eq!(v1["version"], 2, "{v1}");
    assert_eq!(v1["id"], "default@2");
    assert_eq!(v1["name"], "default");
    let after = api.moderate_text(admin, profane);
    assert_eq!(after["policy"], "default@2", "{after}");
    assert!(
        !label_names(&after).contains(&"profanity".to_string()),
        "{after}"
    );
    let stored = ok(&api.get(admin, "/v1/policies/default"), 200);
    assert_eq!(stored["source"], "stored");
    assert!(stored["toml"].as_str().unwrap().contains("enabled = false"));

    // A second version, as JSON.
    let v2 = ok(
        &api.json(
            "PUT",
            admin,
            "/v1/policies/default",
            &json!({"toml": "[labels.ads]\nenabled = false\n"}),
        ),
        201,
    );
    assert_eq!(
        (v2["version"].clone(), v2["id"].clone()),
        (json!(3), json!("default@3"))
    );
    let latest = api.moderate_text(admin, profane);
    assert_eq!(latest["policy"], "default@3");
    assert!(
        label_names(&latest).contains(&"profanity".to_string()),
        "{latest}"
    );
    let by_name = api.moderate(admin, json!({"text": profane, "policy": "default"}));
    assert_eq!(by_name["policy"], "default@3");
    // The old version is still usable by id, and readable.
    let old = api.moderate(admin, json!({"text": profane, "policy": "default@2"}));
    assert_eq!(old["policy"], "default@2", "{old}");
    assert!(
        !label_names(&old).contains(&"profanity".to_string()),
        "{old}"
    );
    // So is the server's own version 1, which verdicts before the first PUT cite.
    let builtin = api.moderate(admin, json!({"text": profane, "policy": "default@1"}));
    assert_eq!(builtin["policy"], "default@1", "{builtin}");
    assert!(
        label_names(&builtin).contains(&"profanity".to_string()),
        "{builtin}"
    );
    let read_base = ok(&api.get(admin, "/v1/policies/default?version=1"), 200);
    assert_eq!(read_base["source"], "data_dir", "{read_base}");
    let read_v2 = ok(&api.get(admin, "/v1/policies/default?version=2"), 200);
    assert_eq!(read_v2["version"], 2);
    assert!(read_v2["toml"].as_str().unwrap().contains("profanity"));
    let read_v3 = ok(&api.get(admin, "/v1/policies/default?version=3"), 200);
    assert!(read_v3["toml"].as_str().unwrap().contains("ads"));
    err(
        &api.get(admin, "/v1/policies/default?version=4"),
        404,
        "not_found",
    );
    err(
        &api.get(admin, "/v1/policies/default?version=x"),
        400,
        "invalid_request",
    );
    let versions = ok(&api.get(admin, "/v1/policies/default/versions"), 200);
    let ids = names_of(&versions, "versions", "id");
    assert_eq!(ids, ["default@1", "default@2", "default@3"]);
    let list = ok(&api.get(admin, "/v1/policies"), 200);
    assert_eq!(list["default"], "default@3", "{list}");
    let default = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "default")
        .unwrap();
    assert_eq!(default["version"], 3, "{list}");

    // Unknown policies, bad TOML, unknown labels, bad thresholds, wrong media type.
    for policy in ["nope", "default@9", "default@x", "roles-policy@7"] {
        invalid(
            &api.post(
                admin,
                "/v1/moderate/text",
                &json!({"text": "hi", "policy": policy}),
            ),
            "policy",
        );
    }
    for bad in [
        "not toml [",
        "[labels.politics]\nreview = 0.5\n",
        "[labels.spam]\nreview = 0.9\nblock = 0.5\n",
        "[labels.spam]\nreview = 7\n",
        "[text]\nshout = true\n",
    ] {
        invalid(
            &api.raw(
                "PUT",
                admin,
                "/v1/policies/default",
                "application/toml",
                bad.as_bytes(),
            ),
            "toml",
        );
    }
    err(
        &api.raw("PUT", admin, "/v1/policies/default", "image/png", b"x"),
        415,
        "unsupported_media",
    );
    err(
        &api.json(
            "PUT",
            admin,
            "/v1/policies/default",
            &json!({"toml": "", "x": 1}),
        ),
        400,
        "invalid_request",
    );
    invalid(
        &api.raw(
            "PUT",
            admin,
            "/v1/policies/bad%20name",
            "application/toml",
            b"",
        ),
        "name",
    );
    let versions = ok(&api.get(admin, "/v1/policies/default/versions"), 200);
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        3,
        "{versions}"
    );
    err(&api.get(admin, "/v1/policies/nope"), 404, "not_found");
    err(
        &api.get(admin, "/v1/policies/nope/versions"),
        404,
        "not_found",
    );
}

/// Hash banks: PDQ by image and by hash, exact by SHA-256, paging, removal.
fn banks(api: Api, admin: &str) {
    let image_file = "bridge-mods/shrink-a-lot.jpg";
    let image = read_testdata(&format!("pdq/{image_file}"));
    let before = api.moderate_image(admin, "image/jpeg", &image);
    assert!(label(&before, "terrorism").is_none(), "{before}");

    let bank = ok(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "known", "label": "terrorism", "kind": "pdq"}),
        ),
        201,
    );
    assert_eq!(bank["kind"], "pdq");
    assert_eq!(bank["label"], "terrorism");
    assert_eq!(bank["entry_count"], 0);
    let added = ok(
        &api.raw(
            "POST",
            admin,
            "/v1/banks/known/entries?note=seen",
            "image/jpeg",
            &image,
        ),
        201,
    );
    let entry = &added["added"][0];
    let pdq = expected_pdq(image_file);
    assert_eq!(entry["hash"], pdq.as_str(), "{added}");
    assert_eq!(entry["kind"], "pdq");
    assert_eq!(entry["note"], "seen");
    assert!(entry["quality"].as_u64().unwrap() >= 50);
    let image_entry = entry["id"].as_str().unwrap().to_string();

    // The next image request matches it.
    let verdict = api.moderate_image(admin, "image/jpeg", &image);
    assert_eq!(verdict["content_ref"]["pdq"], pdq.as_str());
    assert_eq!(verdict["suggestion"], "block", "{verdict}");
    let l = label(&verdict, "terrorism").unwrap_or_else(|| panic!("{verdict}"));
    let e = &l["evidence"][0];
    assert_eq!(e["kind"], "hash", "{verdict}");
    assert_eq!(e["bank"], "known");
    assert_eq!(e["entry_id"], image_entry.as_str());
    assert_eq!(e["distance"], 0);
    // A resized copy is a near match.
    let near = api.moderate_image(
        admin,
        "image/jpeg",
        &read_testdata("pdq/bridge-mods/square-128x128.jpg"),
    );
    let l = label(&near, "terrorism").unwrap_or_else(|| panic!("{near}"));
    let distance = l["evidence"][0]["distance"].as_u64().unwrap();
    assert!((1..=31).contains(&distance), "{near}");

    // Hashes as JSON.
    let h1 = transformed_pdq("rotate180");
    let h2 = transformed_pdq("rotate270");
    let added = ok(
        &api.post(
            admin,
            "/v1/banks/known/entries",
            &json!({"entries": [{"hash": h1, "note": "partner"}, {"hash": h2.to_uppercase(), "id": "my-entry", "quality": 90}]}),
        ),
        201,
    );
    let added = added["added"].as_array().unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["hash"], h1.as_str());
    assert_eq!(added[1]["id"], "my-entry");
    assert_eq!(added[1]["hash"], h2.as_str());
    for bad in [
        json!({"entries": [{"hash": "xyz"}]}),
        json!({"entries": [{"hash": "ab".repeat(31)}]}),
        json!({"entries": [{"hash": h1, "kind": "crc32"}]}),
        json!({"entries": []}),
        json!({"entries": [{"hash": h1, "colour": 1}]}),
        json!({"hashes": [h1]}),
    ] {
        err(
            &api.post(admin, "/v1/banks/known/entries", &bad),
            400,
            "invalid_request",
        );
    }
    err(
        &api.post(
            admin,
            "/v1/banks/known/entries",
            &json!({"entries": [{"hash": h1, "id": "my-entry"}]}),
        ),
        409,
        "conflict",
    );
    err(
        &api.raw(
            "POST",
            admin,
            "/v1/banks/known/entries",
            "image/jpeg",
            b"not an image",
        ),
        415,
        "unsupported_media",
    );
    err(
        &api.raw("POST", admin, "/v1/banks/known/entries", "text/plain", b"x"),
        415,
        "unsupported_media",
    );
    err(
        &api.post(
            admin,
            "/v1/banks/nope/entries",
            &json!({"entries": [{"hash": h1}]}),
        ),
        404,
        "not_found",
    );

    // Paging.
    let mut ids = Vec::new();
    let mut path = "/v1/banks/known/entries?limit=1".to_string();
    loop {
        let page = ok(&api.get(admin, &path), 200);
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 1);
        ids.extend(
            entries
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        match page.get("next").and_then(Value::as_str) {
            Some(next) => path = format!("/v1/banks/known/entries?limit=1&after={next}"),
            None => break,
        }
        assert!(ids.len() <= 3, "paging does not end");
    }
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], image_entry);
    let all = ok(&api.get(admin, "/v1/banks/known/entries"), 200);
    assert_eq!(names_of(&all, "entries", "id"), ids);
    invalid(&api.get(admin, "/v1/banks/known/entries?limit=0"), "limit");
    invalid(
        &api.get(admin, "/v1/banks/known/entries?after=nope"),
        "after",
    );
    err(&api.get(admin, "/v1/banks/nope/entries"), 404, "not_found");
    assert_eq!(
        ok(&api.get(admin, "/v1/banks/known"), 200)["entry_count"],
        3
    );

    // Removing the image's entry stops the match.
    let removed = api.json(
        "DELETE",
        admin,
        "/v1/banks/known/entries",
        &json!({"ids": [image_entry, "never-there"]}),
    );
    assert_eq!(ok(&removed, 200), json!({"removed": 1}));
    let verdict = api.moderate_image(admin, "image/jpeg", &image);
    assert!(label(&verdict, "terrorism").is_none(), "{verdict}");
    assert_eq!(
        ok(&api.get(admin, "/v1/banks/known"), 200)["entry_count"],
        2
    );
    err(
        &api.json(
            "DELETE",
            admin,
            "/v1/banks/nope/entries",
            &json!({"ids": ["a"]}),
        ),
        404,
        "not_found",
    );

    // Bank settings.
    invalid(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "b2", "label": "spam", "kind": "md4"}),
        ),
        "kind",
    );
    invalid(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "b2", "label": "politics"}),
        ),
        "label",
    );
    invalid(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "b2", "label": "spam", "min_quality": 101}),
        ),
        "min_quality",
    );
    invalid(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "Bad Name!", "label": "spam"}),
        ),
        "name",
    );
    invalid(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "b2", "label": "spam", "threshold": 999}),
        ),
        "threshold",
    );
    err(&api.get(admin, "/v1/banks/b2"), 404, "not_found");
    err(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "known", "label": "spam"}),
        ),
        409,
        "conflict",
    );
    let listed = names_of(&ok(&api.get(admin, "/v1/banks"), 200), "banks", "name");
    assert!(listed.contains(&"known".to_string()), "{listed:?}");

    // An exact bank matches the file's SHA-256.
    let small = read_testdata("pdq/misc-images/small.jpg");
    ok(
        &api.post(
            admin,
            "/v1/banks",
            &json!({"name": "exact1", "label": "custom:exactmatch", "kind": "exact"}),
        ),
        201,
    );
    let added = ok(
        &api.raw(
            "POST",
            admin,
            "/v1/banks/exact1/entries",
            "image/jpeg",
            &small,
        ),
        201,
    );
    assert_eq!(added["added"][0]["kind"], "sha256");
    assert_eq!(added["added"][0]["hash"], sha256_hex(&small));
    let verdict = api.moderate_image(admin, "image/jpeg", &small);
    let l = label(&verdict, "custom:exactmatch").unwrap_or_else(|| panic!("{verdict}"));
    assert_eq!(l["evidence"][0]["kind"], "exact_hash", "{verdict}");
    assert_eq!(l["evidence"][0]["bank"], "exact1");
    ok(&api.delete(admin, "/v1/banks/exact1"), 204);
    err(&api.get(admin, "/v1/banks/exact1"), 404, "not_found");
    err(&api.delete(admin, "/v1/banks/exact1"), 404, "not_found");
    let verdict = api.moderate_image(admin, "image/jpeg", &small);
    assert!(label(&verdict, "custom:exactmatch").is_none(), "{verdict}");
}

/// Image input as raw body, multipart and URL, and its refusals.
fn images(api: Api, admin: &str, allowed: &Origin, loopback: &Origin) {
    let jpeg = read_testdata("pdq/misc-images/small.jpg");
    let verdict = ok(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image?client_id=raw-1",
            "image/jpeg",
            &jpeg,
        ),
        200,
    );
    assert_eq!(verdict["content_type"], "image");
    assert_eq!(verdict["content_ref"]["sha256"], sha256_hex(&jpeg));
    assert_eq!(verdict["content_ref"]["client_id"], "raw-1");
    assert_eq!(
        verdict["content_ref"]["pdq"].as_str().map(str::len),
        Some(64),
        "{verdict}"
    );
    // A policy version by query string, and an unknown one.
    let old = ok(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image?policy=default@1",
            "image/jpeg",
            &jpeg,
        ),
        200,
    );
    assert_eq!(old["policy"], "default@1", "{old}");
    invalid(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image?policy=nope",
            "image/jpeg",
            &jpeg,
        ),
        "policy",
    );
    let png = read_testdata("pdq/lossless/misc-images/wee.jpg.png");
    assert_eq!(
        api.moderate_image(admin, "image/png", &png)["content_type"],
        "image"
    );
    api.moderate_image(admin, "application/octet-stream", &jpeg);

    // Multipart, built by hand.
    let boundary = "rampart-test-boundary-7MA4YWxk";
    let ct = format!("multipart/form-data; boundary={boundary}");
    let body = multipart(
        boundary,
        &[
            ("image", Some(("small.jpg", "image/jpeg")), &jpeg),
            ("client_id", None, b"form-1"),
        ],
    );
    let verdict = ok(
        &api.raw("POST", admin, "/v1/moderate/image", &ct, &body),
        200,
    );
    assert_eq!(verdict["content_ref"]["client_id"], "form-1");
    assert_eq!(verdict["content_ref"]["sha256"], sha256_hex(&jpeg));
    let body = multipart(
        boundary,
        &[
            ("image", Some(("small.jpg", "image/jpeg")), &jpeg),
            ("caption", None, b"hello"),
        ],
    );
    invalid(
        &api.raw("POST", admin, "/v1/moderate/image", &ct, &body),
        "multipart",
    );
    let body = multipart(boundary, &[("client_id", None, b"form-2")]);
    invalid(
        &api.raw("POST", admin, "/v1/moderate/image", &ct, &body),
        "image",
    );
    err(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image",
            &ct,
            b"not multipart at all",
        ),
        400,
        "invalid_request",
    );

    // URLs: loopback, link-local and redirects to them are refused; allow-listed hosts work.
    let blocked = |url: &str| {
        let resp = api.post(admin, "/v1/moderate/image", &json!({ "url": url }));
        let error = err(&resp, 400, "fetch_blocked");
        assert_eq!(error["field"], "url", "{error}");
        error
    };
    blocked("http://127.0.0.1:1/x");
    blocked(&format!("http://{}/img.jpg", loopback.addr));
    assert_eq!(
        loopback.hits.load(Ordering::SeqCst),
        0,
        "a refused address was connected to"
    );
    blocked("http://169.254.169.254/latest/meta-data");
    blocked("http://[::1]/x");
    blocked("http://2130706433/x");
    let before = allowed.hits.load(Ordering::SeqCst);
    blocked(&format!("http://{}/redirect", allowed.addr));
    assert_eq!(
        allowed.hits.load(Ordering::SeqCst),
        before + 1,
        "the redirect itself was fetched, its target refused"
    );
    let fetched = api.post(
        admin,
        "/v1/moderate/image",
        &json!({"url": format!("http://{}/img.jpg", allowed.addr), "client_id": "url-1"}),
    );
    let verdict = ok(&fetched, 200);
    assert_eq!(verdict["content_ref"]["sha256"], sha256_hex(&jpeg));
    assert_eq!(verdict["content_ref"]["client_id"], "url-1");
    blocked(&format!("http://{}/missing.jpg", allowed.addr));
    for url in ["ftp://x", "not a url", "http://user:pw@example.com/x.jpg"] {
        invalid(
            &api.post(admin, "/v1/moderate/image", &json!({ "url": url })),
            "url",
        );
    }
    invalid(
        &api.post(
            admin,
            "/v1/moderate/image",
            &json!({"url": "http://x/", "extra": 1}),
        ),
        "extra",
    );
    err(
        &api.call(
            "POST",
            "/v1/moderate/image",
            Some(admin),
            Some("application/json"),
            b"{\"url\": ",
        ),
        400,
        "invalid_json",
    );

    // Wrong media, undecodable bytes.
    err(
        &api.raw("POST", admin, "/v1/moderate/image", "text/plain", b"hello"),
        415,
        "unsupported_media",
    );
    err(
        &api.call("POST", "/v1/moderate/image", Some(admin), None, &jpeg),
        415,
        "unsupported_media",
    );
    err(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image",
            "image/jpeg",
            &jpeg[..300],
        ),
        422,
        "decode_failed",
    );
    let mut fake = b"\xff\xd8\xff\xe0".to_vec();
    fake.extend_from_slice(&[0x5a; 200]);
    err(
        &api.raw("POST", admin, "/v1/moderate/image", "image/jpeg", &fake),
        422,
        "decode_failed",
    );
    err(
        &api.raw("POST", admin, "/v1/moderate/image", "image/jpeg", b""),
        422,
        "decode_failed",
    );
    // Bytes that are no image format at all, whatever the Content-Type says.
    err(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image",
            "image/jpeg",
            b"garbage bytes, not a picture",
        ),
        415,
        "unsupported_media",
    );
    invalid(
        &api.raw(
            "POST",
            admin,
            &format!("/v1/moderate/image?client_id={}", "c".repeat(257)),
            "image/jpeg",
            &jpeg,
        ),
        "client_id",
    );
    err(
        &api.raw(
            "POST",
            admin,
            "/v1/moderate/image?colour=red",
            "image/jpeg",
            &jpeg,
        ),
        400,
        "invalid_request",
    );
}

/// Malformed requests: stable codes, the server keeps serving, nothing is stored.
fn bad_input(api: Api, admin: &str) {
    let before = api.verdict_ids(admin);
    let text = |body: &[u8]| {
        api.call(
            "POST",
            "/v1/moderate/text",
            Some(admin),
            Some("application/json"),
            body,
        )
    };
    err(&text(br#"{"text": "#), 400, "invalid_json");
    err(&text(b"not json"), 400, "invalid_json");
    err(&text(b""), 400, "invalid_json");
    err(&text(br#"{"text": 5}"#), 400, "invalid_request");
    err(&text(br#"{"texts": "one"}"#), 400, "invalid_request");
    err(&text(br#"["text"]"#), 400, "invalid_request");
    invalid(&text(br#"{"text": "hi", "bogus": 1}"#), "bogus");
    let many: Vec<String> = (0..101).map(|i| format!("text {i}")).collect();
    invalid(
        &text(json!({ "texts": many }).to_string().as_bytes()),
        "texts",
    );
    invalid(&text(br#"{"texts": []}"#), "texts");
    invalid(&text(br#"{"text": "a", "texts": ["b"]}"#), "text");
    invalid(&text(br#"{"client_id": "x"}"#), "text");
    invalid(
        &text(
            json!({"text": "a", "client_id": "c".repeat(257)})
                .to_string()
                .as_bytes(),
        ),
        "client_id",
    );
    invalid(&text(br#"{"text": "a", "lang": "not a tag!"}"#), "lang");
    invalid(&text(br#"{"text": "a", "policy": "nope"}"#), "policy");

    // Over the 1 MiB JSON limit.
    let big = format!(r#"{{"text": "{}"}}"#, "a".repeat((1 << 20) + 16));
    err(&text(big.as_bytes()), 413, "payload_too_large");

    // A 1 GB Content-Length: refused after ~2 MB at most, without a crash.
    let auth = format!("Bearer {admin}");
    let head = head_of(
        "POST",
        "/v1/moderate/text",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        1 << 30,
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(api.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let mut chunk = vec![b'a'; 64 << 10];
        chunk[..10].copy_from_slice(br#"{"text": ""#);
        for _ in 0..32 {
            if writer.write_all(&chunk).is_err() {
                break;
            }
            chunk.fill(b'a');
        }
    });
    let raw = read_all(&mut stream);
    let resp = finish(&raw, "a 1 GB upload");
    err(&resp, 413, "payload_too_large");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "413 took {:?}",
        started.elapsed()
    );
    drop(stream);
    sender.join().unwrap();
    api.healthy();

    assert_eq!(
        api.verdict_ids(admin),
        before,
        "a refused request stored something"
    );
    api.moderate_text(admin, "still serving");
}

/// Tenant B (made with the CLI while the server runs) sees none of tenant A's objects, and
/// A's libraries, banks and policies do not change B's verdicts.
fn tenants(api: Api, backend: &Backend, a: &str, keys: &Keys, a_verdict: &str) {
    let b = cli_key(backend, "other", "admin");

    // A's own objects.
    ok(
        &api.post(
            a,
            "/v1/libraries",
            &json!({"name": "a-only", "kind": "block", "label": "custom:aonly", "terms": ["zqxisolated"]}),
        ),
        201,
    );
    ok(
        &api.post(
            a,
            "/v1/banks",
            &json!({"name": "a-bank", "label": "sexual_minors"}),
        ),
        201,
    );
    let image = read_testdata("pdq/bridge-mods/shrink-a-lot.jpg");
    let added = ok(
        &api.raw("POST", a, "/v1/banks/a-bank/entries", "image/jpeg", &image),
        201,
    );
    let a_entry = added["added"][0]["id"].as_str().unwrap().to_string();
    ok(
        &api.raw(
            "PUT",
            a,
            "/v1/policies/a-policy",
            "application/toml",
            b"[labels.spam]\nenabled = false\n",
        ),
        201,
    );
    let v3 = ok(
        &api.raw(
            "PUT",
            a,
            "/v1/policies/default",
            "application/toml",
            b"[labels.profanity]\nenabled = false\n",
        ),
        201,
    );
    assert_eq!(v3["id"], "default@4");

    // A's verdicts use them; B's don't.
    let isolated = "zqxisolated here";
    let va = api.moderate_text(a, isolated);
    assert!(cites_library(&va, "a-only"), "{va}");
    assert_eq!(va["suggestion"], "block");
    let vb = api.moderate_text(&b, isolated);
    assert!(!cites_library(&vb, "a-only"), "{vb}");
    assert!(label(&vb, "custom:aonly").is_none(), "{vb}");
    let profane = "this shit is great";
    let va = api.moderate_text(a, profane);
    assert_eq!(va["policy"], "default@4");
    assert!(!label_names(&va).contains(&"profanity".to_string()), "{va}");
    let vb = api.moderate_text(&b, profane);
    assert!(label_names(&vb).contains(&"profanity".to_string()), "{vb}");
    invalid(
        &api.post(
            &b,
            "/v1/moderate/text",
            &json!({"text": "hi", "policy": "a-policy"}),
        ),
        "policy",
    );
    invalid(
        &api.post(
            &b,
            "/v1/moderate/text",
            &json!({"text": "hi", "policy": "default@4"}),
        ),
        "policy",
    );
    let va = api.moderate_image(a, "image/jpeg", &image);
    assert!(label(&va, "sexual_minors").is_some(), "{va}");
    let vb = api.moderate_image(&b, "image/jpeg", &image);
    assert!(label(&vb, "sexual_minors").is_none(), "{vb}");
    let b_verdict = vb["id"].as_str().unwrap().to_string();

    // Every object of A is 404 to B.
    let h = transformed_pdq("flipx");
    let not_found: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/v1/verdicts/{a_verdict}"), None),
        ("GET", "/v1/libraries/a-only".into(), None),
        ("DELETE", "/v1/libraries/a-only".into(), None),
        ("GET", "/v1/libraries/a-only/terms".into(), None),
        (
            "POST",
            "/v1/libraries/a-only/terms".into(),
            Some(json!({"terms": ["b-term"]})),
        ),
        (
            "DELETE",
            "/v1/libraries/a-only/terms".into(),
            Some(json!({"terms": ["zqxisolated"]})),
        ),
        ("GET", "/v1/banks/a-bank".into(), None),
        ("DELETE", "/v1/banks/a-bank".into(), None),
        ("GET", "/v1/banks/a-bank/entries".into(), None),
        (
            "POST",
            "/v1/banks/a-bank/entries".into(),
            Some(json!({"entries": [{"hash": h}]})),
        ),
        (
            "DELETE",
            "/v1/banks/a-bank/entries".into(),
            Some(json!({"ids": [a_entry]})),
        ),
        ("GET", "/v1/policies/a-policy".into(), None),
        ("GET", "/v1/policies/a-policy/versions".into(), None),
        ("GET", "/v1/policies/default?version=2".into(), None),
        ("GET", "/v1/policies/default?version=4".into(), None),
        ("DELETE", format!("/v1/keys/{}", keys.submitter_id), None),
    ];
    for (method, path, body) in &not_found {
        let resp = match body {
            Some(body) => api.json(method, &b, path, body),
            None => api.call(method, path, Some(&b), None, b""),
        };
        assert_eq!(resp.status, 404, "B: {method} {path}: {}", resp.text());
        err(&resp, 404, "not_found");
    }
    let resp = api.raw("POST", &b, "/v1/banks/a-bank/entries", "image/jpeg", &image);
    err(&resp, 404, "not_found");
    // B sees only the server's own version of `default`, none of A's.
    let b_versions = ok(&api.get(&b, "/v1/policies/default/versions"), 200);
    assert_eq!(names_of(&b_versions, "versions", "id"), ["default@1"]);
    err(
        &api.get(a, &format!("/v1/verdicts/{b_verdict}")),
        404,
        "not_found",
    );
    // B reads the data dir's policy under the same name, not A's.
    let policy = ok(&api.get(&b, "/v1/policies/default"), 200);
    assert_eq!(policy["source"], "data_dir", "{policy}");
    assert!(
        !policy["toml"].as_str().unwrap().contains("enabled = false"),
        "{policy}"
    );

    // B's lists hold none of A's objects.
    let libraries = names_of(&ok(&api.get(&b, "/v1/libraries"), 200), "libraries", "name");
    assert!(libraries.is_empty(), "{libraries:?}");
    let banks = names_of(&ok(&api.get(&b, "/v1/banks"), 200), "banks", "name");
    assert!(banks.is_empty(), "{banks:?}");
    let policies = ok(&api.get(&b, "/v1/policies"), 200);
    assert_eq!(
        names_of(&policies, "policies", "id"),
        ["default@1"],
        "{policies}"
    );
    assert!(
        policies["policies"][0].get("created_at").is_none(),
        "{policies}"
    );
    let b_keys = names_of(&ok(&api.get(&b, "/v1/keys"), 200), "keys", "id");
    assert_eq!(b_keys.len(), 1, "{b_keys:?}");
    let a_keys = names_of(&ok(&api.get(a, "/v1/keys"), 200), "keys", "id");
    assert!(!a_keys.contains(&b_keys[0]), "{a_keys:?}");
    assert!(a_keys.contains(&keys.submitter_id));
    let b_verdicts = api.verdict_ids(&b);
    let a_verdicts = api.verdict_ids(a);
    assert_eq!(b_verdicts.len(), 3, "{b_verdicts:?}");
    assert!(b_verdicts.iter().all(|v| !a_verdicts.contains(v)));
    assert!(!b_verdicts.contains(&a_verdict.to_string()));

    // Names are per tenant: B may make its own `a-only`, which leaves A's alone.
    ok(
        &api.post(
            &b,
            "/v1/libraries",
            &json!({"name": "a-only", "kind": "flag", "label": "spam", "terms": ["b-word"]}),
        ),
        201,
    );
    ok(&api.delete(&b, "/v1/libraries/a-only"), 204);

    // A's objects are intact, and A's key survived B's attempt to revoke it.
    let terms = ok(&api.get(a, "/v1/libraries/a-only/terms"), 200);
    assert_eq!(terms["terms"], json!(["zqxisolated"]));
    assert_eq!(ok(&api.get(a, "/v1/banks/a-bank"), 200)["entry_count"], 1);
    ok(&api.get(a, "/v1/policies/a-policy"), 200);
    api.moderate_text(&keys.submitter, "A's key still works");
    ok(&api.get(a, &format!("/v1/verdicts/{a_verdict}")), 200);
    // Clean up what would change A's later image verdicts.
    ok(&api.delete(a, "/v1/banks/a-bank"), 204);
}

/// Stored verdicts keep hashes and evidence, never the submitted text.
fn privacy(api: Api, backend: &Backend, admin: &str) {
    let marker = "zqxmarker123";
    let verdict = api.moderate_text(admin, &format!("{marker} is a lovely word"));
    let id = verdict["id"].as_str().unwrap().to_string();
    assert!(!verdict.to_string().contains(marker), "{verdict}");
    let stored = ok(&api.get(admin, &format!("/v1/verdicts/{id}")), 200);
    assert!(!stored.to_string().contains(marker), "{stored}");
    let contains =
        |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    match &backend.pg {
        None => {
            let mut bytes = Vec::new();
            for file in ["rampart.db", "rampart.db-wal"] {
                if let Ok(b) = std::fs::read(backend.data.join(file)) {
                    bytes.extend_from_slice(&b);
                }
            }
            assert!(
                contains(&bytes, &id),
                "the verdict is not in the SQLite files"
            );
            assert!(
                !contains(&bytes, marker),
                "the submitted text is in the SQLite files"
            );
        }
        Some((base, schema)) => {
            let out = Command::new("pg_dump")
                .args(["--data-only", "--schema", schema, base])
                .output()
                .expect("pg_dump must be installed for the PostgreSQL test");
            assert!(
                out.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(contains(&out.stdout, &id), "the verdict is not in the dump");
            assert!(
                !contains(&out.stdout, marker),
                "the submitted text is in the database"
            );
        }
    }
}

/// A client that sends half a header line and then nothing is cut off by `--header-timeout 1`,
/// while others are served.
fn slow_loris(api: Api) {
    let mut slow = TcpStream::connect(api.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: rampart.test\r\nX-Slow: ")
        .unwrap();
    // And one that sends nothing at all.
    let mut idle = TcpStream::connect(api.addr).unwrap();
    let started = Instant::now();
    api.healthy();
    let resp = api.call("GET", "/readyz", None, None, b"");
    assert_eq!(resp.status, 200);
    for (what, stream) in [("half a header", &mut slow), ("nothing", &mut idle)] {
        // Generous, yet well under the default 10 s header timeout.
        stream
            .set_read_timeout(Some(Duration::from_secs(8)))
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue, // e.g. a 408 before the close
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    assert!(
                        !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                        "a client that sent {what} was kept for {:?}",
                        started.elapsed()
                    );
                    break;
                }
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    api.healthy();
}

/// Prometheus metrics and the OpenAPI document.
fn metrics_and_openapi(api: Api, admin: &str) {
    let resp = api.call("GET", "/metrics", None, None, b"");
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text();
    for name in [
        "rampart_http_requests_total",
        "rampart_http_request_duration_seconds",
        "rampart_verdicts_total",
        "rampart_verdict_labels_total",
        "rampart_store_duration_seconds",
        "route=\"/v1/moderate/text\"",
        "route=\"/v1/verdicts/{id}\"",
        "status=\"401\"",
        "content_type=\"image\"",
    ] {
        assert!(text.contains(name), "no {name} in /metrics:\n{text}");
    }
    // Tenant-defined label names and keys stay out of the metrics.
    assert!(!text.contains("custom:"), "{text}");
    assert!(!text.contains(admin), "{text}");
    assert!(!text.contains("zqx"), "{text}");

    let resp = api.call("GET", "/openapi.json", None, None, b"");
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let doc = resp.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<&str> = paths
        .keys()
        .map(String::as_str)
        .filter(|p| p.starts_with("/v1/"))
        .collect();
    let routed: BTreeSet<&str> = V1_ROUTES.iter().map(|(p, _)| *p).collect();
    assert_eq!(documented, routed);
    for (path, methods) in V1_ROUTES {
        for method in *methods {
            assert!(
                paths[*path].get(*method).is_some(),
                "{method} {path} is not in the OpenAPI document"
            );
        }
    }
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(paths.contains_key(path), "{path}");
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "{doc}"
    );
}

/// SIGTERM while a request is in flight: the request finishes, then the process exits 0.
fn graceful_shutdown(server: &mut Server, admin: &str) {
    let body = br#"{"text": "the last words before shutdown"}"#;
    let auth = format!("Bearer {admin}");
    let head = head_of(
        "POST",
        "/v1/moderate/text",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        body.len(),
    );
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..10]).unwrap();
    // Let the server accept the connection and start on the request.
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited with a request in flight"
    );
    stream.write_all(&body[10..]).unwrap();
    let raw = read_all(&mut stream);
    let verdict = ok(&finish(&raw, "the in-flight request"), 200);
    assert!(verdict["id"].as_str().is_some(), "{verdict}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "server exit status {status}");
}

/// A second start on the same store, with one request in flight at most, a 2 s request
/// timeout and 2 requests per second per key: persistence, load shedding, timeouts, rate limits.
fn limits_after_restart(backend: &Backend, admin: &str, a_verdict: &str) {
    let k1 = cli_key(backend, "default", "submitter");
    let k2 = cli_key(backend, "default", "submitter");
    let mut server = start(
        backend,
        &[
            "--max-in-flight",
            "1",
            "--request-timeout",
            "2",
            "--rate-limit",
            "2",
            "--rate-burst",
            "2",
        ],
    );
    assert!(server.admin_key.is_none(), "a second first-start key");
    let api = Api { addr: server.addr };

    // What the first run stored is still there.
    ok(&api.get(admin, &format!("/v1/verdicts/{a_verdict}")), 200);

    // A slow upload holds the only slot: others are shed with 503 and Retry-After, until the
    // request timeout answers the upload with 503.
    let boundary = "slowboundary";
    let auth = format!("Bearer {admin}");
    let ct = format!("multipart/form-data; boundary={boundary}");
    let head = head_of(
        "POST",
        "/v1/moderate/image",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", ct.as_str()),
        ],
        100_000,
    );
    let mut slow = TcpStream::connect(api.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(head.as_bytes()).unwrap();
    let mut start_of_body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    start_of_body.extend_from_slice(b"\xff\xd8\xff");
    slow.write_all(&start_of_body).unwrap();
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    // (Shed before authentication, so k1's and k2's rate budgets are untouched. /healthz is
    // shed too today, which is not pinned here.)
    for (path, key) in [
        ("/v1/verdicts?limit=1", Some(k2.as_str())),
        ("/v1/keys", Some(k1.as_str())),
    ] {
        let resp = api.call("GET", path, key, None, b"");
        err(&resp, 503, "rate_limited");
        assert_eq!(resp.header("retry-after"), Some("1"), "{path}");
    }
    let raw = read_all(&mut slow);
    let resp = finish(&raw, "the slow upload");
    let error = err(&resp, 503, "internal");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("did not finish"),
        "{error}"
    );
    assert!(resp.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(15));
    api.healthy();

    // Rate limit: past the burst, 429 with Retry-After; another key is unaffected.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let resp = api.get(&k1, "/v1/verdicts?limit=1");
        if resp.status == 429 {
            err(&resp, 429, "rate_limited");
            let wait: u64 = resp
                .header("retry-after")
                .expect("Retry-After on 429")
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        } else {
            assert_eq!(resp.status, 200, "{}", resp.text());
        }
        statuses.push(resp.status);
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let resp = api.post(&k1, "/v1/moderate/text", &json!({"text": "hi"}));
    if resp.status != 200 {
        err(&resp, 429, "rate_limited");
    }
    ok(&api.get(&k2, "/v1/verdicts?limit=1"), 200);
    ok(
        &api.post(&k2, "/v1/moderate/text", &json!({"text": "hi"})),
        200,
    );

    terminate(&mut server);
}

// ----- the two backends -----

/// Removes the temporary data dir.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("rampart-api-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[test]
fn api_on_sqlite() {
    let dir = temp_dir();
    run_suite(&Backend {
        data: dir.0.clone(),
        store: None,
        pg: None,
    });
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql must be installed for the PostgreSQL test");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn api_on_postgres() {
    let base = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test");
    let schema = format!("api_{}", unique());
    psql(&base, &format!("CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let dir = temp_dir();
    let backend = Backend {
        data: dir.0.clone(),
        store: Some(url),
        pg: Some((base.clone(), schema.clone())),
    };
    let result = std::panic::catch_unwind(|| run_suite(&backend));
    psql(&base, &format!("DROP SCHEMA {schema} CASCADE"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
