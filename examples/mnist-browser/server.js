#!/usr/bin/env node
// `npm run demo:browser`: serves the live MNIST demo on 127.0.0.1 (port 8080, or --port N; 0 picks one).
// The page imports fused-adam's built entry (dist/, mapped to "fused-adam" by an import map), the
// example's shared modules (examples/mnist: data, model, training loop, chart) and the digits as bytes,
// packed from the `mnist` package on the first request. Nothing else is served, and nothing is fetched
// from the network. The server stops by itself after --idle minutes without a request (default 30).
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadPacked } from "../mnist/load.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const MIME = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

// URL prefix -> folder; a request outside these folders is a 404.
const MOUNTS = [
  ["/dist/", join(root, "dist")],
  ["/mnist/", join(root, "examples", "mnist")],
  ["/", here],
];

/**
 * Starts the demo server on 127.0.0.1.
 * @param {{ port?: number, idleMinutes?: number, log?: (line: string) => void }} [o]
 * @returns {Promise<import("node:http").Server & { url: string }>}
 */
export function serve({ port = 8080, idleMinutes = 30, log = () => {} } = {}) {
  if (!existsSync(join(root, "dist", "src", "index.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm run demo:browser does)");
  let idle;
  const server = createServer((req, res) => {
    idle.refresh();
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    log(`${req.method} ${path}`);
    if (path === "/data/mnist.bin") {
      const bytes = loadPacked();
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length, "cache-control": "no-store" });
      return res.end(bytes);
    }
    const [prefix, dir] = MOUNTS.find(([p]) => path.startsWith(p));
    let file = join(dir, normalize(path.slice(prefix.length)));
    if (file === dir || path.endsWith("/")) file = join(file, "index.html");
    const inside = file.startsWith(dir + sep);
    if (!inside || !existsSync(file) || statSync(file).isDirectory() || !(extname(file) in MIME)) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": MIME[extname(file)], "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  idle = setTimeout(() => {
    log(`no request for ${idleMinutes} minutes: stopping`);
    server.close();
    server.closeAllConnections?.();
  }, idleMinutes * 60_000);
  idle.unref();
  server.on("close", () => clearTimeout(idle));
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      server.url = `http://127.0.0.1:${server.address().port}/`;
      ok(server);
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8080" }, idle: { type: "string", default: "30" }, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log("Usage: npm run demo:browser -- [--port N] [--idle MINUTES] [--verbose]\nServes the live MNIST training demo on 127.0.0.1 (default port 8080; 0 picks a free one).");
  } else {
    const server = await serve({ port: Number(values.port), idleMinutes: Number(values.idle), log: values.verbose ? console.log : () => {} });
    console.log(`fused-adam MNIST demo: ${server.url}  (Ctrl-C to stop; stops by itself after ${values.idle} idle minutes)`);
  }
}
