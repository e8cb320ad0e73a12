// Regenerates docs/images/console.png from a running `laneface serve` (e.g. scripts/demo):
// logs in, waits until the lane view shows VEHICLES processed vehicles, saves a screenshot.
// Env: LANEFACE_URL, LANEFACE_USER (admin), LANEFACE_PASSWORD, LANEFACE_CHROMIUM, OUT, VEHICLES,
// NODE_PATH=.cache/e2e/node_modules
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const base = process.env.LANEFACE_URL.replace(/\/$/, "");
const browser = await chromium.launch({
  executablePath: process.env.LANEFACE_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 960 } })).newPage();
  await page.goto(base + "/");
  await page.fill("#login-user", process.env.LANEFACE_USER || "admin");
  await page.fill("#login-password", process.env.LANEFACE_PASSWORD);
  await page.click("#login-submit");
  await page.waitForSelector("#live.on", { timeout: 15000 });
  const want = Number(process.env.VEHICLES || 3);
  await page.waitForFunction((n) => document.querySelectorAll("article.vehicle:not(.pending)").length >= n,
    want, { timeout: 600000, polling: 1000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: process.env.OUT || "console.png" });
  console.log(`saved ${process.env.OUT || "console.png"}`);
} finally {
  await browser.close();
}
