//! End to end: the real `rampart serve` binary, over HTTP, on SQLite and on PostgreSQL.
//!
//! The PostgreSQL run needs `DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`)
//! and `psql`; it fails, not skips, without them. Each run gets a fresh schema.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

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

/// One HTTP/1.1 request on a fresh connection; returns the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response to {method} {path}: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head:?}"));
    (status, body.to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

fn post_json(addr: SocketAddr, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let (status, body) = http(addr, "POST", path, &headers, body.as_bytes());
    (status, json_of(&body))
}

fn error_code(value: &Value) -> &str {
    value["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {value}"))
}

struct Server {
    child: Child,
    addr: SocketAddr,
    admin_key: String,
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

fn start(data: &Path, store: Option<&str>) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    if let Some(url) = store {
        cmd.args(["--store", url]);
    }
    let mut child = cmd
        .env_remove("RAMPART_STORE")
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
            if tx.send(line).is_err() {
                // Keep draining so the server never blocks on a full pipe.
                continue;
            }
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
        if TcpStream::connect(addr).is_ok() && http(addr, "GET", "/healthz", &[], b"").0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "healthz never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        addr,
        admin_key: admin_key.expect("no first-start admin key on stderr"),
    }
}

fn create_key(data: &Path, store: Option<&str>, tenant: &str, role: &str) -> String {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data")
        .arg(data)
        .args(["keys", "create", "--tenant", tenant, "--role", role]);
    if let Some(url) = store {
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

fn run_suite(data: &Path, store: Option<&str>) {
    let mut server = start(data, store);
    let addr = server.addr;
    let key = server.admin_key.clone();
    let key = Some(key.as_str());

    let (status, body) = http(addr, "GET", "/healthz", &[], b"");
    assert_eq!((status, json_of(&body)), (200, json!({"status": "ok"})));
    assert_eq!(http(addr, "GET", "/readyz", &[], b"").0, 200);

    // One text.
    let (status, verdict) = post_json(
        addr,
        "/v1/moderate/text",
        key,
        r#"{"text": "hello there, nice weather", "client_id": "post-1"}"#,
    );
    assert_eq!(status, 200, "{verdict}");
    assert!(verdict["policy"].as_str().is_some(), "{verdict}");
    assert_eq!(verdict["content_ref"]["client_id"], "post-1");
    let text_id = verdict["id"].as_str().unwrap().to_string();

    // A batch of two.
    let (status, batch) = post_json(
        addr,
        "/v1/moderate/text",
        key,
        r#"{"texts": ["first text", "second text"]}"#,
    );
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["verdicts"].as_array().unwrap().len(), 2);

    // 101 texts.
    let texts: Vec<String> = (0..101).map(|i| format!("text {i}")).collect();
    let (status, err) = post_json(
        addr,
        "/v1/moderate/text",
        key,
        &json!({ "texts": texts }).to_string(),
    );
    assert_eq!(
        (status, error_code(&err)),
        (400, "invalid_request"),
        "{err}"
    );

    // Unknown field, wrong type, malformed JSON.
    let (status, err) = post_json(
        addr,
        "/v1/moderate/text",
        key,
        r#"{"text": "hi", "bogus": 1}"#,
    );
    assert_eq!(
        (status, error_code(&err)),
        (400, "invalid_request"),
        "{err}"
    );
    assert_eq!(err["error"]["field"], "bogus");
    let (status, err) = post_json(addr, "/v1/moderate/text", key, r#"{"text": 5}"#);
    assert_eq!(
        (status, error_code(&err)),
        (400, "invalid_request"),
        "{err}"
    );
    let (status, err) = post_json(addr, "/v1/moderate/text", key, r#"{"text": "#);
    assert_eq!((status, error_code(&err)), (400, "invalid_json"), "{err}");

    // Authentication.
    let (status, err) = post_json(addr, "/v1/moderate/text", None, r#"{"text": "hi"}"#);
    assert_eq!(
        (status, error_code(&err)),
        (401, "unauthenticated"),
        "{err}"
    );
    let (status, err) = post_json(
        addr,
        "/v1/moderate/text",
        Some("rk_nope_nope"),
        r#"{"text": "hi"}"#,
    );
    assert_eq!(
        (status, error_code(&err)),
        (401, "unauthenticated"),
        "{err}"
    );

    // Images.
    let auth = format!("Bearer {}", server.admin_key);
    let png = std::fs::read(testdata().join("pdq/lossless/misc-images/wee.jpg.png"))
        .expect("test PNG (data/testdata/pdq)");
    let image_headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "image/png"),
    ];
    let (status, body) = http(addr, "POST", "/v1/moderate/image", &image_headers, &png);
    let image_verdict = json_of(&body);
    assert_eq!(status, 200, "{image_verdict}");
    assert_eq!(image_verdict["content_type"], "image");
    let (status, body) = http(addr, "POST", "/v1/moderate/image", &image_headers, b"");
    let err = json_of(&body);
    assert_eq!((status, error_code(&err)), (422, "decode_failed"), "{err}");

    // Over 1 MiB of text.
    let big = format!(r#"{{"text": "{}"}}"#, "a".repeat((1 << 20) + 16));
    let (status, err) = post_json(addr, "/v1/moderate/text", key, &big);
    assert_eq!(
        (status, error_code(&err)),
        (413, "payload_too_large"),
        "{err}"
    );

    // The recorded verdicts, by id.
    let auth_headers = [("Authorization", auth.as_str())];
    for id in [text_id.as_str(), image_verdict["id"].as_str().unwrap()] {
        let (status, body) = http(
            addr,
            "GET",
            &format!("/v1/verdicts/{id}"),
            &auth_headers,
            b"",
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(json_of(&body)["id"].as_str(), Some(id));
    }
    let missing = "01JD3Q8Z5Y4K2M7N9P0R1S2T3V";
    let (status, body) = http(
        addr,
        "GET",
        &format!("/v1/verdicts/{missing}"),
        &auth_headers,
        b"",
    );
    assert_eq!((status, error_code(&json_of(&body))), (404, "not_found"));

    // Another tenant, created while the server runs, sees none of it.
    let other = create_key(data, store, "other", "submitter");
    let other_auth = format!("Bearer {other}");
    let (status, body) = http(
        addr,
        "GET",
        &format!("/v1/verdicts/{text_id}"),
        &[("Authorization", other_auth.as_str())],
        b"",
    );
    assert_eq!(
        (status, error_code(&json_of(&body))),
        (404, "not_found"),
        "{body}"
    );
    let (status, verdict) = post_json(
        addr,
        "/v1/moderate/text",
        Some(&other),
        r#"{"text": "from the other tenant"}"#,
    );
    assert_eq!(status, 200, "{verdict}");

    // Graceful shutdown on SIGTERM.
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.child.kill();
            panic!("server did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "server exit status {status}");
}

/// Removes the temporary data dir.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("rampart-serve-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[test]
fn serve_on_sqlite() {
    let dir = temp_dir();
    run_suite(&dir.0, None);
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
fn serve_on_postgres() {
    let base = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test");
    let schema = format!("t_{}", unique());
    psql(&base, &format!("CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let dir = temp_dir();
    let result = std::panic::catch_unwind(|| run_suite(&dir.0, Some(&url)));
    psql(&base, &format!("DROP SCHEMA {schema} CASCADE"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
