// Loading: the default entry picks SIMD when the engine validates it; init({ simd: false }) and a
// precompiled WebAssembly.Module work; every way of loading gives the same bits.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, backend, simdSupported } from "../dist/src/index.js";

const fixture = fileURLToPath(new URL("./fixtures/trajectory.js", import.meta.url));
const run = (mode) => JSON.parse(execFileSync(process.execPath, [fixture, mode], { encoding: "utf8" }));

test("init() is idempotent and reports the SIMD build on Node", async () => {
  await init();
  await init();
  assert.ok(simdSupported());
  const { build, reason, threads } = backend();
  assert.equal({ build, reason, threads }, { build: "simd", reason: "WebAssembly.validate accepts f32x4", threads: 1 });
});

test("SIMD, forced scalar and a precompiled scalar Module give the same trajectory hash", () => {
  const simd = run("simd");
  const scalar = run("scalar");
  const module = run("module");
  assert.is(simd.backend.build, "simd");
  assert.is(scalar.backend.build, "scalar");
  assert.is(scalar.backend.reason, "forced by init({ simd: false })");
  assert.is(module.backend.build, "scalar");
  assert.is(module.backend.reason, "the wasm passed to init()");
  assert.is(simd.hash, scalar.hash);
  assert.is(simd.hash, module.hash);
  assert.ok(/^[0-9a-f]+$/.test(simd.hash) && simd.hash !== "cbf29ce484222325");
});

test("init() also takes the bytes of a build or a Response, and reports which build it got", () => {
  const simd = run("simd");
  for (const mode of ["bytes", "response"]) {
    const r = run(mode);
    assert.equal({ build: r.backend.build, reason: r.backend.reason }, { build: "simd", reason: "the wasm passed to init()" });
    assert.is(r.hash, simd.hash);
  }
});

test.run();
