// End-to-end browser tests of the review console (/console), driving Debian's Chromium headless
// through playwright-core against the real `rampart serve` binary.
//
//   RAMPART_BIN=$PWD/bin/rampart node --test e2e/
//
// RAMPART_BIN        the binary (default bin/rampart, else $CARGO_TARGET_DIR/release/rampart)
// RAMPART_ARTIFACTS  where the full-page screenshots go (default e2e/artifacts/)
// RAMPART_TESTDATA   the test fixtures, for a JPEG (default data/testdata)
// CHROMIUM           the browser (default /usr/bin/chromium)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const TIMEOUT = 30_000;

function binaryPath() {
  if (process.env.RAMPART_BIN) return resolve(process.env.RAMPART_BIN);
  const local = join(root, "bin", "rampart");
  if (existsSync(local)) return local;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), ".cache", "rampart", "target");
  return join(target, "release", "rampart");
}

const artifacts = resolve(process.env.RAMPART_ARTIFACTS || join(here, "artifacts"));
const testdata = resolve(process.env.RAMPART_TESTDATA || join(root, "data", "testdata"));
const jpegPath = join(testdata, "pdq", "reg-test-input", "labelme-subset", "q0122.jpg");

const XSS = '<script>alert("xss")</script>';
const TEXT = "you are an idiot";
const XSS_TEXT = `${XSS} you are an idiot, said the script`;

const s = {
  server: null,
  dataDir: null,
  base: null,
  stderr: "",
  admin: null,
  keys: {},
  keyIds: {},
  ids: {},
  browser: null,
  context: null,
  page: null,
  dialogs: [],
};

// ---- helpers ---------------------------------------------------------------------------------

async function api(method, path, { key = s.admin, body, type = "application/json", expect } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  let payload = body;
  if (body !== undefined && type === "application/json") payload = JSON.stringify(body);
  if (body !== undefined) headers["content-type"] = type;
  const res = await fetch(s.base + path, { method, headers, body: payload });
  const text = await res.text();
  if (expect !== undefined && res.status !== expect) {
    throw new Error(`${method} ${path}: HTTP ${res.status} (wanted ${expect}): ${text}`);
  }
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

async function reviews(state) {
  const items = [];
  let next = null;
  do {
    const q = new URLSearchParams();
    if (state) q.set("state", state);
    if (next) q.set("after", next);
    const { json } = await api("GET", `/v1/reviews?${q}`, { expect: 200 });
    items.push(...json.items);
    next = json.next || null;
    if (next && typeof next !== "string") next = null;
  } while (next);
  return items;
}

async function shot(name) {
  await s.page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function waitFor(cond, what, ms = TIMEOUT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Press a key that makes the page navigate (a form post or a link), and wait for the new page.
async function pressAndNavigate(key) {
  await Promise.all([s.page.waitForNavigation({ timeout: TIMEOUT }), s.page.keyboard.press(key)]);
  await s.page.waitForLoadState("load");
}

async function clickAndNavigate(selector) {
  await Promise.all([s.page.waitForNavigation({ timeout: TIMEOUT }), s.page.click(selector)]);
  await s.page.waitForLoadState("load");
}

async function signIn(key) {
  await s.page.goto(`${s.base}/console/login`);
  await s.page.fill("#key", key);
  await clickAndNavigate("#sign-in");
}

async function signOut() {
  await clickAndNavigate('form[action="/console/logout"] button[type="submit"]');
}

async function openItem(id) {
  await s.page.goto(`${s.base}/console/items/${id}`);
  await s.page.waitForSelector("main h1");
}

async function flashText() {
  const flash = s.page.locator('[role="status"], [role="alert"]');
  if ((await flash.count()) === 0) return "";
  return (await flash.allInnerTexts()).join(" ");
}

// ---- server and browser ----------------------------------------------------------------------

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const bin = binaryPath();
  assert.ok(existsSync(bin), `rampart binary not found at ${bin} (set RAMPART_BIN)`);
  s.dataDir = mkdtempSync(join(tmpdir(), "rampart-e2e-"));
  const env = { ...process.env };
  delete env.RAMPART_STORE;
  s.server = spawn(bin, ["--data", s.dataDir, "serve", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  s.server.stderr.setEncoding("utf8");
  s.server.stderr.on("data", (d) => {
    s.stderr += d;
  });
  const exited = new Promise((_, reject) =>
    s.server.once("exit", (code) => reject(new Error(`rampart exited (${code}): ${s.stderr}`))),
  );
  exited.catch(() => {});
  await Promise.race([
    waitFor(() => /listening on (http:\/\/\S+)/.test(s.stderr), "rampart to listen", 60_000),
    exited,
  ]);
  s.base = s.stderr.match(/listening on (http:\/\/\S+)/)[1].replace(/\/$/, "");
  s.admin = s.stderr.match(/admin key for tenant 'default' \(shown once\): (rk_\S+)/)[1];
  await waitFor(async () => {
    try {
      return (await fetch(`${s.base}/healthz`)).status === 200;
    } catch {
      return false;
    }
  }, "/healthz");

  // Keys: two moderators and a submitter.
  for (const [name, role] of [
    ["mod-a", "moderator"],
    ["mod-b", "moderator"],
    ["sub", "submitter"],
  ]) {
    const r = await api("POST", "/v1/keys", { body: { role, name } });
    assert.ok(r.status === 200 || r.status === 201, `POST /v1/keys ${name}: ${r.status} ${r.text}`);
    const json = r.json;
    s.keys[name] = json.key || json.secret;
    s.keyIds[name] = json.id;
    assert.match(s.keys[name], /^rk_/, `key for ${name}`);
  }

  // Sample every pass and block verdict into the queue too (the image passes).
  await api("PUT", "/v1/policies/default", {
    type: "application/toml",
    body: 'name = "default"\nversion = 1\n[review]\nsample_pass = 1.0\nsample_block = 1.0\n',
  }).then((r) => assert.ok(r.status < 300, `PUT policy: ${r.status} ${r.text}`));

  // Seed: a text to review, the XSS text, an image.
  const text = await api("POST", "/v1/moderate/text", {
    key: s.keys.sub,
    body: { text: TEXT, client_id: "e2e-text" },
    expect: 200,
  });
  assert.equal(text.json.suggestion, "review", `"${TEXT}" should need review`);
  const xss = await api("POST", "/v1/moderate/text", {
    key: s.keys.sub,
    body: { text: XSS_TEXT, client_id: "e2e-xss" },
    expect: 200,
  });
  const image = await api("POST", "/v1/moderate/image", {
    key: s.keys.sub,
    type: "image/jpeg",
    body: readFileSync(jpegPath),
    expect: 200,
  });
  s.verdicts = { text: text.json.id, xss: xss.json.id, image: image.json.id };
  const items = await waitFor(async () => {
    const all = await reviews("open");
    const by = (v) => all.find((i) => i.verdict_id === v);
    const found = { text: by(s.verdicts.text), xss: by(s.verdicts.xss), image: by(s.verdicts.image) };
    return found.text && found.xss && found.image ? found : null;
  }, "the three review items");
  s.ids = { text: items.text.id, xss: items.xss.id, image: items.image.id };

  s.browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
    headless: true,
  });
  s.context = await s.browser.newContext({ viewport: { width: 1280, height: 900 } });
  s.context.setDefaultTimeout(TIMEOUT);
  s.context.setDefaultNavigationTimeout(TIMEOUT);
  s.page = await s.context.newPage();
  s.page.on("dialog", async (d) => {
    s.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
});

after(async () => {
  // The server's log is kept with the screenshots.
  try {
    writeFileSync(join(artifacts, "server.log"), s.stderr);
  } catch {
    /* best effort */
  }
  await s.browser?.close().catch(() => {});
  if (s.server && s.server.exitCode === null && s.server.signalCode === null) {
    const gone = new Promise((r) => s.server.once("exit", r));
    s.server.kill("SIGTERM");
    const t = setTimeout(() => s.server.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(t);
  }
  if (s.dataDir) rmSync(s.dataDir, { recursive: true, force: true });
});

// ---- tests (run in order; each builds on the previous one's state) ----------------------------

test("sign in: a wrong key is refused, the right key opens the queue", async () => {
  await s.page.goto(`${s.base}/console/login`);
  await shot("01-login");
  await s.page.fill("#key", "rk_0000000000000000_not-a-key");
  await clickAndNavigate("#sign-in");
  assert.match(new URL(s.page.url()).pathname, /^\/console\/login/);
  const body = await s.page.innerText("main");
  assert.match(body, /invalid|not valid|unknown|wrong|refused|denied|could not/i, `error shown: ${body}`);
  await shot("02-login-wrong-key");

  await signIn(s.keys["mod-a"]);
  assert.equal(new URL(s.page.url()).pathname, "/console");
  await s.page.waitForSelector("#queue-table");
  const hrefs = await s.page.$$eval("a.item-link", (as) => as.map((a) => a.getAttribute("href")));
  for (const id of Object.values(s.ids)) {
    assert.ok(hrefs.includes(`/console/items/${id}`), `queue links item ${id}: ${hrefs}`);
  }
  assert.match(await s.page.innerText(".whoami"), /mod-a/);
  await shot("03-queue");
});

test("decide by keyboard: c claims, r chooses remove, s submits", async () => {
  await openItem(s.ids.text);
  assert.ok((await s.page.locator("#text-content mark").count()) > 0, "highlighted evidence");
  await shot("04-text-item");

  await pressAndNavigate("c");
  await s.page.waitForSelector("#decide-form");
  await s.page.waitForSelector("#release");
  await shot("05-text-item-claimed");

  await s.page.keyboard.press("r");
  assert.equal(await s.page.isChecked("#outcome-remove"), true, "r chooses remove");
  assert.equal(await s.page.evaluate(() => document.activeElement?.id), "reason", "r focuses #reason");
  await s.page.keyboard.type("Insult aimed at another user (e2e).");
  // Leave the text area with Tab (shortcuts are off while typing in a field), then submit with s.
  for (let i = 0; i < 5; i++) {
    const typing = await s.page.evaluate(() => {
      const el = document.activeElement;
      return !!el && (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.isContentEditable);
    });
    if (!typing) break;
    await s.page.keyboard.press("Tab");
  }
  await shot("06-text-item-remove-chosen");
  await pressAndNavigate("s");
  const flash = await flashText();
  assert.match(flash, /decided|decision/i, `flash after deciding: "${flash}"`);
  await shot("07-after-decision");

  const decided = await reviews("decided");
  const item = decided.find((i) => i.id === s.ids.text);
  assert.ok(item, "the text item is decided");
  const d = item.decision || (item.decisions && item.decisions.at(-1));
  assert.ok(d, `decision on the item: ${JSON.stringify(item)}`);
  assert.equal(d.outcome, "remove");
  assert.equal(d.actor, `key:${s.keyIds["mod-a"]}`, `decided by mod-a: ${JSON.stringify(d)}`);
  s.textItem = item;
  s.textDecision = d;
});

test("XSS: <script> content is shown as text and never runs", async () => {
  s.dialogs.length = 0;
  await openItem(s.ids.xss);
  const content = await s.page.innerText("#text-content");
  assert.ok(content.includes(XSS), `literal script text shown: ${content}`);
  assert.ok((await s.page.innerText("main")).includes(XSS));
  assert.equal(await s.page.evaluate(() => document.querySelectorAll("#text-content script").length), 0);
  assert.equal(await s.page.evaluate(() => document.querySelectorAll("main script").length), 0);
  await s.page.waitForTimeout(500);
  assert.deepEqual(s.dialogs, [], "no dialog fired");
  await shot("08-xss-item");
});

test("image: blurred until revealed with v, then blurred again", async () => {
  await openItem(s.ids.image);
  const img = s.page.locator("#content-image");
  await img.waitFor();
  const isBlurred = () => img.evaluate((el) => el.classList.contains("blurred"));
  assert.equal(await isBlurred(), true, "blurred");
  assert.equal(await s.page.getAttribute("#reveal", "aria-pressed"), "false");
  await shot("09-image-blurred");
  await s.page.keyboard.press("v");
  assert.equal(await isBlurred(), false, "revealed");
  assert.equal(await s.page.getAttribute("#reveal", "aria-pressed"), "true");
  await shot("10-image-revealed");
  await s.page.click("#reveal");
  assert.equal(await isBlurred(), true, "blurred");
  assert.equal(await s.page.getAttribute("#reveal", "aria-pressed"), "false");
  // The image itself loads (same origin, session cookie).
  const loaded = await s.page.evaluate(() => {
    const el = document.getElementById("content-image");
    return el.tagName !== "IMG" || (el.complete && el.naturalWidth > 0);
  });
  assert.ok(loaded, "the image loads");
});

test("appeal: submitted from the decided item, it opens as a new item", async () => {
  await openItem(s.ids.text);
  await s.page.waitForSelector("#appeal-statement");
  await s.page.fill("#appeal-statement", "It was a joke between friends; please look again.");
  await shot("11-appeal-form");
  await clickAndNavigate("#appeal-submit");
  const m = new URL(s.page.url()).pathname.match(/^\/console\/items\/([^/]+)$/);
  assert.ok(m, `redirected to the appeal item: ${s.page.url()}`);
  s.ids.appeal = m[1];
  assert.notEqual(s.ids.appeal, s.ids.text);
  await shot("12-appeal-item-mod-a");
});

test("appeal: the moderator who decided the original may not decide it", async () => {
  assert.ok(s.ids.appeal, "an appeal item (previous test)");
  await openItem(s.ids.appeal);

  // mod-a decided the original, so no decision is offered and claiming is refused.
  assert.equal(await s.page.locator("#decide-form").count(), 0, "no decide form for mod-a");
  if ((await s.page.locator("#claim").count()) > 0) {
    await clickAndNavigate("#claim");
  } else {
    // No claim button: try the form post directly, as a moderator could.
    const csrf = await s.page.getAttribute('input[name="csrf"]', "value");
    const navigated = s.page.waitForNavigation({ timeout: TIMEOUT });
    await s.page.evaluate(
      async ({ id, csrf }) => {
        const f = document.createElement("form");
        f.method = "post";
        f.action = `/console/items/${id}/claim`;
        const i = document.createElement("input");
        i.type = "hidden";
        i.name = "csrf";
        i.value = csrf;
        f.appendChild(i);
        document.body.appendChild(f);
        f.submit();
      },
      { id: s.ids.appeal, csrf },
    );
    await navigated;
    await s.page.waitForLoadState("load");
  }
  // The refusal must be a message about the exclusion, shown as the flash (not a server error).
  const refusal = await flashText();
  assert.doesNotMatch(refusal, /internal error/i, `claiming the appeal as mod-a: flash "${refusal}"`);
  assert.match(refusal, /may not|cannot|can't|not allowed|excluded|own decision|refused/i, `refusal: "${refusal}"`);
  assert.equal(await s.page.locator("#decide-form").count(), 0, "still no decide form");
  await shot("13-appeal-claim-refused-mod-a");
});

test("appeal: another moderator claims it and reverses the decision", async () => {
  assert.ok(s.ids.appeal, "an appeal item (previous tests)");

  await signOut();
  assert.match(new URL(s.page.url()).pathname, /^\/console\/login/);
  await signIn(s.keys["mod-b"]);
  await openItem(s.ids.appeal);
  await clickAndNavigate("#claim");
  await s.page.waitForSelector("#decide-form");
  await s.page.check("#outcome-approve");
  await s.page.fill("#reason", "Context shows banter; reversing (e2e).");
  await shot("14-appeal-mod-b-approve");
  await clickAndNavigate("#submit-decision");
  const flash = await flashText();
  assert.match(flash, /decided|decision/i, `flash: "${flash}"`);
  await shot("15-appeal-decided");

  const decided = await reviews("decided");
  const item = decided.find((i) => i.id === s.ids.appeal);
  assert.ok(item, "the appeal item is decided");
  const d = item.decision || (item.decisions && item.decisions.at(-1));
  assert.ok(d, `decision: ${JSON.stringify(item)}`);
  assert.equal(d.outcome, "approve");
  assert.equal(d.actor, `key:${s.keyIds["mod-b"]}`, `decided by mod-b: ${JSON.stringify(d)}`);
  assert.equal(item.reverses, true, `reverses: ${JSON.stringify(item)}`);
  assert.equal(item.appeal?.of_item, s.ids.text, `appeal of the text item: ${JSON.stringify(item)}`);
  s.appealDecision = d;
});

test("keyboard: ? opens the shortcuts dialog, n goes to the next item", async () => {
  await openItem(s.ids.xss);
  await s.page.keyboard.press("?");
  await s.page.waitForSelector("#shortcuts[open]");
  assert.equal(await s.page.evaluate(() => document.getElementById("shortcuts").open), true);
  await shot("16-shortcuts-dialog");
  await s.page.keyboard.press("Escape");
  await waitFor(() => s.page.evaluate(() => !document.getElementById("shortcuts").open), "dialog closed");

  const next = await s.page.getAttribute("#next-item", "href");
  assert.ok(next, "#next-item links somewhere");
  await pressAndNavigate("n");
  assert.equal(new URL(s.page.url()).pathname, next);
  assert.notEqual(new URL(s.page.url()).pathname, `/console/items/${s.ids.xss}`);
  await shot("17-next-item");
});

test("CSRF: a console POST without the token is refused with 403", async () => {
  await openItem(s.ids.xss);
  const status = await s.page.evaluate(async (id) => {
    const r = await fetch(`/console/items/${id}/claim`, {
      method: "POST",
      body: "x=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    return r.status;
  }, s.ids.xss);
  assert.equal(status, 403);
  const item = (await api("GET", `/v1/reviews/${s.ids.xss}`, { expect: 200 })).json;
  assert.ok(!item.claim && !item.claimed_by, `not claimed: ${JSON.stringify(item)}`);
});

test("audit and transparency pages", async () => {
  await s.page.goto(`${s.base}/console/audit`);
  await s.page.waitForSelector("#audit-table");
  await s.page.click("#verify");
  await s.page.waitForFunction(() => /Chain intact/.test(document.body.innerText), null, { timeout: TIMEOUT });
  await shot("18-audit-verified");

  await s.page.goto(`${s.base}/console/transparency`);
  await s.page.waitForSelector("#chart-daily");
  assert.ok((await s.page.locator("#chart-labels").count()) > 0, "#chart-labels");
  await shot("19-transparency");

  await s.page.goto(`${s.base}/console?state=decided`);
  await s.page.waitForSelector("#queue-table");
  const hrefs = await s.page.$$eval("a.item-link", (as) => as.map((a) => a.getAttribute("href")));
  assert.ok(hrefs.includes(`/console/items/${s.ids.text}`), "decided list has the text item");
  await shot("20-decided-list");
});
