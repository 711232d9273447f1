// The runtime matrix (tests/runtimes/matrix.js) under uvu: the packed package in an empty project, then
// each runtime runs the API smoke test, every golden trace and the 1000-step determinism trajectory in the
// SIMD and the scalar build. A runtime that cannot start fails its test. Chromium is the one npm cannot
// bring: without it its tests are reported skipped with the line that installs it (under CI=true they fail).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as m from "./runtimes/matrix.js";
import { needs, CHROMIUM } from "./needs.js";

const traceCount = m.goldenFiles().length;
const ctxP = m.prepare();
ctxP.catch(() => {}); // each test awaits it and fails with its error
const once = (f) => {
  let p;
  return () => (p ??= ctxP.then(f));
};
// Runtimes that share a process (one Chromium, one workerd) start once; their tests read the same results.
const chromium = once(async (ctx) => {
  await m.viteBuilds(ctx);
  return m.chromiumPages(ctx, [...m.CHROMIUM_PAGES.plain, ...m.CHROMIUM_PAGES.vite, ...m.CHROMIUM_PAGES.example]);
});
const workerd = once((ctx) => m.workerd(ctx, [["workerd", ["simd", "scalar"]], ["edge-light", ["simd", "scalar"]], ["worker", ["simd"]]]));

const results = []; // every suite result, for the determinism test

/** Asserts a simd and a scalar result passed everything, and records them. */
function judge([simd, scalar], label) {
  for (const [r, build] of [[simd, "simd"], [scalar, "scalar"]]) {
    const p = m.problems(r, { traceCount, build });
    assert.equal(p, [], `${label} [${build}]:\n${p.join("\n")}`);
    assert.ok(r.backend.reason.length > 0);
    results.push(r);
  }
  assert.match(scalar.backend.reason, /simd: false/, "the forced scalar build says why");
}

test("package: the npm pack tarball holds the whitelist and installs into an empty project", async () => {
  const ctx = await ctxP;
  const pkg = JSON.parse(readFileSync(join(ctx.dir, "node_modules", "fused-adam", "package.json"), "utf8"));
  assert.is(pkg.sideEffects, false);
  assert.equal(Object.keys(pkg.exports["."]), ["types", "workerd", "edge-light", "default"], "types first, default last");
  assert.equal(Object.keys(pkg.exports["./tfjs"]), ["types", "workerd", "edge-light", "default"], "fused-adam/tfjs has the same conditions");
  for (const f of ["LICENSE", "dist/src/tfjs/workerd.js", "dist/src/tfjs/edge.js", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/workerd.js", "dist/src/edge.js", "dist/fused_adam.simd.wasm", "dist/fused_adam.wasm", "package.json"]) {
    assert.ok(ctx.files.includes(f), `the tarball has ${f}`);
  }
  const stray = ctx.files.filter((f) => !/^(dist\/(src|assembly)\/.*\.(js|d\.ts)|dist\/[\w.]+\.wasm|package\.json|README\.md|LICENSE)$/.test(f));
  assert.equal(stray, [], "nothing outside the whitelist (sources, tests, .wat)");
  // The raw builds as subpath exports, byte for byte what was built.
  const resolved = execFileSync(process.execPath, ["--input-type=module", "-e",
    'console.log(JSON.stringify(["fused-adam/fused_adam.simd.wasm", "fused-adam/fused_adam.wasm"].map((s) => import.meta.resolve(s))))'], { cwd: ctx.dir, encoding: "utf8", env: m.childEnv() });
  const [simdUrl, scalarUrl] = JSON.parse(resolved);
  assert.ok(readFileSync(new URL(simdUrl)).equals(readFileSync(join(m.root, "dist", "fused_adam.simd.wasm"))));
  assert.ok(readFileSync(new URL(scalarUrl)).equals(readFileSync(join(m.root, "dist", "fused_adam.wasm"))));
});

test("package: importing compiles nothing, has no top-level await, and the types resolve", async () => {
  const ctx = await ctxP;
  // Count every way to compile or instantiate wasm, then import the package: nothing may happen until init().
  const probe = `
    let n = 0;
    for (const k of ["compile", "instantiate", "compileStreaming", "instantiateStreaming", "validate"]) {
      const f = WebAssembly[k]; if (f) WebAssembly[k] = (...a) => (n++, f(...a));
    }
    const M = WebAssembly.Module; WebAssembly.Module = function (...a) { n++; return new M(...a); };
    const lib = await import("fused-adam");
    console.log(JSON.stringify({ n, exports: Object.keys(lib).length }));`;
  const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: ctx.dir, encoding: "utf8", env: m.childEnv() }));
  assert.is(out.n, 0, "importing fused-adam compiled or validated wasm");
  assert.ok(out.exports > 5);
  // An IIFE cannot hold top-level await: esbuild refuses to bundle one if any module of the package has it.
  const esbuild = await import("esbuild");
  for (const conditions of [[], ["workerd"], ["edge-light"]]) {
    await esbuild.build({
      stdin: { contents: 'export * from "fused-adam";', resolveDir: ctx.dir }, bundle: true, format: "iife", write: false,
      conditions, logLevel: "silent", loader: { ".wasm": "empty" },
      plugins: [{
        name: "wasm-module-suffix",
        setup(b) {
          b.onResolve({ filter: /\?module$/ }, () => ({ path: "wasm", namespace: "stub" }));
          b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default null" }));
        },
      }],
    });
  }
  // The types condition, for a TypeScript user of each entry: Node's types and no DOM, every declaration
  // checked (skipLibCheck false), with nodenext and bundler resolution (and the workerd condition).
  const { writeFileSync } = await import("node:fs");
  const types = join(m.root, "node_modules", "@types");
  const tsc = (files, compilerOptions) => {
    writeFileSync(join(ctx.dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "es2022", strict: true, noEmit: true, lib: ["es2022"], types: ["node"], typeRoots: [types], skipLibCheck: false, ...compilerOptions },
      files,
    }));
    try {
      execFileSync(process.execPath, [join(m.root, "node_modules", "typescript", "bin", "tsc"), "-p", ctx.dir], { encoding: "utf8", stdio: "pipe", env: m.childEnv() });
      return "";
    } catch (e) {
      return `${e.stdout}${e.stderr}` || String(e);
    }
  };
  writeFileSync(join(ctx.dir, "consumer.ts"), `import { init, backend, Optimizer, type OptimizerOptions, type PresetName } from "fused-adam";
import { readFileSync } from "node:fs";
await init({ simd: false });
await init(readFileSync("x.wasm"));
const o: OptimizerOptions = { lr: 1e-3, convention: "torch-adamw" };
const p: PresetName = "bert";
const opt = new Optimizer([{ name: "w", shape: [2], data: [1, 2] }], { ...o, convention: { base: p, fast: true } });
opt.step({ w: new Float32Array(2) });
const b: "simd" | "scalar" = backend().build;
export { b };
`);
  writeFileSync(join(ctx.dir, "typo.ts"), `import { Optimizer } from "fused-adam";
new Optimizer([{ name: "w", shape: [2] }], { convention: "torch-adamx" });
new Optimizer([{ name: "w", shape: [2] }], { convention: { base: "torch-adamw", decay: "decoupledd" } });
`);
  const modes = {
    nodenext: { module: "nodenext", moduleResolution: "nodenext" },
    bundler: { module: "esnext", moduleResolution: "bundler" },
    "bundler, workerd condition": { module: "esnext", moduleResolution: "bundler", customConditions: ["workerd"] },
  };
  for (const [mode, options] of Object.entries(modes)) {
    assert.is(tsc(["consumer.ts"], options), "", `tsc (${mode}, lib es2022, no DOM, skipLibCheck false)`);
    const typo = tsc(["typo.ts"], options);
    assert.match(typo, /typo\.ts\(2,.*"torch-adamx"/s, `a preset name typo fails to compile (${mode}):\n${typo}`);
    assert.match(typo, /typo\.ts\(3,.*"decoupledd"/s, `a knob value typo fails to compile (${mode}):\n${typo}`);
  }
});

test("Node 20 (the machine's node): smoke, conformance, hash; the same verdicts as scripts/conformance.js", async () => {
  const r = await m.node20(await ctxP);
  judge(r, "node");
  // The suite's conformance is derived from scripts/conformance.js; on Node both must agree file by file
  // (over the corpus the matrix replays, golden/seed/: scripts/conformance.js alone replays all of golden/).
  const lines = execFileSync(process.execPath, [join(m.root, "scripts", "conformance.js"), m.goldenDir, "--json"], { cwd: m.root, encoding: "utf8", env: m.childEnv() })
    .trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const want = Object.fromEntries(lines.map((x) => [relative(m.goldenDir, x.file).split("\\").join("/"), x.pass ? (x.teacherForced?.maxUlp ?? 0) : "fail"]));
  assert.equal(r[0].conformance.verdicts, want);
});

test("Node LTS (npm package node, tests/runtimes/node-lts)", async () => {
  judge(await m.nodeLtsRuntime(await ctxP), "node LTS");
});

test("Deno (npm package deno), read permission only", async () => {
  judge(await m.deno(await ctxP), "deno");
});

test("Bun (npm package bun)", async () => {
  judge(await m.bun(await ctxP), "bun");
});

needs(CHROMIUM)("Chromium: native ES modules with an import map, no bundler", async () => {
  const pages = await chromium();
  judge(m.CHROMIUM_PAGES.plain.map((p) => pages[p]), "chromium (import map)");
});

needs(CHROMIUM)("Chromium: the suite bundled by Vite", async () => {
  const pages = await chromium();
  judge(m.CHROMIUM_PAGES.vite.map((p) => pages[p]), "chromium (Vite)");
});

needs(CHROMIUM)("Chromium: examples/browser built by Vite fits its line", async () => {
  const r = (await chromium())[m.CHROMIUM_PAGES.example[0]];
  assert.is(r.backend.build, "simd");
  assert.ok(r.lastLoss < 1e-4 && Math.abs(r.w - 3) < 1e-3 && Math.abs(r.b + 1) < 1e-3, JSON.stringify(r));
});

test("workerd: the workerd condition, wasm declared as modules, no base64 in the bundle", async () => {
  const out = await workerd();
  judge([out["workerd-simd"], out["workerd-scalar"]], "workerd");
  const b = out["workerd-simd"].bundle;
  assert.ok(b.inputs.some((f) => f.endsWith("dist/src/workerd.js")), "esbuild resolved the workerd entry");
  assert.is(b.wasm.length, 2, "both builds are wasm modules of the config");
  assert.not.ok(b.inlinedWasm, "the default entry's base64 was left out of the bundle (fused-adam/tfjs included)");
  assert.ok(b.inputs.some((f) => f.endsWith("dist/src/tfjs/workerd.js")), "fused-adam/tfjs resolved its workerd entry");
  assert.equal(out["workerd-simd"].tfjsEntry, { sameInit: true, fusedAdam: "function", FusedAdamTfjs: "function" });
});

test("workerd: the edge-light condition (Vercel's .wasm?module imports)", async () => {
  const out = await workerd();
  judge([out["edge-light-simd"], out["edge-light-scalar"]], "edge-light");
  const b = out["edge-light-simd"].bundle;
  assert.ok(b.inputs.some((f) => f.endsWith("dist/src/edge.js")), "esbuild resolved the edge-light entry");
  assert.ok(b.inputs.some((f) => f.endsWith("dist/src/tfjs/edge.js")), "fused-adam/tfjs resolved its edge-light entry");
  assert.equal(out["edge-light-simd"].tfjsEntry, { sameInit: true, fusedAdam: "function", FusedAdamTfjs: "function" });
  assert.is(b.wasm.length, 2);
  assert.not.ok(b.inlinedWasm);
});

test("workerd refuses the default entry (compiling from bytes): why the workerd condition exists", async () => {
  const r = (await workerd())["worker-simd"];
  assert.ok(r.error, "the default entry ran in workerd; then the workerd entry is not needed");
  assert.match(r.error, /code generation disallowed/i);
});

test("determinism: one state hash across every runtime and both builds", () => {
  // node, node LTS, deno, bun; 2 chromium pages (when Chromium is there); 2 workerd conditions; x2 builds
  const expected = 2 * 4 + (CHROMIUM.path ? 4 : 0) + 4;
  assert.is(results.length, expected, `only ${results.length} of ${expected} runtime results: see the failures above`);
  const byHash = new Map();
  for (const r of results) byHash.set(r.hash, [...(byHash.get(r.hash) ?? []), `${r.runtime} [${r.backend.build}]`]);
  if (byHash.size > 1) {
    // Name the conventions whose trajectories differ, against the first result.
    const ref = results[0].runs;
    const diff = results.flatMap((r) => r.runs.filter((x, i) => x.hash !== ref[i].hash).map((x) => `${r.runtime} [${r.backend.build}] ${x.convention}`));
    assert.unreachable(`${byHash.size} different hashes:\n${[...byHash].map(([h, w]) => `${h}: ${w.join(", ")}`).join("\n")}\ndiffering runs: ${[...new Set(diff)].join("; ")}`);
  }
  console.log(`  determinism hash ${results[0].hash} in ${results.length} runs`);
});

test.after(async () => {
  m.cleanup(await ctxP.catch(() => null));
});

test.run();
