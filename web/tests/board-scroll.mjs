// Benchmark: does the pipeline board with 500+ cards scroll without jank? Opens the board as
// the demo admin (every team's deals) in Debian's Chromium with the CPU slowed 4x (a mid-range
// phone or an old office PC), scrolls every column top to bottom and the board sideways, one
// step per frame, and records the time between frames. The baseline, measured in the same run
// and browser under the same throttling, is a plain page of as many text rows scrolled the
// same way. Prints figures; asserts nothing about time (scripts/bench-web.sh runs it).
import { chromium } from "playwright-core";

const base = process.env.FIELDLINE_BASE;
const link = process.env.FIELDLINE_ADMIN_LINK;
if (!base || !link) throw new Error("FIELDLINE_BASE and FIELDLINE_ADMIN_LINK are needed (run scripts/bench-web.sh)");
const RATE = Number(process.env.BENCH_CPU_SLOWDOWN ?? 4);
const STEP = 60; // pixels per frame: a brisk flick

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "zh-CN" });

/** Scrolls each element matched by `selector` (vertically) and then `sideways` (horizontally),
 * one STEP per animation frame, and returns every frame-to-frame interval in ms. */
async function scrollFrames(page, selector, sideways) {
  return page.evaluate(
    async ({ selector, sideways, step }) => {
      const gaps = [];
      const frame = () => new Promise((r) => requestAnimationFrame(r));
      const run = async (el, axis) => {
        let last = await frame();
        for (;;) {
          const before = axis === "y" ? el.scrollTop : el.scrollLeft;
          if (axis === "y") el.scrollTop += step;
          else el.scrollLeft += step;
          const now = await frame();
          gaps.push(now - last);
          last = now;
          if ((axis === "y" ? el.scrollTop : el.scrollLeft) === before) break;
        }
      };
      for (const el of document.querySelectorAll(selector)) await run(el, "y");
      const wide = sideways && document.querySelector(sideways);
      if (wide) await run(wide, "x");
      return gaps;
    },
    { selector, sideways, step: STEP },
  );
}

function summary(gaps) {
  const sorted = [...gaps].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    frames: gaps.length,
    p50: at(0.5),
    p95: at(0.95),
    max: sorted[sorted.length - 1],
    // A frame over 50 ms is one a person sees stutter (RAIL's budget for a response).
    long: gaps.filter((g) => g > 50).length,
  };
}

const page = await context.newPage();
await page.goto(link);
await page.waitForFunction(() => document.querySelector("h1") !== null);
await page.goto(`${base}/#/board`);
await page.locator("li.deal").first().waitFor({ timeout: 60_000 });
const cards = await page.locator("li.deal").count();
const cdp = await context.newCDPSession(page);
await cdp.send("Emulation.setCPUThrottlingRate", { rate: RATE });
const board = summary(await scrollFrames(page, ".column", ".board"));

// The baseline: the same number of rows of plain text, in the same column layout.
const plain = await context.newPage();
const columns = await page.locator(".column").count();
const perColumn = Math.ceil(cards / Math.max(1, columns));
await plain.setContent(
  `<style>body{margin:0;font:14px sans-serif}.b{display:flex;gap:12px;overflow-x:auto}` +
    `.c{flex:0 0 16rem;max-height:calc(100vh - 9rem);overflow-y:auto}.c div{padding:.6rem;margin:.5rem 0;border:1px solid #ccc}</style>` +
    `<div class="b">${Array.from({ length: columns }, (_, c) => `<div class="c">${Array.from({ length: perColumn }, (_, i) => `<div>deal ${c}-${i}<br>¥100,000</div>`).join("")}</div>`).join("")}</div>`,
);
const cdpPlain = await context.newCDPSession(plain);
await cdpPlain.send("Emulation.setCPUThrottlingRate", { rate: RATE });
const baseline = summary(await scrollFrames(plain, ".c", ".b"));

const fmt = (s) =>
  `${s.frames} frames, p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(0)} ms, ${s.long} over 50 ms`;
console.log(`board scroll with ${cards} cards in ${columns} columns, CPU ${RATE}x slower`);
console.log(`  board:    ${fmt(board)}`);
console.log(`  baseline: ${fmt(baseline)} (plain rows, same layout and count)`);
console.log(`  ratio board/baseline: p50 ${(board.p50 / baseline.p50).toFixed(2)}, p95 ${(board.p95 / baseline.p95).toFixed(2)}`);
await browser.close();
