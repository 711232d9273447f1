// The browser demo (examples/mnist-browser) in headless Chromium: serve it on 127.0.0.1, pick a convention,
// train, and check that test accuracy passed a threshold; a second convention adds its curves. Saves a
// screenshot to examples/mnist-browser/out/demo.png (gitignored).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../examples/mnist-browser/server.js";
import { launch } from "../examples/mnist/screenshot.js";
import { needs, CHROMIUM } from "./needs.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const shot = join(root, "examples", "mnist-browser", "out", "demo.png");

needs(CHROMIUM)("demo: trains MNIST in Chromium with a picked convention, live charts, >= 90% after 2 epochs", async () => {
  const server = await serve({ port: 0, idleMinutes: 5 });
  let browser;
  try {
    browser = await launch();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1000, height: 900 });
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    await page.goto(server.url);
    await page.waitForFunction(() => window.__demo?.ready || window.__demo?.error, null, { timeout: 30_000 });
    assert.is(await page.evaluate(() => window.__demo.error), null);
    // Every preset is offered.
    const options = await page.$$eval("#convention option", (os) => os.map((o) => o.value));
    assert.ok(options.includes("torch-adamw") && options.includes("bert") && options.includes("torch-adam"), options.join(","));

    const run = async (convention, epochs) => {
      await page.selectOption("#convention", convention);
      await page.fill("#epochs", String(epochs));
      await page.click("#train");
      await page.waitForFunction((n) => window.__demo.runs.length === n || window.__demo.error, (await page.evaluate(() => window.__demo.runs.length)) + 1, { timeout: 180_000 }); // generous: a loaded machine trains slower
      const demo = await page.evaluate(() => window.__demo);
      assert.is(demo.error, null, demo.error);
      return demo.runs.at(-1);
    };
    // Live drawing: while training, the loss chart gets a path before the run ends.
    const first = run("torch-adamw", 2);
    await page.waitForFunction(() => window.__demo.state === "training" && document.querySelector("#lossChart path"), null, { timeout: 30_000 });
    const a = await first;
    assert.is(a.convention, "torch-adamw");
    assert.is(a.epochs, 2);
    assert.ok(a.testAccuracy >= 0.9, `torch-adamw test accuracy ${a.testAccuracy} after 2 epochs`);
    const b = await run("torch-adam", 1);
    assert.ok(b.testAccuracy >= 0.85, `torch-adam test accuracy ${b.testAccuracy} after 1 epoch`);
    // Two runs on the charts, two rows in the table, digits labelled.
    assert.is(await page.$$eval("#lossChart path", (ps) => ps.length), 2);
    assert.is(await page.$$eval("#runs tr", (rs) => rs.length), 3);
    assert.ok((await page.$$eval("#digits figure.ok", (fs) => fs.length)) >= 18);
    assert.equal(problems, []);
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser?.close();
    server.close();
    server.closeAllConnections?.();
  }
});

test.run();
