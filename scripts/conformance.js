#!/usr/bin/env node
// npm run conformance -- [files or folders...] [--json]
// Replays golden traces (default: the project's corpus under golden/) through the public API and judges
// them (tests/replay.js): one line per file, then `conformance: P passed, F failed`; exit 1 on a failure.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
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

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const paths = args.filter((a) => a !== "--json");
  const files = collect(paths.length ? paths.map((p) => resolve(p)) : [join(root, "golden")]);
  await init();
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    let r;
    try {
      r = check(f, JSON.parse(readFileSync(f, "utf8")));
    } catch (e) {
      r = { file: f, name: basename(f), pass: false, error: String(e && e.stack || e) };
    }
    r.pass ? passed++ : failed++;
    if (json) console.log(JSON.stringify(r));
    else {
      const rel = f.includes("torch_scalar") ? `torch_scalar/${basename(f)}` : basename(f);
      const fmt = (x) => (x === 0 ? "0" : x.toExponential(1));
      let line = `${r.pass ? "PASS" : "FAIL"} ${rel.padEnd(44)}`;
      if (r.error) line += ` error: ${r.error.split("\n")[0]}`;
      else {
        line += ` teacher-forced ${r.teacherForced.maxUlp} ulp${r.exactRequired ? " (exact required)" : ""}, free-running rel ${fmt(r.freeRunning.maxRel)}`;
        if (r.teacherForced.totalNormUlp !== undefined) line += `, total norm ${r.teacherForced.totalNormUlp} ulp`;
        if (r.plainRounding) line += `; without FMA emulation ${r.plainRounding.teacherMaxUlp} ulp, rel ${fmt(r.plainRounding.teacherMaxRel)}`;
        if (r.decayRule.length) line += `; decay rule: ${r.decayRule.join("; ")}`;
        if (r.schedule.length) line += `; schedule: ${r.schedule.slice(0, 3).join("; ")}`;
      }
      console.log(line);
    }
  }
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
