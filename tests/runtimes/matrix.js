#!/usr/bin/env node
// The runtime matrix: packs the package, installs the tarball into an empty temporary project, and runs
// tests/runtimes/fixture/suite.js (API smoke test, the golden conformance traces, the 1000-step
// determinism hash, in the SIMD and the scalar build) in Node 20, the current Node LTS, Deno, Bun,
// Chromium (native modules with an import map, a Vite bundle, and examples/browser built by Vite) and
// workerd (esbuild bundles under the workerd and the edge-light conditions, wasm declared as modules).
//
//   node tests/runtimes/matrix.js [runtime...] [--json]     (after npm run build)
//
// tests/runtimes.test.js drives the same functions under uvu. Every server and child process binds
// 127.0.0.1 only and is stopped in a finally, or by its own timeout if this process dies first. Chromium
// is looked up as a user has it (scripts/chromium.js); the Node LTS project is installed when missing.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_FLAGS, requireChromium } from "../../scripts/chromium.js";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const goldenDir = process.env.FUSED_ADAM_GOLDEN ?? join(root, "golden", "seed");
const bin = (name) => join(root, "node_modules", ".bin", name);
export const nodeLts = join(root, "tests", "runtimes", "node-lts", "node_modules", ".bin", "node");
const CHILD_TIMEOUT = 120_000; // no single runtime takes a tenth of this; a hung one is killed

/** Golden trace files relative to goldenDir, in scripts/conformance.js order (top level, then folders). */
export function goldenFiles(dir = goldenDir, rel = "") {
  const entries = readdirSync(join(dir, rel)).sort();
  const out = entries.filter((e) => e.endsWith(".json") && e !== "manifest.json").map((e) => (rel ? `${rel}/${e}` : e));
  for (const e of entries) if (statSync(join(dir, rel, e)).isDirectory()) out.push(...goldenFiles(dir, rel ? `${rel}/${e}` : e));
  return out;
}

/** The environment for child processes, without NO_COLOR when FORCE_COLOR is set (Node warns of the pair). */
export function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  if (env.FORCE_COLOR !== undefined && !("NO_COLOR" in extra)) delete env.NO_COLOR;
  return env;
}

function run(cmd, args, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { timeout: CHILD_TIMEOUT, killSignal: "SIGKILL", env: childEnv(), ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, out, err }));
  });
}

// ---------------------------------------------------------------------------------------------------------
// The packed package in an empty project.

/**
 * npm pack, then a fresh temporary project with the tarball installed and the fixture beside it. Returns
 * { dir, tarball, files } (files: what the tarball holds). Needs dist/ (npm run build).
 */
export async function prepare() {
  if (!existsSync(join(root, "dist", "src", "index.js"))) throw new Error("dist/ is missing: run npm run build first");
  const dir = mkdtempSync(join(tmpdir(), "fused-adam-runtimes-"));
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  const tarball = join(dir, packed[0].filename);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "fused-adam-runtime-fixture", private: true, type: "module" }, null, 2));
  const inst = await run("npm", ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], { cwd: dir });
  if (inst.code !== 0) throw new Error(`npm install of the tarball failed:\n${inst.err}`);
  cpSync(join(root, "tests", "runtimes", "fixture"), dir, { recursive: true });
  for (const name of ["golden.js", "replay.js"]) writeFileSync(join(dir, name), neutral(name));
  cpSync(join(root, "tests", "rng.js"), join(dir, "rng.js"));
  cpSync(join(root, "examples", "browser"), join(dir, "example"), { recursive: true });
  return { dir, tarball, files: packed[0].files.map((f) => f.path).sort(), size: packed[0].size };
}

// tests/golden.js (the trace -> API mapping) and tests/replay.js (replay and judgement) are the single
// source of the conformance criteria. They import the library as "fused-adam" (the package's own name, which
// Node resolves inside this repository too) and use no Node API, so the fixture runs them as they are; this
// check keeps them that way.
const NODE_ONLY = /(?<![.\w])(readFileSync|existsSync|readdirSync|statSync|execFileSync|fileURLToPath|basename|dirname|join|resolve|require)\s*\(|\bprocess\.|import\.meta|await import\(|from\s+["'](node:|\.\.\/)/;

function neutral(name) {
  const text = readFileSync(join(root, "tests", name), "utf8");
  const m = text.match(NODE_ONLY);
  if (m) throw new Error(`tests/${name} must stay runtime-neutral (the runtime matrix runs it in browsers and workerd), but it uses "${m[0]}"`);
  return text;
}

export function cleanup(ctx) {
  if (ctx?.dir) rmSync(ctx.dir, { recursive: true, force: true });
}

/** The golden traces as the JSON text of [{ file, trace }], read once. */
let tracesJson;
function traces() {
  if (!tracesJson) {
    tracesJson = `[${goldenFiles().map((f) => `{"file":${JSON.stringify(f)},"trace":${readFileSync(join(goldenDir, f), "utf8")}}`).join(",")}]`;
  }
  return tracesJson;
}

/** Parses a child's last stdout line as the suite result. */
function parseResult(name, r) {
  const line = r.out.trim().split("\n").pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${name} did not run the suite (exit ${r.code}${r.signal ? `, ${r.signal}` : ""}):\n${r.err.slice(-3000)}${r.out.slice(-2000)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Node, Deno, Bun: one process per build.

async function cli(ctx, name, cmd, args, env = {}) {
  const results = [];
  for (const simd of [true, false]) {
    const r = await run(cmd, [...args, "cli.js", goldenDir, ...(simd ? [] : ["--scalar"])], { cwd: ctx.dir, env: childEnv(env) });
    results.push(parseResult(`${name} (${simd ? "simd" : "scalar"})`, r));
  }
  return results;
}

export const node20 = (ctx) => cli(ctx, "node", process.execPath, []);

/** Installs the Node LTS project (tests/runtimes/node-lts, the npm registry's node package) when missing. */
export async function ensureNodeLts() {
  if (existsSync(nodeLts)) return;
  const dir = join(root, "tests", "runtimes", "node-lts");
  const r = await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
  if (r.code !== 0 || !existsSync(nodeLts)) throw new Error(`installing the Node LTS (npm ci in ${dir}) failed:\n${r.err.slice(-2000)}`);
}

export async function nodeLtsRuntime(ctx) {
  await ensureNodeLts();
  return cli(ctx, "node LTS", nodeLts, []);
}

export function deno(ctx) {
  // Deno's permissions: read access to the golden traces and the project, nothing else.
  return cli(ctx, "deno", bin("deno"), ["run", "--no-prompt", `--allow-read=${goldenDir},${ctx.dir}`], {
    DENO_DIR: join(ctx.dir, ".deno"), DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", NO_COLOR: "1",
  });
}

export const bun = (ctx) => cli(ctx, "bun", bin("bun"), ["run"], { DO_NOT_TRACK: "1", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" });

// ---------------------------------------------------------------------------------------------------------
// Chromium: a static server on 127.0.0.1 and playwright-core driving the Chromium scripts/chromium.js finds.

const MIME = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json", ".wasm": "application/wasm", ".css": "text/css" };

/** Serves ctx.dir at / and the golden traces at /golden/ (list.json lists them); 127.0.0.1 only. */
function serve(ctx) {
  const list = JSON.stringify(goldenFiles());
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const path = decodeURIComponent(url.pathname);
    let file;
    if (path === "/golden/list.json") {
      res.writeHead(200, { "content-type": MIME[".json"] });
      return res.end(list);
    } else if (path.startsWith("/golden/")) file = join(goldenDir, normalize(path.slice(8)));
    else file = join(ctx.dir, normalize(path));
    const base = path.startsWith("/golden/") ? goldenDir : ctx.dir;
    if (!file.startsWith(base + sep) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** Vite bundles the fixture page (index.html) and examples/browser, from the temporary project. */
export async function viteBuilds(ctx) {
  const { build } = await import("vite");
  const common = { configFile: false, logLevel: "warn", base: "./", build: { target: "es2022", emptyOutDir: true } };
  await build({ ...common, root: ctx.dir, build: { ...common.build, outDir: join(ctx.dir, "dist-vite"), rollupOptions: { input: join(ctx.dir, "index.html") } } });
  await build({ ...common, root: join(ctx.dir, "example"), build: { ...common.build, outDir: join(ctx.dir, "dist-example") } });
}

/** Launches chromium, opens each page path and returns its window.__result. */
export async function chromiumPages(ctx, paths) {
  const executablePath = requireChromium();
  const { chromium } = await import("playwright-core");
  const server = await serve(ctx);
  const { port } = server.address();
  const profile = mkdtempSync(join(tmpdir(), "fused-adam-chromium-"));
  const watchdog = setTimeout(() => server.close(), CHILD_TIMEOUT * 2).unref();
  let browser;
  try {
    browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
    const out = {};
    for (const path of paths) {
      const page = await browser.newPage();
      const problems = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      await page.goto(`http://127.0.0.1:${port}${path}`);
      const handle = await page.waitForFunction(() => window.__result, null, { timeout: 60_000 }).catch((e) => {
        throw new Error(`${path}: no result (${e.message.split("\n")[0]}); page errors: ${problems.join("; ") || "none"}`);
      });
      out[path] = await handle.jsonValue();
      if (out[path].error) throw new Error(`${path}: ${out[path].error}`);
      await page.close();
    }
    return out;
  } finally {
    await browser?.close().catch(() => {});
    clearTimeout(watchdog);
    server.close();
    server.closeAllConnections();
    rmSync(profile, { recursive: true, force: true });
  }
}

export const CHROMIUM_PAGES = {
  plain: ["/plain.html?build=simd", "/plain.html?build=scalar"],
  vite: ["/dist-vite/index.html?build=simd", "/dist-vite/index.html?build=scalar"],
  example: ["/dist-example/index.html"],
};

// ---------------------------------------------------------------------------------------------------------
// workerd: esbuild bundles the worker the way wrangler does (conditions workerd, worker, browser; a .wasm
// import becomes a wasm module of the config), one isolate per build.

/** Bundles fixture/worker.js for `condition`; returns { dir, main, wasm: [module names] }. */
export async function bundleWorker(ctx, condition) {
  const esbuild = await import("esbuild");
  const outdir = join(ctx.dir, `worker-${condition}`);
  // Vercel's edge bundler reads `x.wasm?module` as a precompiled module; here it becomes a wasm module too.
  const wasmModule = {
    name: "wasm-module-suffix",
    setup(b) {
      b.onResolve({ filter: /\.wasm\?module$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.replace(/\?module$/, "")) }));
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(ctx.dir, "worker.js")], bundle: true, format: "esm", platform: "neutral", target: "es2022",
    conditions: [condition, "worker", "browser"], mainFields: ["module", "main"], loader: { ".wasm": "copy" },
    outdir, absWorkingDir: ctx.dir, metafile: true, logLevel: "silent", plugins: [wasmModule],
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(outdir, resolve(ctx.dir, p)));
  const inputs = Object.keys(result.metafile.inputs);
  const code = readFileSync(join(outdir, "worker.js"), "utf8");
  return { dir: outdir, main: "worker.js", wasm: outputs.filter((p) => p.endsWith(".wasm")), inputs, bytes: code.length, inlinedWasm: code.includes("AGFzbQ") };
}

function capnpString(s) {
  return JSON.stringify(s);
}

/** Writes a workerd config with one service (and socket) per { name, bundle }. */
function workerdConfig(ctx, services) {
  const defs = services.map(({ name, bundle }, i) => {
    const mods = [`(name = "worker.js", esModule = embed ${capnpString(relative(ctx.dir, join(bundle.dir, bundle.main)))})`];
    for (const w of bundle.wasm) mods.push(`(name = ${capnpString(w)}, wasm = embed ${capnpString(relative(ctx.dir, join(bundle.dir, w)))})`);
    return `const w${i} :Workerd.Worker = (\n  modules = [\n    ${mods.join(",\n    ")}\n  ],\n  compatibilityDate = "2025-09-01",\n);`;
  });
  const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${services.map(({ name }, i) => `(name = ${capnpString(name)}, worker = .w${i})`).join(",\n    ")}
  ],
  sockets = [
    ${services.map(({ name }) => `(name = ${capnpString(name)}, address = "127.0.0.1:0", http = (), service = ${capnpString(name)})`).join(",\n    ")}
  ],
);
${defs.join("\n")}
`;
  const file = join(ctx.dir, "workerd.capnp");
  writeFileSync(file, text);
  return file;
}

/**
 * Starts workerd with a service per (condition, build) and POSTs the traces to each; returns each service's
 * suite result (or { error }) by name, e.g. "workerd-simd". `plan` lists [condition, builds]; the plain
 * "worker" condition resolves the default entry, which workerd must refuse (no compiling from bytes).
 * Ports come from workerd's control channel (fd 3), so nothing races for a port.
 */
export async function workerd(ctx, plan = [["workerd", ["simd", "scalar"]], ["edge-light", ["simd", "scalar"]]]) {
  const services = [];
  for (const [condition, builds] of plan) {
    const bundle = await bundleWorker(ctx, condition);
    for (const build of builds) services.push({ name: `${condition}-${build}`, bundle, simd: build === "simd" });
  }
  const config = workerdConfig(ctx, services);
  const child = spawn(bin("workerd"), ["serve", config, "--control-fd=3"], {
    cwd: ctx.dir, stdio: ["ignore", "pipe", "pipe", "pipe"], timeout: CHILD_TIMEOUT, killSignal: "SIGKILL",
  });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  child.stdout.on("data", (d) => (err += d));
  const ports = {};
  try {
    await new Promise((ok, fail) => {
      let buf = "";
      const timer = setTimeout(() => fail(new Error(`workerd did not listen within 30 s:\n${err}`)), 30_000);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        setTimeout(() => fail(new Error(`workerd exited (${code ?? signal}) before listening:\n${err}`)), 100);
      });
      child.stdio[3].on("data", (d) => {
        buf += d;
        for (const line of buf.split("\n").slice(0, -1)) {
          const ev = JSON.parse(line);
          if (ev.event === "listen") ports[ev.socket] = ev.port;
        }
        buf = buf.slice(buf.lastIndexOf("\n") + 1);
        if (services.every((s) => ports[s.name])) {
          clearTimeout(timer);
          ok();
        }
      });
    });
    const body = (s) => `{"simd":${s.simd},"runtime":${JSON.stringify(`workerd (${s.name.replace(/-(simd|scalar)$/, "")} condition)`)},"traces":${traces()}}`;
    const out = {};
    for (const s of services) {
      const res = await fetch(`http://127.0.0.1:${ports[s.name]}/`, {
        method: "POST", body: body(s), headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(CHILD_TIMEOUT),
      });
      const json = await res.json().catch(() => ({ error: `HTTP ${res.status}, not JSON` }));
      out[s.name] = { ...json, bundle: s.bundle };
    }
    return out;
  } finally {
    child.kill("SIGKILL");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Judging a result the same way everywhere.

/** Problems with one suite result (empty when it passed). */
export function problems(r, { traceCount = goldenFiles().length, build } = {}) {
  const out = [];
  if (!r || r.error) return [`did not run: ${r?.error ?? "no result"}`];
  out.push(...r.smoke.errors.map((e) => `smoke: ${e}`));
  if (r.conformance.passed !== traceCount) out.push(`conformance: ${r.conformance.passed} of ${traceCount} traces passed`);
  for (const f of r.conformance.failures) out.push(`conformance: ${f.file} failed: ${f.error ?? JSON.stringify(f)}`);
  if (build && r.backend.build !== build) out.push(`backend().build is ${r.backend.build}, want ${build}`);
  if (!/^[0-9a-f]{16}$/.test(r.hash)) out.push(`no trajectory hash (${r.hash})`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------

const RUNTIMES = {
  node: async (ctx) => node20(ctx),
  "node-lts": async (ctx) => nodeLtsRuntime(ctx),
  deno: async (ctx) => deno(ctx),
  bun: async (ctx) => bun(ctx),
  chromium: async (ctx) => {
    await viteBuilds(ctx);
    const pages = await chromiumPages(ctx, [...CHROMIUM_PAGES.plain, ...CHROMIUM_PAGES.vite, ...CHROMIUM_PAGES.example]);
    const example = pages[CHROMIUM_PAGES.example[0]];
    delete pages[CHROMIUM_PAGES.example[0]];
    console.log(`${example.lastLoss < 1e-4 ? "PASS" : "FAIL"} examples/browser built by Vite: ${example.backend.build}, loss ${example.firstLoss} -> ${example.lastLoss}`);
    return Object.entries(pages).map(([path, r]) => ({ ...r, runtime: `${r.runtime} ${path.startsWith("/plain") ? "(import map)" : "(Vite)"}` }));
  },
  workerd: async (ctx) => Object.values(await workerd(ctx)).map(({ bundle, ...r }) => r),
};

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const names = args.filter((a) => !a.startsWith("--"));
  const ctx = await prepare();
  let failed = 0;
  const hashes = new Map();
  try {
    for (const name of names.length ? names : Object.keys(RUNTIMES)) {
      const t0 = Date.now();
      let results;
      try {
        results = await RUNTIMES[name](ctx);
      } catch (e) {
        failed++;
        console.log(`FAIL ${name}: ${e.message}`);
        continue;
      }
      for (const r of results) {
        const p = problems(r);
        if (p.length) failed++;
        if (r.error) {
          console.log(`FAIL ${name}: ${r.error}`);
          continue;
        }
        hashes.set(`${r.runtime} ${r.backend.build}`, r.hash);
        if (json) console.log(JSON.stringify(r));
        else {
          console.log(
            `${p.length ? "FAIL" : "PASS"} ${`${r.runtime} [${r.backend.build}]`.padEnd(52)} conformance ${r.conformance.passed}/${r.conformance.passed + r.conformance.failed}, smoke ${r.smoke.ok ? "ok" : "FAILED"}, hash ${r.hash}`,
          );
          for (const x of p) console.log(`     ${x}`);
        }
      }
      if (!json) console.log(`     (${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    cleanup(ctx);
  }
  const distinct = new Set(hashes.values());
  if (distinct.size > 1) failed++;
  console.log(distinct.size === 1 ? `determinism: one hash ${[...distinct][0]} across ${hashes.size} runs` : `determinism: ${distinct.size} different hashes`);
  console.log(`matrix: ${failed ? `${failed} failed` : "all passed"}`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
