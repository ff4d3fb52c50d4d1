// The pipeline board past its first 100 cards a column, against a larger demo (2,500 deals of
// the last year) than the main flows use; run apart from them so that demo's work does not
// weigh on their timings.
//
//   FIELDLINE_BIG_BASE=http://127.0.0.1:8081 FIELDLINE_BIG_ADMIN_LINK=... node web/tests/board-paging.mjs
import assert from "node:assert/strict";
import { accessible, desktop, finish, launch, need, step } from "./lib.mjs";

const bigBase = need("FIELDLINE_BIG_BASE");
const bigAdminLink = need("FIELDLINE_BIG_ADMIN_LINK");
const browser = await launch();

await step("the board pages a column past its first 100 cards, without repeating one", async () => {
  const context = await browser.newContext({ ...desktop, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto(bigAdminLink);
  await page.getByRole("heading", { name: /过程健康/, level: 1 }).waitFor();
  await page.goto(`${bigBase}/#/board`);
  await page.locator("li.deal").first().waitFor();
  const stage = await page.locator("[data-stage]:has(button.more)").first().getAttribute("data-stage");
  const column = page.locator(`[data-stage="${stage}"]`);
  const total = Number.parseInt(await column.locator("header .meta").innerText(), 10);
  const before = await column.locator("li.deal").count();
  assert.equal(before, 100, "a column shows its first 100");
  assert.ok(total > before, `${stage}: ${total} deals`);
  await column.locator("button.more").click();
  await page.waitForFunction(
    ({ stage, n }) => document.querySelectorAll(`[data-stage="${stage}"] li.deal`).length > n,
    { stage, n: before },
  );
  const ids = await column.locator("li.deal").evaluateAll((els) => els.map((e) => e.getAttribute("data-deal")));
  assert.equal(new Set(ids).size, ids.length, "no card twice");
  assert.ok(ids.length <= total, `${ids.length} of ${total}`);
  console.log(`     ${stage}: ${before} cards, then ${ids.length} of ${total} after one "show more"`);
  await accessible(page, "board with 700 cards (desktop)");
  await context.close();
});

await browser.close();
finish();
