// Opens a report's index.html in Debian's headless Chromium and checks what a reader relies on:
// the page loads without console errors and without touching the network, it shows as many
// cells as junit.xml has testcases, the filters narrow them, and clicking a failed cell shows
// that cell's sequence chart. Saves a screenshot (REPORT/index.png) with that cell open.
// usage: node harness/tests/browser/report_browser.js REPORT_DIR [CHROMIUM]
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const dir = path.resolve(process.argv[2] || "");
const executablePath = process.argv[3] || "/usr/bin/chromium";
const problems = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok" : "FAIL"}: ${what}`);
  if (!ok) problems.push(what);
};

async function main() {
  const junit = fs.readFileSync(path.join(dir, "junit.xml"), "utf8");
  const testcases = (junit.match(/<testcase /g) || []).length;
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"], timeout: 60000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20000);
    const errors = [];
    const outside = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => {
      if (!r.url().startsWith("file://") && !r.url().startsWith("data:")) outside.push(r.url());
    });
    await page.goto("file://" + path.join(dir, "index.html"), { waitUntil: "load" });
    const shown = await page.locator("button.cell").count();
    check(shown === testcases, `the page shows ${shown} cells, junit.xml has ${testcases}`);

    const iut = await page.locator("#f-iut option").nth(1).getAttribute("value");
    await page.selectOption("#f-iut", iut);
    const narrowed = await page.locator("button.cell").count();
    const expected = (junit.match(new RegExp(`<testcase [^>]*name="${iut}/`, "g")) || []).length;
    check(narrowed === expected, `filtered to ${iut}: ${narrowed} cells, junit.xml has ${expected}`);
    await page.selectOption("#f-iut", "");

    const failed = page.locator('button.cell[data-status="fail"]').first();
    check((await failed.count()) === 1, "the report has a failed cell to click");
    if ((await failed.count()) === 1) {
      const name = await failed.getAttribute("title");
      await failed.click();
      await page.locator("#chart svg g.row").first().waitFor();
      const rows = await page.locator("#chart svg g.row").count();
      const heading = await page.locator("#d-name").textContent();
      check(rows > 0 && name.startsWith(heading + ":"),
            `clicking ${heading} shows its chart (${rows} datagrams)`);
    }
    await page.screenshot({ path: path.join(dir, "index.png"), fullPage: true });
    check(fs.statSync(path.join(dir, "index.png")).size > 0, "screenshot saved as index.png");
    check(errors.length === 0, `no console errors${errors.length ? ": " + errors.join(" | ") : ""}`);
    check(outside.length === 0, `no network requests${outside.length ? ": " + outside.join(" ") : ""}`);
  } finally {
    await browser.close();
  }
}

main().then(
  () => process.exit(problems.length ? 1 : 0),
  (e) => {
    console.log("FAIL: " + (e && e.stack ? e.stack : e));
    process.exit(1);
  },
);
