#!/usr/bin/env node
// Renders an HTML file (the report) to PNG with Debian's Chromium driven by playwright-core:
//   node examples/mnist/screenshot.js [report.html] [out.png] [width]
// The README's examples/mnist/report.png was made this way from an `npm start` run.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

/** Launches a headless Chromium with a fresh profile; `close()` also removes the profile. */
export async function launch() {
  const { chromium } = await import("playwright-core");
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const profile = mkdtempSync(join(tmpdir(), "fused-adam-demo-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(htmlFile, pngFile, width = 1000) {
  const b = await launch();
  try {
    const page = await b.context.newPage();
    await page.setViewportSize({ width, height: 800 });
    await page.goto(pathToFileURL(resolve(htmlFile)).href);
    await page.screenshot({ path: pngFile, fullPage: true });
  } finally {
    await b.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const [html = join(here, "out", "report.html"), png = join(here, "out", "report.png"), width = "1000"] = process.argv.slice(2);
  await screenshot(html, png, Number(width));
  console.log(png);
}
