// Threads (init({ threads })): the threads build on a shared memory with worker_threads, in child processes
// (init() runs once per process) of Node, Deno and Bun, and in pages of Chromium (skipped without it). A step split between threads gives the bits of one thread: the same
// trajectory (tests/threads/trajectory.js: conventions, clipping in three recipes, amsgrad, fast mode, loss
// scaling with skipped steps; tensors cut by the split inside, on their edges and in ragged tails; norms
// dealt out to threads) hashes the same on the plain SIMD build here and on 1, all and "auto" threads there.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, Optimizer } from "../dist/src/index.js";
import { ready } from "./helpers.js";
import { needs, CHROMIUM } from "./needs.js";
import { trajectory } from "./threads/trajectory.js";

await ready;
const script = fileURLToPath(new URL("./threads/check.js", import.meta.url));
const child = (options) => JSON.parse(execFileSync(process.execPath, [script, JSON.stringify(options)], { encoding: "utf8" }).trim().split("\n").pop());
const here = trajectory(Optimizer, { threads: 1 });

test("2 threads: the same bits as one thread and as the plain SIMD build (1, 2 and auto threads)", () => {
  const r = child({ threads: 2 });
  assert.is(r.backend.threads, 2, r.backend.threadsReason);
  assert.match(r.backend.threadsReason, /2 threads/);
  assert.equal(r.hashes, { one: here, all: here, auto: here });
  assert.is(r.info.threads, 2);
  assert.ok(r.info.auto && Number.isFinite(r.info.msOne) && Number.isFinite(r.info.msAll), JSON.stringify(r.info));
});

// Deno and Bun (npm devDependencies) start their workers through node:worker_threads too.
for (const [runtime, args] of [["deno", ["run"]], ["bun", []]]) {
  test(`${runtime}: 2 threads, the same bits`, () => {
    const bin = fileURLToPath(new URL(`../node_modules/.bin/${runtime}`, import.meta.url));
    const out = execFileSync(bin, [...args, script, JSON.stringify({ threads: 2 })], { encoding: "utf8", timeout: 60000 });
    const r = JSON.parse(out.trim().split("\n").pop());
    assert.is(r.backend.threads, 2, r.backend.threadsReason);
    assert.equal(r.hashes, { one: here, all: here, auto: here });
  });
}

// Chromium: Web Workers from a Blob URL on a cross-origin isolated page; without COOP/COEP, one thread.
needs(CHROMIUM)("Chromium: 2 threads on a cross-origin isolated page, the same bits; one thread without COOP/COEP", async () => {
  const { inChromium } = await import("./threads/browser.js");
  const [isolated, plain] = await inChromium();
  const want = trajectory(Optimizer, { threads: 1, steps: 6 });
  assert.ok(!isolated.error, isolated.error);
  assert.is(isolated.isolated, true);
  assert.is(isolated.backend.threads, 2, isolated.backend.threadsReason);
  assert.equal(isolated.hashes, { one: want, all: want, auto: want });
  assert.ok(!plain.error, plain.error);
  assert.is(plain.isolated, false);
  assert.is(plain.backend.threads, 1);
  assert.match(plain.backend.threadsReason, /not cross-origin isolated: shared memory needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
  assert.equal(plain.hashes, { one: want, all: want, auto: want });
});

test("3 threads (more than this machine may have cores): still the same bits", () => {
  const r = child({ threads: 3 });
  assert.is(r.backend.threads, 3, r.backend.threadsReason);
  assert.equal(r.hashes, { one: here, all: here, auto: here });
});

test("without SIMD there is no threads build: one thread, and backend() says why", () => {
  const r = child({ threads: 2, simd: false });
  assert.is(r.backend.build, "scalar");
  assert.is(r.backend.threads, 1);
  assert.match(r.backend.threadsReason, /needs SIMD/);
  assert.equal(r.hashes, { one: here, all: here, auto: here });
});

test("a process with threads exits by itself (the workers do not keep it alive)", () => {
  const src = `import { init, Optimizer } from ${JSON.stringify(new URL("../dist/src/index.js", import.meta.url).href)};
    await init({ threads: 2 });
    const o = new Optimizer([{ name: "w", shape: [100000] }], { threads: 2 });
    o.step(); console.log("stepped");`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", src], { encoding: "utf8", timeout: 20000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /stepped/);
});

test("threads options are validated", async () => {
  let code = "";
  await init({ threads: 0 }).catch((e) => (code = e.code));
  assert.is(code, "BAD_OPTION");
  assert.throws(() => new Optimizer([{ name: "w", shape: [2] }], { threads: "many" }), (e) => e.code === "BAD_OPTION" && /threads/.test(e.message));
});

test.run();
