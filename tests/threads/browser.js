// Threads in Chromium (scripts/chromium.js finds it; playwright-core drives it): pages served on 127.0.0.1 from the repository,
// with and without the COOP/COEP headers that make a page cross-origin isolated. Returns, per page, what
// the page reported: { isolated, backend, hashes: { one, all, auto } } or { error }.
import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_FLAGS, requireChromium } from "../../scripts/chromium.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

const PAGE = `<!doctype html><meta charset="utf-8"><title>threads</title>
<script type="module">
  try {
    const { init, backend, Optimizer } = await import("/dist/src/index.js");
    const { trajectory } = await import("/tests/threads/trajectory.js");
    await init({ threads: 2 });
    const hashes = {};
    for (const [k, threads] of [["one", 1], ["all", 64], ["auto", "auto"]]) hashes[k] = trajectory(Optimizer, { threads, steps: 6 });
    window.__result = { isolated: self.crossOriginIsolated, backend: backend(), hashes };
  } catch (e) {
    window.__result = { error: String(e && e.stack || e) };
  }
</script>`;

function serve() {
  const types = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm", ".json": "application/json" };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const headers = url.searchParams.has("isolated") || req.headers["sec-fetch-dest"] !== "document"
      ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Resource-Policy": "same-origin" }
      : {};
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html", ...(url.searchParams.has("isolated") ? headers : {}) });
      return res.end(PAGE);
    }
    const file = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", ...headers });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Runs the page isolated and not; returns [isolatedResult, plainResult]. */
export async function inChromium() {
  const executablePath = requireChromium();
  const { chromium } = await import("playwright-core");
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), "fused-adam-threads-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, timeout: 60_000, args: CHROMIUM_FLAGS });
    const out = [];
    for (const query of ["?isolated", ""]) {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${server.address().port}/${query}`);
      await page.waitForFunction(() => window.__result, null, { timeout: 60_000 });
      out.push(await page.evaluate(() => window.__result));
      await page.close();
    }
    return out;
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    server.close();
    server.closeAllConnections();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await inChromium(), null, 1));
