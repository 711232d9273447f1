#!/usr/bin/env node
// Sizes for the README's runtime table: each wasm build, and what an app that imports fused-adam ships
// per entry (esbuild, minified, the package's whole API kept), raw and gzipped. Run after npm run build:
//   node tests/runtimes/sizes.js
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { cleanup, prepare, root } from "./matrix.js";

const kB = (n) => `${(n / 1000).toFixed(1)} kB`;
const both = (buf) => `${kB(buf.length)} (${kB(gzipSync(buf, { level: 9 }).length)} gzipped)`;

const esbuild = await import("esbuild");
const ctx = await prepare();
try {
  writeFileSync(join(ctx.dir, "sizes-entry.js"), 'export * from "fused-adam";\n');
  const rows = [];
  for (const [file, what] of [["fused_adam.simd.wasm", "SIMD build (f32x4)"], ["fused_adam.wasm", "scalar build"], ["fused_adam.threads.wasm", "threads build (SIMD, shared memory)"]]) {
    rows.push([what, `\`fused-adam/${file}\``, both(readFileSync(join(root, "dist", file)))]);
  }
  for (const [conditions, what] of [[[], "default entry, the SIMD and scalar builds inlined as base64"], [["workerd"], "workerd entry, JS only (+ the .wasm modules)"], [["edge-light"], "edge-light entry, JS only (+ the .wasm modules)"]]) {
    // With code splitting, as app bundlers do: what init({ threads }) imports on demand is a chunk of its own.
    const r = await esbuild.build({
      entryPoints: [join(ctx.dir, "sizes-entry.js")], bundle: true, format: "esm", minify: true, write: false, splitting: true, outdir: join(ctx.dir, "out"),
      conditions, logLevel: "silent", loader: { ".wasm": "empty" },
      plugins: [{ name: "wasm-module-suffix", setup(b) { b.onResolve({ filter: /\?module$/ }, () => ({ path: "m", namespace: "stub" })); b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default null" })); } }],
    });
    const [entry, ...chunks] = r.outputFiles.sort((a, b) => (a.path.endsWith("sizes-entry.js") ? -1 : b.path.endsWith("sizes-entry.js") ? 1 : 0));
    rows.push([what, conditions.length ? `condition \`${conditions[0]}\`` : "`import ... from \"fused-adam\"`", both(Buffer.from(entry.contents))]);
    // The workerd and edge-light entries never call the default init(): their chunks are never loaded.
    if (!conditions.length) for (const c of chunks) rows.push(["  + loaded by `init({ threads })`: the threads build, base64", "a chunk of its own", both(Buffer.from(c.contents))]);
  }
  rows.push(["npm tarball", "`npm pack`", kB(ctx.size)]);
  console.log("| what | how | size |\n| --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
} finally {
  cleanup(ctx);
}
