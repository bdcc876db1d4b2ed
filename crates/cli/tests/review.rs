//! End to end: the human-review queue through the real binary, on SQLite and PostgreSQL.
//!
//! A verdict the policy routes to review becomes an item with its text kept; a sampled block
//! does too. Moderators claim (a second claim conflicts), decide (without a claim: conflict),
//! escalate (then only an admin decides); an appeal on unknown content is `not_found`, an
//! appeal reopens the content for a moderator other than the one who decided — who is
//! refused, and the refusal audited. Another tenant's moderator gets `not_found` (audited in
//! their own chain). The transparency report counts it all; the DSA export carries the
//! moderator's removal as a valid, non-automated statement; the kept content is purged after
//! the retention period, with an audit entry; the chain still verifies. The console escapes
//! `<script>` in content and refuses a form post without its CSRF token.
//!
//! Needs `DATABASE_URL` for the PostgreSQL half; fails, never skips, without it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn items(api: &Api, key: &str, query: &str) -> Vec<Value> {
    let r = api.get(key, &format!("/v1/reviews{query}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

fn item_of_verdict(api: &Api, key: &str, query: &str, verdict: &str) -> Value {
    items(api, key, query)
        .into_iter()
        .find(|i| i["verdict_id"] == verdict)
        .unwrap_or_else(|| panic!("no item for verdict {verdict} in {query}"))
}

fn code(r: &Resp) -> String {
    r.json()["error"]["code"].as_str().unwrap_or("").to_owned()
}

fn audit_actions(api: &Api, key: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut after = 0u64;
    loop {
        let page = api.get(key, &format!("/v1/audit?after={after}&limit=1000"));
        assert_eq!(page.status, 200, "{}", page.text());
        let body = page.json();
        for e in body["entries"].as_array().unwrap() {
            out.push((
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            ));
            after = e["seq"].as_u64().unwrap();
        }
        if body.get("next").is_none() {
            return out;
        }
    }
}

fn key_actor(key: &str) -> String {
    // rk_<id>_<secret>
    format!("key:{}", key.split('_').nth(1).unwrap())
}

fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{}", days * 86_400), "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A webhook receiver that answers 200 and keeps each request's headers and body.
/// Requests a receiver got: (header lines, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

fn hook_receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let log = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut headers, mut len) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                headers.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            log.lock()
                .unwrap()
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

fn review_queue_end_to_end(backend: &Backend) {
    let mut server = start(
        backend,
        &["--purge-interval", "0.2", "--fetch-allow", "127.0.0.1"],
    );
    let api = Api { addr: server.addr };
    let admin = server
        .admin_key
        .clone()
        .expect("first start prints an admin key");
    let mod_a = cli_key(backend, "default", "moderator");
    let mod_b = cli_key(backend, "default", "moderator");
    let submitter = cli_key(backend, "default", "submitter");
    let auditor = cli_key(backend, "default", "auditor");
    let other_mod = cli_key(backend, "other", "moderator");
    let other_admin = cli_key(backend, "other", "admin");

    // Every block is sampled for review; kept content goes as soon as an item is decided.
    let policy = api.raw(
        "PUT",
        &admin,
        "/v1/policies/default",
        "application/toml",
        b"[labels.profanity]\nblock = 0.7\n[review]\nsample_block = 1.0\nretention_hours = 0\n",
    );
    assert_eq!(policy.status, 201, "{}", policy.text());
    let (hook, received) = hook_receiver();
    let set = api.json("PUT", &admin, "/v1/webhooks", &json!({ "url": hook }));
    assert_eq!(set.status, 200, "{}", set.text());

    let reviewed = api.moderate(
        &submitter,
        json!({"text": "you are an idiot", "client_id": "post-1"}),
    );
    assert_eq!(reviewed["suggestion"], "review", "{reviewed}");
    let blocked = api.moderate(
        &submitter,
        json!({"text": "<script>alert(1)</script> you are a fucking idiot", "client_id": "post-2"}),
    );
    assert_eq!(blocked["suggestion"], "block", "{blocked}");
    let passed = api.moderate_text(&submitter, "what a lovely afternoon");
    assert_eq!(passed["suggestion"], "pass");
    let (rv, bv) = (
        reviewed["id"].as_str().unwrap(),
        blocked["id"].as_str().unwrap(),
    );

    // The queue: the review and the sampled block, not the pass; the text is kept.
    let open = items(&api, &mod_a, "");
    assert_eq!(open.len(), 2, "{open:?}");
    let review_item = item_of_verdict(&api, &mod_a, "", rv);
    let block_item = item_of_verdict(&api, &mod_a, "", bv);
    assert_eq!(review_item["reason"], "review");
    assert_eq!(block_item["reason"], "sample");
    let ri = review_item["id"].as_str().unwrap().to_owned();
    let bi = block_item["id"].as_str().unwrap().to_owned();
    let text = api.get(&mod_a, &format!("/v1/reviews/{ri}/content/0"));
    assert_eq!(text.status, 200);
    assert_eq!(text.text(), "you are an idiot");
    assert_eq!(text.header("x-content-type-options"), Some("nosniff"));
    // Roles: a submitter cannot read the queue; an auditor can, but not the content.
    assert_eq!(api.get(&submitter, "/v1/reviews").status, 403);
    assert_eq!(api.get(&auditor, "/v1/reviews").status, 200);
    assert_eq!(
        api.get(&auditor, &format!("/v1/reviews/{ri}/content/0"))
            .status,
        403
    );

    // Claims: a's claim holds; b conflicts; deciding without a claim conflicts.
    let claim = |key: &str, id: &str| api.post(key, &format!("/v1/reviews/{id}/claim"), &json!({}));
    let decide = |key: &str, id: &str, body: Value| {
        api.post(key, &format!("/v1/reviews/{id}/decision"), &body)
    };
    assert_eq!(claim(&mod_a, &ri).status, 200);
    let taken = claim(&mod_b, &ri);
    assert_eq!(taken.status, 409, "{}", taken.text());
    assert_eq!(code(&taken), "conflict");
    let unclaimed = decide(&mod_b, &bi, json!({"outcome": "approve"}));
    assert_eq!(unclaimed.status, 409, "{}", unclaimed.text());
    let no_reason = decide(
        &mod_a,
        &ri,
        json!({"outcome": "remove", "label": "harassment"}),
    );
    assert_eq!(no_reason.status, 400);
    assert_eq!(no_reason.json()["error"]["field"], "reason");

    // a removes the review item; the verdict carries the human outcome.
    let decided = decide(
        &mod_a,
        &ri,
        json!({"outcome": "remove", "label": "harassment", "reason": "insult aimed at another member"}),
    );
    assert_eq!(decided.status, 200, "{}", decided.text());
    assert_eq!(decided.json()["decision"]["outcome"], "remove");
    assert_eq!(decided.json()["decision"]["actor"], key_actor(&mod_a));
    assert_eq!(
        code(&decide(&mod_a, &ri, json!({"outcome": "approve"}))),
        "conflict"
    );

    // The decision reaches the webhook, signed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (headers, body) = loop {
        if let Some(first) = received.lock().unwrap().first().cloned() {
            break first;
        }
        assert!(Instant::now() < deadline, "no review.decided webhook");
        std::thread::sleep(Duration::from_millis(100));
    };
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["event"], "review.decided", "{body}");
    assert_eq!(body["item_id"], ri.as_str());
    assert_eq!(
        (body["outcome"].as_str(), body["suggestion"].as_str()),
        (Some("remove"), Some("block"))
    );
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("rampart-signature: t="),
        "{headers}"
    );
    let stored = api.get(&auditor, &format!("/v1/verdicts/{rv}")).json();
    assert_eq!(
        stored["suggestion"], "review",
        "the automated verdict is never rewritten"
    );
    assert_eq!(stored["review"]["outcome"], "remove", "{stored}");
    assert_eq!(stored["review"]["by"], key_actor(&mod_a));

    // b escalates the sampled block; only an admin may then decide it.
    assert_eq!(claim(&mod_b, &bi).status, 200);
    let escalated = decide(
        &mod_b,
        &bi,
        json!({"outcome": "escalate", "reason": "needs a second look"}),
    );
    assert_eq!(escalated.status, 200, "{}", escalated.text());
    assert_eq!(escalated.json()["escalated"], true);
    assert_eq!(claim(&mod_b, &bi).status, 403);
    assert_eq!(
        items(&api, &mod_a, "?escalated=true")[0]["id"],
        bi.as_str(),
        "escalated items come first and can be filtered"
    );
    assert_eq!(claim(&admin, &bi).status, 200);
    let approved = decide(
        &admin,
        &bi,
        json!({"outcome": "approve", "reason": "quoting, not abuse"}),
    );
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(
        approved.json()["reverses"],
        true,
        "approving an automated block reverses it"
    );
    let detail = api.get(&mod_a, &format!("/v1/reviews/{bi}"));
    let detail = detail.json();
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["escalate", "approve"]);

    // Appeals: unknown content is not_found; the decided review reopens by client id; a, who
    // decided it, is refused (and the refusal audited); b reverses it.
    let unknown = api.post(
        &submitter,
        "/v1/appeals",
        &json!({"content_id": "no-such-post"}),
    );
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    let appeal = api.post(
        &submitter,
        "/v1/appeals",
        &json!({"content_id": "post-1", "statement": "it was a joke between friends"}),
    );
    assert_eq!(appeal.status, 201, "{}", appeal.text());
    let ai = appeal.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(appeal.json()["appeal"]["of_item"], ri.as_str());
    assert_eq!(appeal.json()["appeal"]["excluded_actor"], key_actor(&mod_a));
    let again = api.post(&submitter, "/v1/appeals", &json!({"content_id": "post-1"}));
    assert_eq!(
        again.status,
        409,
        "one open appeal per content: {}",
        again.text()
    );
    let own = claim(&mod_a, &ai);
    assert_eq!(own.status, 403, "{}", own.text());
    assert_eq!(claim(&mod_b, &ai).status, 200);
    let upheld = decide(
        &mod_b,
        &ai,
        json!({"outcome": "approve", "reason": "banter, no target"}),
    );
    assert_eq!(upheld.status, 200, "{}", upheld.text());
    assert_eq!(upheld.json()["reverses"], true);

    // Bulk: nothing left open; a bulk decision on decided items reports each.
    let bulk = api.post(
        &mod_a,
        "/v1/reviews/decisions",
        &json!({"items": [ri, "01NOSUCHITEM"], "outcome": "approve"}),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.text());
    let bulk = bulk.json();
    let statuses: Vec<&str> = bulk["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(statuses, ["conflict", "not_found"]);

    // Tenancy: the other tenant's moderator sees nothing, gets not_found, and the reach is
    // audited in the other tenant's own chain.
    assert!(items(&api, &other_mod, "").is_empty());
    assert_eq!(
        api.get(&other_mod, &format!("/v1/reviews/{ai}")).status,
        404
    );
    assert_eq!(claim(&other_mod, &ai).status, 404);
    let other_audit = audit_actions(&api, &other_admin);
    assert!(
        other_audit
            .iter()
            .any(|(action, actor, subject)| action == "security_refused"
                && *actor == key_actor(&other_mod)
                && *subject == format!("review:{ai}")),
        "{other_audit:?}"
    );

    // The audit chain records every step, and the self-review refusal.
    let actions = audit_actions(&api, &admin);
    let has = |action: &str, actor: &str| actions.iter().any(|(a, b, _)| a == action && b == actor);
    assert!(has("review_claimed", &key_actor(&mod_a)));
    assert!(has("review_decided", &key_actor(&mod_a)));
    assert!(has("review_decided", &key_actor(&mod_b)));
    assert!(has("appeal_opened", &key_actor(&submitter)));
    assert!(has("appeal_decided", &key_actor(&mod_b)));
    assert!(has("security_refused", &key_actor(&mod_a)), "{actions:?}");

    // Retention 0 h: the kept content of decided items is purged by the sweeper, audited.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let gone = api
            .get(&mod_a, &format!("/v1/reviews/{ri}/content/0"))
            .status
            == 404;
        if gone {
            break;
        }
        assert!(Instant::now() < deadline, "content never purged");
        std::thread::sleep(Duration::from_millis(200));
    }
    let purged = api.get(&mod_a, &format!("/v1/reviews/{ri}")).json();
    assert!(purged["item"]["purged_at"].is_i64(), "{purged}");
    assert!(audit_actions(&api, &admin)
        .iter()
        .any(|(a, _, _)| a == "retention_purged"));

    // Transparency: 3 verdicts, 3 human final decisions (2 reversals), one appeal reversed.
    let day = today();
    let report = api.get(
        &auditor,
        &format!("/v1/reports/transparency?from={day}&to={day}"),
    );
    assert_eq!(report.status, 200, "{}", report.text());
    let r = report.json();
    assert_eq!(r["verdicts"], 3, "{r}");
    assert_eq!(r["human_decisions"], 3, "{r}");
    assert_eq!(r["by_outcome"]["escalate"], 1, "{r}");
    assert_eq!(
        (r["appeals"].as_u64(), r["appeals_decided"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(r["appeal_reversal_rate"], 1.0);
    assert!(r["median_time_to_decision_ms"].is_i64());
    assert_eq!(r["daily"][0]["human"], 3);

    // DSA: the automated block and a's removal, each a valid statement; the human one is not
    // automated and quotes the reason.
    let dsa = api.get(&auditor, &format!("/v1/reports/dsa?from={day}&to={day}"));
    assert_eq!(dsa.status, 200, "{}", dsa.text());
    let statements = dsa.json()["statements"].as_array().unwrap().clone();
    assert_eq!(statements.len(), 2, "{statements:?}");
    let human = statements
        .iter()
        .find(|s| s["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED")
        .expect("a statement for the moderator's removal");
    assert_eq!(human["puid"], ri.as_str());
    assert!(human["decision_facts"]
        .as_str()
        .unwrap()
        .contains("insult aimed at another member"));
    for s in &statements {
        let parsed: rampart_dsa::Statement = serde_json::from_value(s.clone()).unwrap();
        assert!(rampart_dsa::validate(&parsed).is_ok(), "{s}");
    }

    let verify = api.get(&admin, "/v1/audit/verify");
    assert_eq!(verify.json()["intact"], true, "{}", verify.text());
    terminate(&mut server);
}

#[test]
fn review_queue_on_sqlite() {
    let dir = temp_dir("review-sqlite");
    let backend = sqlite_backend(dir.0.clone());
    review_queue_end_to_end(&backend);
}

#[test]
fn review_queue_on_postgres() {
    let dir = temp_dir("review-pg");
    let backend = pg_backend(dir.0.clone(), "review");
    review_queue_end_to_end(&backend);
    drop_pg(&backend);
}

/// `name=value` of a response's first Set-Cookie.
fn cookie_of(r: &Resp) -> String {
    r.header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The sign-in form's pre-session cookie (`name=value`) and the CSRF token it carries.
fn login_form(addr: std::net::SocketAddr) -> (String, String) {
    let form = http(addr, "GET", "/console/login", &[], b"");
    assert_eq!(form.status, 200);
    let cookie = cookie_of(&form);
    let token = cookie.split_once('=').unwrap().1.to_owned();
    (cookie, token)
}

/// Posts `key` to the sign-in form with the form's cookie and token.
fn post_login(addr: std::net::SocketAddr, cookie: &str, token: &str, key: &str) -> Resp {
    http(
        addr,
        "POST",
        "/console/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie),
        ],
        format!("csrf={token}&key={key}").as_bytes(),
    )
}

/// The console over plain HTTP: sign-in sets a strict session cookie; content with markup is
/// escaped; a form post without the CSRF token is refused and audited.
#[test]
fn console_escapes_content_and_refuses_forms_without_csrf() {
    let dir = temp_dir("review-console");
    let backend = sqlite_backend(dir.0.clone());
    let mut server = start(&backend, &[]);
    let api = Api { addr: server.addr };
    let admin = server.admin_key.clone().unwrap();
    let moderator = cli_key(&backend, "default", "moderator");
    let v = api.moderate_text(&admin, "<script>alert('x')</script> you are an idiot");
    assert_eq!(v["suggestion"], "review", "{v}");
    let item = items(&api, &moderator, "")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Sign in: the login form's token must come back with the key.
    let (login_cookie, token) = login_form(server.addr);
    let signed = post_login(server.addr, &login_cookie, &token, &moderator);
    assert_eq!(signed.status, 303, "{}", signed.text());
    let set = signed.header("set-cookie").unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let session = cookie_of(&signed);
    let wrong = post_login(
        server.addr,
        &login_cookie,
        &token,
        "rk_0000000000000000_nope",
    );
    assert_eq!(wrong.status, 401);

    // The item page shows the markup as text, never as markup.
    let page = http(
        server.addr,
        "GET",
        &format!("/console/items/{item}"),
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("&lt;script&gt;alert("), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));

    // A claim without the CSRF token: 403, nothing claimed, a security entry in the chain.
    let forged = http(
        server.addr,
        "POST",
        &format!("/console/items/{item}/claim"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &session),
        ],
        b"x=1",
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    let after = api.get(&moderator, &format!("/v1/reviews/{item}")).json();
    assert!(after["item"].get("claim").is_none(), "{after}");
    assert!(audit_actions(&api, &admin)
        .iter()
        .any(|(a, _, s)| a == "security_refused" && s == "console"));
    // An auditor signs in and sees the item, but not its content.
    let auditor = cli_key(&backend, "default", "auditor");
    let (login_cookie, token) = login_form(server.addr);
    let signed = post_login(server.addr, &login_cookie, &token, &auditor);
    assert_eq!(signed.status, 303, "{}", signed.text());
    let auditor_session = cookie_of(&signed);
    let seen = http(
        server.addr,
        "GET",
        &format!("/console/items/{item}"),
        &[("Cookie", &auditor_session)],
        b"",
    );
    assert_eq!(seen.status, 200);
    assert!(
        !seen.text().contains("id=\"text-content\""),
        "{}",
        seen.text()
    );
    let part = http(
        server.addr,
        "GET",
        &format!("/console/items/{item}/content/0"),
        &[("Cookie", &auditor_session)],
        b"",
    );
    assert_eq!(part.status, 403);

    // Without a session, the console sends you to sign in.
    let anonymous = http(server.addr, "GET", "/console", &[], b"");
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/console/login"));
    terminate(&mut server);
}
