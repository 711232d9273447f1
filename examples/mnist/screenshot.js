#!/usr/bin/env node
// Renders an HTML file (the report) to PNG with Chromium driven by playwright-core (CHROMIUM_PATH, or
// chromium, chromium-browser or google-chrome on PATH):
//   node examples/mnist/screenshot.js [report.html] [out.png] [width]
// The README's examples/mnist/report.png was made this way from an `npm start` run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CHROMIUM_FLAGS, requireChromium } from "../../scripts/chromium.js";

/** Launches a headless Chromium with a fresh profile; `close()` also removes the profile. */
export async function launch() {
  const executablePath = requireChromium();
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "fused-adam-demo-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
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
