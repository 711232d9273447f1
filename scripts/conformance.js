#!/usr/bin/env node
// npm run conformance -- [files or folders...] [--json]
// Replays golden traces (default: the project's corpus under golden/) through the public API and judges
// them (tests/replay.js): one line per file, then `conformance: P passed, F failed`; exit 1 on a failure.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(join(root, "dist", "src", "index.js"))) execFileSync("node", [join(root, "scripts", "build.js")], { stdio: "inherit" });
// "fused-adam" is this package itself (Node resolves a package's own name through its exports map).
const { init } = await import("fused-adam");
const { check } = await import("../tests/replay.js");

function collect(paths) {
  const out = [];
  for (const p of paths) {
    const st = statSync(p);
    if (st.isDirectory()) {
      const entries = readdirSync(p).sort();
      out.push(...collect(entries.filter((e) => e.endsWith(".json") && e !== "manifest.json").map((e) => join(p, e))));
      out.push(...collect(entries.filter((e) => statSync(join(p, e)).isDirectory()).map((e) => join(p, e))));
    } else out.push(p);
  }
  return out;
}

/** A trace's framework and version as one label: what ran it (the `framework` field), or the seed corpus's kind. */
export function frameworkLabel(trace, file) {
  const fw = trace.framework;
  if (!fw) {
    if (/tfjs_/.test(basename(file))) return "tfjs 4.22 (seed)";
    if (trace.kernel_variant) return `torch 1.13.1 ${trace.kernel_variant} (seed)`;
    return "transcriptions (seed)";
  }
  const how = [fw.impl, fw.cpu_capability, fw.backend && `${fw.backend} backend`, fw.jit === true ? "jit" : fw.jit === false ? "eager" : undefined, fw.graph, trace.algorithm && trace.algorithm !== "adam" ? trace.algorithm : undefined];
  return [`${fw.name} ${fw.version}`, ...how.filter(Boolean)].join(" ");
}

function lineFor(r, rel) {
  const fmt = (x) => (x === 0 ? "0" : x.toExponential(1));
  let line = `${r.pass ? "PASS" : "FAIL"} ${rel.padEnd(52)}`;
  if (r.error) return `${line} error: ${r.error.split("\n")[0]}`;
  line += ` teacher-forced ${r.teacherForced.maxUlp} ulp${r.exactRequired ? " (exact required)" : ""}, free-running rel ${fmt(r.freeRunning.maxRel)}`;
  if (r.teacherForced.totalNormUlp !== undefined) line += `, total norm ${r.teacherForced.totalNormUlp} ulp`;
  if (r.plainRounding) line += `; without FMA emulation ${r.plainRounding.teacherMaxUlp} ulp, rel ${fmt(r.plainRounding.teacherMaxRel)}`;
  if (r.decayRule.length) line += `; decay rule: ${r.decayRule.join("; ")}`;
  if (r.schedule.length) line += `; schedule: ${r.schedule.slice(0, 3).join("; ")}`;
  return line;
}

/** One row per framework and version: files, passed, worst teacher-forced ulp. */
function printTable(rows) {
  const by = new Map();
  for (const { label, r } of rows) {
    const e = by.get(label) ?? { files: 0, passed: 0, worst: 0 };
    e.files++;
    if (r.pass) e.passed++;
    const ulp = r.error ? Infinity : r.teacherForced.maxUlp;
    if (!(ulp <= e.worst)) e.worst = ulp;
    by.set(label, e);
  }
  console.log(`\n${"framework and version".padEnd(52)} files  passed  worst ulp`);
  for (const [label, e] of [...by].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`${label.padEnd(52)} ${String(e.files).padStart(5)}  ${String(e.passed).padStart(6)}  ${String(e.worst).padStart(9)}`);
  }
}

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const paths = args.filter((a) => a !== "--json");
  const roots = paths.length ? paths.map((p) => resolve(p)) : [join(root, "golden")];
  const files = collect(roots);
  await init();
  const rows = [];
  for (const f of files) {
    let r;
    let trace;
    try {
      trace = JSON.parse(readFileSync(f, "utf8"));
      r = check(f, trace);
    } catch (e) {
      r = { file: f, name: basename(f), pass: false, error: String(e && e.stack || e) };
    }
    rows.push({ label: trace ? frameworkLabel(trace, f) : "unreadable", r });
    const base = roots.find((d) => f.startsWith(d + sep));
    if (json) console.log(JSON.stringify(r));
    else console.log(lineFor(r, base ? relative(base, f) : basename(f)));
  }
  if (!json) printTable(rows);
  const passed = rows.filter((x) => x.r.pass).length;
  const failed = rows.length - passed;
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
