//! End to end: killing `rampart serve` with SIGKILL during a load run loses no verdict that
//! was acknowledged with 200, on SQLite and on PostgreSQL.
//!
//! Eight client threads post texts in a loop (half on keep-alive connections, half on a fresh
//! connection per request) and record the id of every verdict answered with 200. The server is
//! killed with SIGKILL while they are still sending, restarted on the same data dir and store,
//! and must return every recorded id; then the store must pass its integrity check.
//!
//! The PostgreSQL run needs `DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`)
//! and `psql`; it fails, not skips, without them. Each run gets a fresh schema.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");
/// Client threads posting texts.
const CLIENTS: usize = 8;
/// How long the clients post before the kill.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);
/// Fewer acknowledged verdicts than this means the run proved nothing.
const MIN_ACKNOWLEDGED: usize = 50;

const MESSAGES: &[&str] = &[
    "hey, are we still on for lunch tomorrow?",
    "thanks for the help yesterday, really appreciated it",
    "shut the fuck up you stupid idiot",
    "you are a f.u.c.k.i.n.g loser",
    "WINNER!! Call 09061701461 now or visit www.spam.example to claim your prize",
];

fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

// ----- a minimal HTTP/1.1 client -----

/// One HTTP/1.1 connection. With `keep_alive`, it is reused for the next request; without,
/// every request opens a new one and asks the server to close it.
struct Client {
    addr: SocketAddr,
    keep_alive: bool,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: SocketAddr, keep_alive: bool) -> Self {
        Client {
            addr,
            keep_alive,
            conn: None,
        }
    }

    /// Sends one request and reads the whole response: its status and body. Any I/O or
    /// protocol failure is an `Err` (and drops the connection).
    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let result = self.try_send(method, path, headers, body);
        if result.is_err() || !self.keep_alive {
            self.conn = None;
        }
        result
    }

    fn try_send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().unwrap();
        let connection = if self.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: {connection}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        conn.get_mut().write_all(&bytes)?;

        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
        let mut length = None;
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(
                        value
                            .trim()
                            .parse::<usize>()
                            .map_err(|_| bad(format!("bad {header:?}")))?,
                    );
                }
            }
        }
        let length = length.ok_or_else(|| bad("response without Content-Length".into()))?;
        let mut body = vec![0; length];
        conn.read_exact(&mut body)?;
        Ok((status, body))
    }
}

fn get_json(addr: SocketAddr, path: &str, key: Option<&str>) -> (u16, Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let (status, body) = Client::new(addr, false)
        .send("GET", path, &headers, b"")
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "GET {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })
    };
    (status, value)
}

// ----- the server -----

struct Server {
    child: Child,
    addr: SocketAddr,
    /// The admin key printed on first start only.
    first_start_key: Option<String>,
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

impl Server {
    /// SIGKILL, then reap.
    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "server exit status {status}");
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
    // One key sends everything here: no per-key rate limit (servers without the setting
    // ignore the variable).
    let mut child = cmd
        .env_remove("RAMPART_STORE")
        .env("RAMPART_RATE_LIMIT", "0")
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
            // Keep draining after the receiver is gone so the server never blocks on a full
            // pipe.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut addr, mut first_start_key) = (None, None);
    while addr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("server did not print its address in time");
        if let Some(key) =
            line.strip_prefix("rampart: first start: admin key for tenant 'default' (shown once): ")
        {
            first_start_key = Some(key.trim().to_string());
        }
        if let Some(a) = line.strip_prefix("rampart: listening on http://") {
            addr = Some(a.trim().parse().expect("bound address"));
        }
    }
    let addr = addr.unwrap();
    loop {
        let health = Client::new(addr, false).send("GET", "/healthz", &[], b"");
        if matches!(health, Ok((200, _))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "healthz never answered: {health:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        addr,
        first_start_key,
    }
}

/// What one client thread saw.
#[derive(Default)]
struct ClientReport {
    /// Ids of the verdicts answered with 200.
    acknowledged: Vec<String>,
    /// Requests that failed (connection refused, reset, cut-off response) after the kill.
    failed_after_kill: usize,
    /// Requests refused with 429 (rate limit) or 503 (load shedding): not acknowledged, so
    /// nothing to keep, and not an error.
    refused: usize,
    /// Anything but a 200 with a verdict, or a failure before the kill.
    unexpected: Vec<String>,
}

/// Posts texts until `stop`, or until a request fails after `killed`.
fn client(
    n: usize,
    addr: SocketAddr,
    key: &str,
    killed: &AtomicBool,
    stop: &AtomicBool,
) -> ClientReport {
    let mut report = ClientReport::default();
    let mut http = Client::new(addr, n.is_multiple_of(2));
    let auth = format!("Bearer {key}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let text = format!("{} (client {n}, message {i})", MESSAGES[i % MESSAGES.len()]);
        let body = json!({ "text": text }).to_string();
        i += 1;
        match http.send("POST", "/v1/moderate/text", &headers, body.as_bytes()) {
            Ok((200, body)) => {
                let verdict: Option<Value> = serde_json::from_slice(&body).ok();
                match verdict.as_ref().and_then(|v| v["id"].as_str()) {
                    Some(id) => report.acknowledged.push(id.to_string()),
                    None => report.unexpected.push(format!(
                        "200 without a verdict id: {}",
                        String::from_utf8_lossy(&body)
                    )),
                }
            }
            Ok((429 | 503, _)) => report.refused += 1,
            Ok((status, body)) => report.unexpected.push(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
            )),
            Err(_) if killed.load(Ordering::SeqCst) => {
                report.failed_after_kill += 1;
                break;
            }
            Err(e) => report
                .unexpected
                .push(format!("request failed before the kill: {e}")),
        }
        if report.unexpected.len() > 20 {
            break;
        }
    }
    report
}

/// Opens the store directly and runs its integrity check.
fn integrity_check(url: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = rampart_store::open(url)
            .await
            .unwrap_or_else(|e| panic!("opening the store {url}: {e}"));
        let checked = store.integrity_check().await;
        store.close().await;
        if let Err(e) = checked {
            panic!("integrity check of {url} failed: {e}");
        }
    });
}

/// The whole run: load, SIGKILL, restart, every acknowledged id back, integrity.
fn run_kill(data: &Path, store: Option<&str>) {
    let store_url = store
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", data.join("rampart.db").display()));

    let mut server = start(data, store);
    let key = server
        .first_start_key
        .clone()
        .expect("no first-start admin key on stderr");
    let addr = server.addr;

    let killed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (key, killed, stop) = (key.clone(), killed.clone(), stop.clone());
            std::thread::spawn(move || client(n, addr, &key, &killed, &stop))
        })
        .collect();
    std::thread::sleep(LOAD_BEFORE_KILL);
    // Clients are mid-request here: some requests are queued for the verdict writer, some
    // are being moderated, some are on the wire.
    killed.store(true, Ordering::SeqCst);
    server.kill_9();
    stop.store(true, Ordering::SeqCst);
    let reports: Vec<ClientReport> = clients
        .into_iter()
        .map(|c| c.join().expect("client thread panicked"))
        .collect();

    let acknowledged: Vec<&String> = reports.iter().flat_map(|r| &r.acknowledged).collect();
    let unexpected: Vec<&String> = reports.iter().flat_map(|r| &r.unexpected).collect();
    let cut_off: usize = reports.iter().map(|r| r.failed_after_kill).sum();
    let refused: usize = reports.iter().map(|r| r.refused).sum();
    eprintln!(
        "serve_kill: {} verdicts acknowledged before SIGKILL, {refused} requests refused \
         (429/503), {cut_off} cut off by the kill",
        acknowledged.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected responses before the kill, first: {:?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(5)]
    );
    assert!(
        acknowledged.len() >= MIN_ACKNOWLEDGED,
        "only {} verdicts acknowledged in {LOAD_BEFORE_KILL:?}: the run proves nothing",
        acknowledged.len()
    );

    // The store as the kill left it (SQLite recovers its WAL on open).
    integrity_check(&store_url);

    let mut server = start(data, store);
    assert_eq!(
        server.first_start_key, None,
        "a restart on the same store must not create a new admin key"
    );
    let addr = server.addr;
    let auth = format!("Bearer {key}");
    let mut http = Client::new(addr, true);
    let mut missing = Vec::new();
    for id in &acknowledged {
        let path = format!("/v1/verdicts/{id}");
        let (status, body) = http
            .send("GET", &path, &[("Authorization", auth.as_str())], b"")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let stored: Option<Value> = serde_json::from_slice(&body).ok();
        let stored_id = stored.as_ref().and_then(|v| v["id"].as_str());
        if status != 200 || stored_id != Some(id.as_str()) {
            missing.push(format!("{id}: {status} {}", String::from_utf8_lossy(&body)));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged verdicts lost after SIGKILL, first: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );

    // Still a working server on the recovered store.
    let (status, _) = get_json(addr, "/readyz", None);
    assert_eq!(status, 200);
    let (status, body) = Client::new(addr, false)
        .send(
            "POST",
            "/v1/moderate/text",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            br#"{"text": "after the restart"}"#,
        )
        .expect("POST after the restart");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    server.stop();
    integrity_check(&store_url);
}

/// Removes the temporary data dir.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("rampart-serve-kill-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[test]
fn sigkill_loses_no_acknowledged_verdict_on_sqlite() {
    let dir = temp_dir();
    run_kill(&dir.0, None);
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
fn sigkill_loses_no_acknowledged_verdict_on_postgres() {
    let base = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test");
    let schema = format!("k_{}", unique());
    psql(&base, &format!("CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let dir = temp_dir();
    let result = std::panic::catch_unwind(|| run_kill(&dir.0, Some(&url)));
    psql(&base, &format!("DROP SCHEMA {schema} CASCADE"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
