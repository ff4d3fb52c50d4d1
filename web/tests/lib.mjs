// What the browser tests share: Debian's Chromium (headless, driven by playwright-core), named
// steps that report and go on, axe-core on a page, screenshots into web/test-results/.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
const artefacts = join(here, "..", "test-results");
mkdirSync(artefacts, { recursive: true });
const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol, which the app's Content Security Policy (no
// inline scripts) rightly does not let a <script> tag do.
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/test-web.sh)`);
  return value;
}

export const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
export const desktop = { viewport: { width: 1366, height: 900 } };

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

const results = [];
export async function step(name, run) {
  const started = Date.now();
  try {
    await run();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n${e.stack ?? e}`);
  }
}

/** Prints the tally and ends the process: 0 when every step passed. */
export function finish() {
  const failed = results.filter((r) => !r.ok);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length === 0 ? 0 : 1);
}

/** No serious or critical axe-core violation on the page as it is now. */
export async function accessible(page, what) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const report = await axe.run(document, { resultTypes: ["violations"] });
    return report.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  const serious = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = found.filter((v) => !serious.includes(v)).map((v) => `${v.id} (${v.impact}, ${v.nodes})`);
  console.log(
    `     axe on ${what}: ${found.length} violation(s), ${serious.length} serious or critical` +
      (minor.length ? `; others: ${minor.join(", ")}` : ""),
  );
  assert.deepEqual(serious, [], `${what}: ${JSON.stringify(serious)}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(artefacts, `${name}.png`) });
}
