// Console end to end: officer watches a vehicle arrive over SSE, sees occupants and decisions,
// confirms one; an auditor finds the decision in the audit log and is refused a photo.
// Env: LANEFACE_URL, LANEFACE_ADMIN_PASSWORD, LANEFACE_CHROMIUM, LANEFACE_SHOTS, NODE_PATH.
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const base = process.env.LANEFACE_URL.replace(/\/$/, "");
const shots = process.env.LANEFACE_SHOTS;
const PASSWORD = "officer-pass-1";
// A 1x1 PNG: the portrait of a document enrolled through the API (stand-in: no template).
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

async function api(path, { token, method = "GET", body } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* text */ }
  return { status: res.status, data };
}
async function login(user, password) {
  const r = await api("/api/login", { method: "POST", body: { user, password } });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data.token;
}
function step(msg) { console.log(`console_e2e: ${msg}`); }

const admin = await login("admin", process.env.LANEFACE_ADMIN_PASSWORD);
for (const [name, role] of [["officer1", "officer"], ["auditor1", "auditor"]]) {
  const r = await api("/api/users", { token: admin, method: "POST", body: { name, role, password: PASSWORD } });
  assert.equal(r.status, 201, JSON.stringify(r.data));
}
const enrol = await api("/api/documents", {
  token: admin, method: "POST",
  body: { type: "passport", number: "P100", country: "MEX", name: "Ana Example", date_of_birth: "1990-01-01", citizenship: "non-US", admitted_until: "2027-01-01", portrait: PNG },
});
assert.equal(enrol.status, 201, JSON.stringify(enrol.data));
const officerToken = await login("officer1", PASSWORD);

const browser = await chromium.launch({
  executablePath: process.env.LANEFACE_CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter"],
});
const external = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) external.push(r.url()); });
  page.on("pageerror", (e) => { throw e; });

  step("officer logs in");
  await page.goto(base + "/");
  await page.fill("#login-user", "officer1");
  await page.fill("#login-password", PASSWORD);
  await page.click("#login-submit");
  await page.waitForSelector("#app-view:not([hidden])");
  await page.waitForSelector("#live.on", { timeout: 10000 });

  step("a vehicle arrives (submitted through the API; the console learns of it over SSE)");
  let r = await api("/api/vehicles", { token: officerToken, method: "POST", body: { vehicle: "v0001", lane: "L1", direction: "entry", documents: [{ number: "P100" }] } });
  assert.equal(r.status, 202, JSON.stringify(r.data));
  r = await api("/api/vehicles", { token: officerToken, method: "POST", body: { vehicle: "v0002", lane: "L1", direction: "entry", documents: [{ number: "P100" }, { number: "X999" }] } });
  assert.equal(r.status, 202, JSON.stringify(r.data));
  await page.waitForSelector('article.vehicle[data-vehicle="v0002"] .occ', { timeout: 15000 });
  // The lane select picks up the new lane; occupants, quality and match are shown.
  const v1 = page.locator('article.vehicle[data-vehicle="v0001"]');
  await v1.locator(".occ").first().waitFor();
  const text1 = await v1.innerText();
  assert.match(text1, /matched/);
  assert.match(text1, /Ana Example/);
  assert.match(text1, /quality passed/);
  // The occupant card names the seat (falling back to the row when the pipeline gives none).
  const seat1 = await v1.locator(".occ h4.seat").first().innerText();
  assert.match(seat1, /^driver · row 1$/i, `seat heading: ${seat1}`);
  const v2 = await page.locator('article.vehicle[data-vehicle="v0002"]').innerText();
  assert.match(v2, /NOT MATCHED|NOT CAPTURED/, "alert for the occupant without a match");
  await page.waitForFunction(() => [...document.querySelectorAll("img.thumb")].some((i) => i.complete && i.naturalWidth > 0));
  await page.screenshot({ path: `${shots}/lane.png`, fullPage: false });

  step("officer confirms the match");
  const occ = v1.locator(".occ").first();
  const occupantId = await occ.getAttribute("data-occupant");
  await occ.locator("button.confirm").click();
  await occ.locator(".decided", { hasText: "confirmed by officer1" }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: `${shots}/lane-confirmed.png` });

  step("history search by document");
  await page.click('[data-tab="history"]');
  await page.fill('#history-form input[name="document"]', "P100");
  await page.click('#history-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelectorAll("#history-table tbody tr").length >= 2);
  await page.click('[data-tab="reports"]');
  await page.waitForSelector("#overstays-table tbody tr");
  await page.screenshot({ path: `${shots}/reports.png`, fullPage: true });

  step("auditor finds the decision in the audit log and cannot see photos");
  const actx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const apage = await actx.newPage();
  apage.on("request", (q) => { if (!q.url().startsWith(base)) external.push(q.url()); });
  await apage.goto(base + "/");
  await apage.fill("#login-user", "auditor1");
  await apage.fill("#login-password", PASSWORD);
  await apage.click("#login-submit");
  await apage.waitForSelector("#app-view:not([hidden])");
  assert.equal(await apage.locator('[data-tab="lane"]').isHidden(), true, "auditors have no lane view");
  await apage.click('[data-tab="audit"]');
  await apage.fill("#audit-action", "officer_decision");
  await apage.click("#audit-refresh");
  const row = apage.locator('#audit-table tbody tr[data-action="officer_decision"]').first();
  await row.waitFor({ timeout: 10000 });
  const rowText = await row.innerText();
  assert.match(rowText, /officer1/);
  assert.match(rowText, new RegExp(`occupant:${occupantId}`));
  assert.match(rowText, /confirmed/);
  await apage.screenshot({ path: `${shots}/audit.png` });
  const photoStatus = await apage.evaluate(async () => {
    const page = await (await fetch("/api/crossings?limit=5")).json();
    const id = page.items.flatMap((c) => c.occupants).flatMap((o) => o.photo_ids)[0];
    return { id, status: (await fetch(`/api/photos/${id}`)).status };
  });
  assert.ok(photoStatus.id, "a stored photo to ask for");
  assert.equal(photoStatus.status, 403, "auditor photo request refused");
  await apage.click('[data-tab="history"]');
  await apage.waitForSelector("#history-table tbody tr");
  await apage.locator("#history-table tbody tr").first().click();
  await apage.locator("#history-detail .thumb", { hasText: "photo restricted" }).first().waitFor();
  await apage.screenshot({ path: `${shots}/history-auditor.png`, fullPage: true });
  assert.deepEqual(external, [], "the console made no external requests");
  step(`passed; screenshots in ${shots}`);
} finally {
  await browser.close();
}
