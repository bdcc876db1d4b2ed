//! End to end: video and audio jobs of `rampart serve` and their signed webhooks, through the
//! real binary, on SQLite and on PostgreSQL; a job whose server is SIGKILLed mid-way completes
//! once after restart; and scale-out, where `rampart worker` takes jobs from NATS JetStream.
//!
//! Needs the speech model (`scripts/fetch-models.sh`), `DATABASE_URL` and `NATS_URL`; fails,
//! never skips, without them. Fixtures: `$RAMPART_TESTDATA/media` (default the repository's
//! `data/testdata/media`, made by `./setup.sh`).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

// ----- a webhook receiver -----

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// The status it answered.
    answered: u16,
}

/// How a receiver answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 500 to the first `n` requests of each delivery id, then 200.
    FailFirst(usize),
    /// Never answers (holds the connection open).
    Hang,
    /// 302 to the cloud metadata address.
    Redirect,
}

struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn receiver(behaviour: Behaviour) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || serve_one(stream, behaviour, &log));
        }
    });
    Receiver { addr, got }
}

fn serve_one(mut stream: TcpStream, behaviour: Behaviour, log: &Mutex<Vec<Received>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let answered = match behaviour {
        Behaviour::Hang => {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        Behaviour::Redirect => 302,
        Behaviour::FailFirst(n) => {
            let id = headers
                .get("rampart-delivery-id")
                .cloned()
                .unwrap_or_default();
            let seen = log
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.headers.get("rampart-delivery-id") == Some(&id))
                .count();
            if seen < n {
                500
            } else {
                200
            }
        }
    };
    log.lock().unwrap().push(Received {
        path,
        headers,
        body,
        answered,
    });
    let extra = if answered == 302 {
        "Location: http://169.254.169.254/latest/meta-data/\r\n"
    } else {
        ""
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {answered} X\r\n{extra}Content-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

/// Checks `Rampart-Signature: t=…,v1=…` against HMAC-SHA256(secret, t + "." + body),
/// computed here independently of the server's code.
fn signature_verifies(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_string()),
            Some(("v1", value)) => v1.push(value.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    v1.contains(&expected)
}

// ----- jobs -----

/// Polls a job until it leaves queued/running (at most 180 s); returns it.
#[track_caller]
fn wait_job(api: Api, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let job = ok(&api.get(key, &format!("/v1/jobs/{id}")), 200);
        match job["state"].as_str().unwrap() {
            "succeeded" | "failed" => return job,
            "queued" | "running" => {}
            other => panic!("unknown job state {other}: {job}"),
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[track_caller]
fn submit(api: Api, key: &str, route: &str, content_type: &str, bytes: &[u8]) -> String {
    let resp = api.raw("POST", key, route, content_type, bytes);
    let body = ok(&resp, 202);
    let id = body["job_id"].as_str().expect("job_id").to_string();
    assert_eq!(body["state"], "queued");
    assert_eq!(
        resp.header("location"),
        Some(format!("/v1/jobs/{id}").as_str())
    );
    id
}

/// Every evidence item of a verdict with its label.
fn evidence(verdict: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for l in verdict["labels"].as_array().unwrap() {
        for e in l["evidence"].as_array().unwrap() {
            out.push((l["label"].as_str().unwrap().to_string(), e.clone()));
        }
    }
    out
}

#[track_caller]
fn near(value: &Value, expected: f64, tolerance: f64, what: &str) {
    let v = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!(
        (v - expected).abs() <= tolerance,
        "{what} = {v}, expected {expected} ± {tolerance}"
    );
}

#[track_caller]
fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SERVE_FLAGS: &[&str] = &[
    "--fetch-allow",
    "127.0.0.1",
    "--webhook-retry-base",
    "0.2",
    "--media-workers",
    "1",
];

fn run_jobs_suite(backend: &Backend) {
    let server = start(backend, SERVE_FLAGS);
    let api = Api { addr: server.addr };
    let admin = server
        .admin_key
        .clone()
        .expect("first start prints an admin key");
    let submitter = cli_key(backend, "default", "submitter");
    let auditor = cli_key(backend, "default", "auditor");
    let other = cli_key(backend, "other", "admin");

    // Webhook settings: a secret is made on first read; admin sets the URL.
    let hook = receiver(Behaviour::FailFirst(2));
    let settings = ok(&api.get(&admin, "/v1/webhooks"), 200);
    let secret = settings["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32, "{settings}");
    let seen_by_auditor = ok(&api.get(&auditor, "/v1/webhooks"), 200);
    assert!(
        seen_by_auditor.get("secret").is_none(),
        "only admins see the secret: {seen_by_auditor}"
    );
    err(&api.get(&submitter, "/v1/webhooks"), 403, "forbidden");
    err(
        &api.json(
            "PUT",
            &auditor,
            "/v1/webhooks",
            &json!({ "url": hook.url("/hook") }),
        ),
        403,
        "forbidden",
    );
    let put = ok(
        &api.json(
            "PUT",
            &admin,
            "/v1/webhooks",
            &json!({ "url": hook.url("/hook") }),
        ),
        200,
    );
    assert_eq!(
        put["secret"],
        secret.as_str(),
        "the secret stays unless rotated"
    );
    // Every body is a JSON object: an array is not read as "no fields given".
    err(
        &api.raw("PUT", &admin, "/v1/webhooks", "application/json", b"[]"),
        400,
        "invalid_request",
    );
    // Rotating keeps the URL and replaces the secret: later callbacks verify with the new one.
    let rotated = ok(
        &api.json(
            "PUT",
            &admin,
            "/v1/webhooks",
            &json!({ "rotate_secret": true }),
        ),
        200,
    );
    assert_eq!(rotated["url"], hook.url("/hook").as_str(), "{rotated}");
    assert_ne!(rotated["secret"], secret.as_str(), "{rotated}");
    let secret = rotated["secret"].as_str().unwrap().to_string();
    err(
        &api.json(
            "PUT",
            &admin,
            "/v1/webhooks",
            &json!({ "url": "http://169.254.169.254/latest" }),
        ),
        400,
        "fetch_blocked",
    );

    // A PDQ bank with the banned still, added by image.
    ok(
        &api.post(
            &admin,
            "/v1/banks",
            &json!({ "name": "banned", "kind": "pdq", "label": "terrorism" }),
        ),
        201,
    );
    let still = read_testdata("media/video/banned-still.png");
    let added = api.raw(
        "POST",
        &admin,
        "/v1/banks/banned/entries",
        "image/png",
        &still,
    );
    assert!(
        added.status == 200 || added.status == 201,
        "{}",
        added.text()
    );

    // 1. The banned still inside a video is found at its interval; the webhook fails twice,
    //    the third delivery is accepted, every attempt is signed and carries one id.
    let video = read_testdata("media/video/banned-insert.mp4");
    let id = submit(api, &submitter, "/v1/moderate/video", "video/mp4", &video);
    let job = wait_job(api, &submitter, &id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(job["kind"], "video");
    let verdict = &job["verdict"];
    assert_eq!(verdict["content_type"], "video", "{verdict}");
    assert_ne!(verdict["suggestion"], "pass", "{verdict}");
    let hits: Vec<Value> = evidence(verdict)
        .into_iter()
        .filter(|(label, e)| label == "terrorism" && e["kind"] == "hash")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(hits.len(), 1, "one merged interval: {verdict}");
    near(&hits[0]["t_start"], 8.0, 1.0, "t_start");
    near(&hits[0]["t_end"], 11.0, 1.0, "t_end");
    assert_eq!(hits[0]["bank"], "banned");

    wait_until("the third webhook attempt", 60, || {
        hook.requests().len() >= 3
    });
    std::thread::sleep(Duration::from_secs(2)); // nothing more must arrive
    let got = hook.requests();
    assert_eq!(got.len(), 3, "{got:?}");
    let statuses: Vec<u16> = got.iter().map(|r| r.answered).collect();
    assert_eq!(statuses, [500, 500, 200]);
    let delivery_id = got[0].headers["rampart-delivery-id"].clone();
    for r in &got {
        assert_eq!(r.path, "/hook");
        assert_eq!(r.headers["rampart-delivery-id"], delivery_id);
        assert_eq!(r.headers["idempotency-key"], delivery_id);
        assert_eq!(r.headers["rampart-event"], "job.succeeded");
        let signature = &r.headers["rampart-signature"];
        assert!(
            signature_verifies(&secret, signature, &r.body),
            "{signature}"
        );
        assert!(!signature_verifies("whsec_wrong", signature, &r.body));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["job"]["id"], id.as_str());
        assert_eq!(body["job"]["verdict"]["id"], verdict["id"]);
    }
    let accepted = got.iter().filter(|r| r.answered == 200).count();
    assert_eq!(
        accepted, 1,
        "exactly once per idempotency id at the receiver"
    );
    let log = ok(
        &api.get(&auditor, &format!("/v1/webhooks/deliveries?job_id={id}")),
        200,
    );
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{log}");
    assert_eq!(deliveries[0]["id"], delivery_id.as_str());
    assert_eq!(deliveries[0]["state"], "delivered");
    assert_eq!(deliveries[0]["attempts"], 3);
    let one = ok(
        &api.get(&auditor, &format!("/v1/webhooks/deliveries/{delivery_id}")),
        200,
    );
    let attempts: Vec<Value> = one["log"].as_array().unwrap().to_vec();
    let codes: Vec<&Value> = attempts.iter().map(|a| &a["status"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)], "{one}");

    // 2. Audio with its own callback URL: profanity flagged with its time.
    let fine = receiver(Behaviour::FailFirst(0));
    let wav = read_testdata("media/speech/profanity.wav");
    let route = format!(
        "/v1/moderate/audio?client_id=voice-1&callback_url={}",
        fine.url("/audio")
    );
    let audio_id = submit(api, &submitter, &route, "audio/wav", &wav);
    let job = wait_job(api, &submitter, &audio_id);
    assert_eq!(job["state"], "succeeded", "{job}");
    let verdict = &job["verdict"];
    assert_eq!(verdict["content_type"], "audio");
    assert_eq!(verdict["content_ref"]["client_id"], "voice-1");
    // Spoken swearing aimed at no one is profanity at review; no text model's score alone blocks.
    assert_eq!(verdict["suggestion"], "review", "{verdict}");
    let asr: Vec<Value> = evidence(verdict)
        .into_iter()
        .filter(|(label, e)| label == "profanity" && e["kind"] == "asr")
        .map(|(_, e)| e)
        .collect();
    assert!(!asr.is_empty(), "{verdict}");
    near(&asr[0]["t_start"], 0.0, 1.0, "t_start");
    near(&asr[0]["t_end"], 2.9, 1.0, "t_end");
    assert!(
        verdict["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("whisper")),
        "{verdict}"
    );
    wait_until("the audio webhook", 30, || !fine.requests().is_empty());
    assert_eq!(fine.requests()[0].path, "/audio");

    // 3. Bad input: each fails cleanly, in a failed job with its reason or at once.
    let corrupt = read_testdata("media/video/corrupt.mp4");
    let failed = wait_job(
        api,
        &submitter,
        &submit(api, &submitter, "/v1/moderate/video", "video/mp4", &corrupt),
    );
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "decode_failed", "{failed}");
    assert!(failed["verdict"].is_null());
    let text_as_video = wait_job(
        api,
        &submitter,
        &submit(
            api,
            &submitter,
            "/v1/moderate/video",
            "application/octet-stream",
            b"this is not a video at all, just some text",
        ),
    );
    assert_eq!(text_as_video["state"], "failed");
    assert_eq!(
        text_as_video["error"]["code"], "unsupported_media",
        "{text_as_video}"
    );
    let audio_as_video = wait_job(
        api,
        &submitter,
        &submit(api, &submitter, "/v1/moderate/video", "video/mp4", &wav),
    );
    assert_eq!(audio_as_video["state"], "failed");
    assert_eq!(
        audio_as_video["error"]["code"], "unsupported_media",
        "{audio_as_video}"
    );
    let silent = read_testdata("media/speech/silence.wav");
    let silent_job = wait_job(
        api,
        &submitter,
        &submit(api, &submitter, "/v1/moderate/audio", "audio/wav", &silent),
    );
    assert_eq!(silent_job["state"], "succeeded", "{silent_job}");
    assert_eq!(silent_job["verdict"]["suggestion"], "pass", "{silent_job}");
    err(
        &api.raw("POST", &submitter, "/v1/moderate/video", "video/mp4", b""),
        422,
        "decode_failed",
    );
    err(
        &api.raw(
            "POST",
            &submitter,
            "/v1/moderate/video",
            "text/plain",
            b"hello",
        ),
        415,
        "unsupported_media",
    );
    err(
        &api.raw(
            "POST",
            &submitter,
            "/v1/moderate/video?callback_url=http://169.254.169.254/x",
            "video/mp4",
            &video,
        ),
        400,
        "fetch_blocked",
    );
    invalid(
        &api.raw(
            "POST",
            &submitter,
            "/v1/moderate/video?policy=nope",
            "video/mp4",
            &video,
        ),
        "policy",
    );
    invalid(
        &api.raw(
            "POST",
            &submitter,
            "/v1/moderate/video?colour=red",
            "video/mp4",
            &video,
        ),
        "colour",
    );

    // 4. Webhook endpoints that hang or redirect: the job succeeds, the delivery log says why
    //    the attempt failed, and other jobs go on meanwhile.
    let hang = receiver(Behaviour::Hang);
    let redirect = receiver(Behaviour::Redirect);
    let clean = read_testdata("media/video/tiny-1frame.mp4");
    let hang_id = submit(
        api,
        &submitter,
        &format!("/v1/moderate/video?callback_url={}", hang.url("/h")),
        "video/mp4",
        &clean,
    );
    let redirect_id = submit(
        api,
        &submitter,
        &format!("/v1/moderate/video?callback_url={}", redirect.url("/r")),
        "video/mp4",
        &clean,
    );
    for job_id in [&hang_id, &redirect_id] {
        let job = wait_job(api, &submitter, job_id);
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    wait_until("a logged redirect attempt", 60, || {
        let log = ok(
            &api.get(
                &auditor,
                &format!("/v1/webhooks/deliveries?job_id={redirect_id}"),
            ),
            200,
        );
        log["deliveries"][0]["attempts"].as_u64().unwrap_or(0) >= 1
    });
    let log = ok(
        &api.get(
            &auditor,
            &format!("/v1/webhooks/deliveries?job_id={redirect_id}"),
        ),
        200,
    );
    let d = &log["deliveries"][0];
    assert_ne!(d["state"], "delivered", "{d}");
    assert!(
        d["last_error"].as_str().unwrap_or("").contains("redirect"),
        "{d}"
    );
    wait_until("a logged timeout", 60, || {
        let log = ok(
            &api.get(
                &auditor,
                &format!("/v1/webhooks/deliveries?job_id={hang_id}"),
            ),
            200,
        );
        log["deliveries"][0]["attempts"].as_u64().unwrap_or(0) >= 1
    });
    let quick = wait_job(
        api,
        &submitter,
        &submit(api, &submitter, "/v1/moderate/video", "video/mp4", &clean),
    );
    assert_eq!(
        quick["state"], "succeeded",
        "a hanging receiver delays nothing else"
    );
    assert_eq!(quick["verdict"]["suggestion"], "pass", "{quick}");

    // 5. Tenants: another tenant sees none of this.
    err(
        &api.get(&other, &format!("/v1/jobs/{id}")),
        404,
        "not_found",
    );
    let theirs = ok(&api.get(&other, "/v1/jobs"), 200);
    assert_eq!(theirs["jobs"].as_array().unwrap().len(), 0, "{theirs}");
    let theirs = ok(&api.get(&other, "/v1/webhooks/deliveries"), 200);
    assert_eq!(
        theirs["deliveries"].as_array().unwrap().len(),
        0,
        "{theirs}"
    );
    err(
        &api.get(&other, &format!("/v1/webhooks/deliveries/{delivery_id}")),
        404,
        "not_found",
    );
    let mine = ok(&api.get(&auditor, "/v1/jobs?state=failed"), 200);
    assert_eq!(mine["jobs"].as_array().unwrap().len(), 3, "{mine}");
    invalid(&api.get(&auditor, "/v1/jobs?state=weird"), "state");

    // 6. Privacy: the submitted files are gone from the store once their jobs ended.
    if backend.store.is_none() {
        let db = std::fs::read(backend.data.join("rampart.db")).unwrap();
        let needle = &video[video.len() / 2..video.len() / 2 + 64];
        assert!(
            !db.windows(64).any(|w| w == needle),
            "video bytes left in the store"
        );
    }
    drop(server);
}

#[test]
fn jobs_on_sqlite() {
    let dir = temp_dir("jobs");
    run_jobs_suite(&sqlite_backend(dir.0.clone()));
}

#[test]
fn jobs_on_postgres() {
    let dir = temp_dir("jobs-pg");
    let backend = pg_backend(dir.0.clone(), "jobs");
    let result = std::panic::catch_unwind(|| run_jobs_suite(&backend));
    drop_pg(&backend);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A video long enough to be killed mid-way (made with the ffmpeg program).
fn long_video(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("long.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=25:duration=120")
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&path)
        .status()
        .expect("the ffmpeg program (./setup.sh installs it)");
    assert!(status.success());
    std::fs::read(path).unwrap()
}

/// Starts a server on `backend` with `flags`, lets `prepare` set it up with the admin key,
/// submits a long video and SIGKILLs the server once the job runs. Returns the admin key and
/// the job id.
fn kill_during_a_job(
    backend: &Backend,
    flags: &[&str],
    prepare: impl FnOnce(Api, &str),
) -> (String, String) {
    let video = long_video(&backend.data);
    let mut server = start(backend, flags);
    let api = Api { addr: server.addr };
    let admin = server.admin_key.clone().unwrap();
    prepare(api, &admin);
    let id = submit(api, &admin, "/v1/moderate/video", "video/mp4", &video);
    wait_until("the job to run", 60, || {
        ok(&api.get(&admin, &format!("/v1/jobs/{id}")), 200)["state"] == "running"
    });
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    (admin, id)
}

#[test]
fn a_job_whose_server_is_killed_completes_once_after_restart() {
    let dir = temp_dir("jobs-kill");
    let backend = sqlite_backend(dir.0.clone());
    let (admin, id) = kill_during_a_job(&backend, SERVE_FLAGS, |_, _| {});

    let server = start(&backend, SERVE_FLAGS);
    let api = Api { addr: server.addr };
    let job = wait_job(api, &admin, &id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "picked up again once: {job}");
    let sha = job["input_sha256"].as_str().unwrap();
    let verdicts = ok(&api.get(&admin, "/v1/verdicts?limit=1000"), 200);
    let of_this = verdicts["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["content_ref"]["sha256"] == sha)
        .count();
    assert_eq!(of_this, 1, "one verdict for the job: {verdicts}");
    drop(server);
}

#[test]
fn a_job_out_of_attempts_is_failed_and_its_webhook_sent() {
    // One start allowed: the server is killed during it, so after restart the job is out of
    // attempts. It must end failed, with the reason, and the webhook must hear of it.
    let dir = temp_dir("jobs-exhausted");
    let backend = sqlite_backend(dir.0.clone());
    let flags: Vec<&str> = SERVE_FLAGS
        .iter()
        .copied()
        .chain(["--job-attempts", "1"])
        .collect();
    let hook = receiver(Behaviour::FailFirst(0));
    let (admin, id) = kill_during_a_job(&backend, &flags, |api, admin| {
        ok(
            &api.json(
                "PUT",
                admin,
                "/v1/webhooks",
                &json!({ "url": hook.url("/hook") }),
            ),
            200,
        );
    });
    assert!(
        hook.requests().is_empty(),
        "nothing was sent before the kill"
    );

    let server = start(&backend, &flags);
    let api = Api { addr: server.addr };
    let job = wait_job(api, &admin, &id);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "not started again: {job}");
    assert_eq!(job["error"]["code"], "internal", "{job}");
    assert_eq!(job["error"]["message"], "gave up after 1 attempts", "{job}");
    wait_until("the job.failed webhook", 30, || !hook.requests().is_empty());
    std::thread::sleep(Duration::from_secs(1)); // nothing more must arrive
    let got = hook.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["event"], "job.failed", "{body}");
    assert_eq!(body["job"]["id"], id.as_str(), "{body}");
    assert_eq!(body["job"]["error"]["message"], "gave up after 1 attempts");
    let log = ok(
        &api.get(&admin, &format!("/v1/webhooks/deliveries?job_id={id}")),
        200,
    );
    assert_eq!(log["deliveries"][0]["state"], "delivered", "{log}");
    drop(server);
}

fn nats_url() -> String {
    std::env::var("NATS_URL").expect("NATS_URL must point at a NATS JetStream server for this test")
}

fn spawn_worker(backend: &Backend, flags: &[&str]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data")
        .arg(&backend.data)
        .arg("worker")
        .args(flags);
    if let Some(url) = &backend.store {
        cmd.args(["--store", url]);
    }
    cmd.env_remove("RAMPART_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rampart worker")
}

#[test]
fn a_worker_runs_jobs_from_nats_for_an_api_only_node() {
    let dir = temp_dir("jobs-nats");
    let backend = pg_backend(dir.0.clone(), "jobs_nats");
    let result = std::panic::catch_unwind(|| {
        let nats = nats_url();
        let stream = format!("RAMPART_TEST_{}", unique());
        let server = start(
            &backend,
            &[
                "--nats",
                &nats,
                "--nats-stream",
                &stream,
                "--media-workers",
                "0",
            ],
        );
        let api = Api { addr: server.addr };
        let admin = server.admin_key.clone().unwrap();
        let wav = read_testdata("media/speech/threat.wav");
        let id = submit(api, &admin, "/v1/moderate/audio", "audio/wav", &wav);
        std::thread::sleep(Duration::from_secs(1));
        let job = ok(&api.get(&admin, &format!("/v1/jobs/{id}")), 200);
        assert_eq!(job["state"], "queued", "no worker yet: {job}");
        let mut worker = spawn_worker(&backend, &["--nats", &nats, "--nats-stream", &stream]);
        let job = wait_job(api, &admin, &id);
        let _ = worker.kill();
        let _ = worker.wait();
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_ne!(job["verdict"]["suggestion"], "pass", "{job}");
        drop(server);
    });
    drop_pg(&backend);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
