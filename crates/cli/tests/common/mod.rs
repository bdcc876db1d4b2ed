//! Helpers shared by the end-to-end tests that start the real `rampart` binary: raw HTTP/1.1
//! requests, the server process, API keys, and fresh SQLite or PostgreSQL stores.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_rampart");

pub fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

/// The test fixtures: `$RAMPART_TESTDATA`, else the repository's `data/testdata`.
pub fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
}

pub fn read_testdata(rel: &str) -> Vec<u8> {
    let path = testdata().join(rel);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (data/testdata/*/README.md)", path.display()))
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `rampart --data DATA ARGS…` to completion and returns its output.
pub fn rampart_at(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("rampart runs")
}

/// Runs `rampart --data DATA ARGS…` with `stdin` as its standard input, to completion.
pub fn rampart_stdin(data: &std::path::Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rampart starts");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // Written from a thread: rampart may answer (and fill its stdout) before reading it all.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("rampart runs");
    writer.join().unwrap();
    out
}

pub fn temp_dir(prefix: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("rampart-{prefix}-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

pub fn psql(url: &str, sql: &str) {
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

/// The embedded default as a backend: the SQLite store in the data dir `data`.
pub fn sqlite_backend(data: PathBuf) -> Backend {
    Backend {
        data,
        store: None,
        pg: None,
    }
}

/// A fresh PostgreSQL schema as a backend (with the data dir `data`); drop it with
/// [`drop_pg`]. Needs `DATABASE_URL`: fails, never skips, without it.
pub fn pg_backend(data: PathBuf, prefix: &str) -> Backend {
    let base = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test");
    let schema = format!("{prefix}_{}", unique());
    psql(&base, &format!("CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Backend {
        data,
        store: Some(url),
        pg: Some((base, schema)),
    }
}

pub fn drop_pg(backend: &Backend) {
    if let Some((base, schema)) = &backend.pg {
        psql(base, &format!("DROP SCHEMA {schema} CASCADE"));
    }
}

/// A response: status, headers (names lowercased) and body.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
}

pub fn dechunk(mut body: &[u8]) -> Vec<u8> {
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
pub fn parse_response(raw: &[u8]) -> Option<Resp> {
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
pub fn read_all(stream: &mut TcpStream) -> Vec<u8> {
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
pub fn finish(raw: &[u8], what: &str) -> Resp {
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

pub fn head_of(method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> String {
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
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
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
pub struct Api {
    pub addr: SocketAddr,
}

impl Api {
    #[track_caller]
    pub fn call(
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
    pub fn get(&self, key: &str, path: &str) -> Resp {
        self.call("GET", path, Some(key), None, b"")
    }

    #[track_caller]
    pub fn delete(&self, key: &str, path: &str) -> Resp {
        self.call("DELETE", path, Some(key), None, b"")
    }

    #[track_caller]
    pub fn json(&self, method: &str, key: &str, path: &str, body: &Value) -> Resp {
        self.call(
            method,
            path,
            Some(key),
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    #[track_caller]
    pub fn post(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.json("POST", key, path, body)
    }

    #[track_caller]
    pub fn raw(
        &self,
        method: &str,
        key: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Resp {
        self.call(method, path, Some(key), Some(content_type), body)
    }

    /// Moderates one text (200 expected) and returns the verdict.
    #[track_caller]
    pub fn moderate(&self, key: &str, body: Value) -> Value {
        ok(&self.post(key, "/v1/moderate/text", &body), 200)
    }

    #[track_caller]
    pub fn moderate_text(&self, key: &str, text: &str) -> Value {
        self.moderate(key, json!({ "text": text }))
    }

    #[track_caller]
    pub fn moderate_image(&self, key: &str, content_type: &str, bytes: &[u8]) -> Value {
        ok(
            &self.raw("POST", key, "/v1/moderate/image", content_type, bytes),
            200,
        )
    }

    /// Ids of every verdict of the caller's tenant, oldest first.
    #[track_caller]
    pub fn verdict_ids(&self, key: &str) -> Vec<String> {
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
    pub fn healthy(&self) {
        let resp = self.call("GET", "/healthz", None, None, b"");
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
}

/// Asserts the status and returns the JSON body (`null` for an empty one).
#[track_caller]
pub fn ok(resp: &Resp, status: u16) -> Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    if resp.body.is_empty() {
        Value::Null
    } else {
        resp.json()
    }
}

/// Asserts an error response with its stable code; returns `error`.
#[track_caller]
pub fn err(resp: &Resp, status: u16, code: &str) -> Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some(), "{body}");
    error
}

/// `invalid_request` naming `field`.
#[track_caller]
pub fn invalid(resp: &Resp, field: &str) -> Value {
    let error = err(resp, 400, "invalid_request");
    assert_eq!(error["field"], field, "{error}");
    error
}

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Printed on the first start of a store only.
    pub admin_key: Option<String>,
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
pub struct Backend {
    pub data: PathBuf,
    /// `--store` URL; `None` for SQLite in the data dir.
    pub store: Option<String>,
    /// PostgreSQL: the base URL and the schema (for `pg_dump`).
    pub pg: Option<(String, String)>,
}

pub fn start(backend: &Backend, flags: &[&str]) -> Server {
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
        .env_remove("RAMPART_NATS")
        .env_remove("RAMPART_MEDIA_WORKERS")
        .env_remove("RAMPART_JOBS_PER_TENANT")
        .env_remove("RAMPART_WEBHOOK_RETRY_BASE")
        .env_remove("RAMPART_MAX_MEDIA_MB")
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
pub fn cli_key(backend: &Backend, tenant: &str, role: &str) -> String {
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
pub fn terminate(server: &mut Server) {
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
