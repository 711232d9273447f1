#!/usr/bin/env node
// The test runner: every tests/**/*.test.js (uvu) in a process of its own, one after the other, each with
// a time limit, and the closing line CI reads: "N passed, N failed, K skipped".
//
//   node tests/run.js [regex | file.js ...] [--unit]
//
// regex picks files by their path under tests/ (e.g. "conformance", "(kernel|pow)\.test"); a path to a .js
// file runs that file (tests/exits.test.js runs fixtures that hang this way). --unit is the
// edit-test tier (npm run test:unit): no browser, no Python, no other runtimes, seconds (tests/needs.js).
//
// Nothing hangs: a file runs in its own process group; when it ends, anything it left running (a server,
// a browser, a worker) is killed and the file fails for it; a file that runs past its limit is killed with
// its whole group and fails with its name. Skipped tests (tests/needs.js) are listed at the end with the
// line that installs what they need.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

// Seconds a file may take, on CI's 2 cores with Chromium, Deno, Bun and workerd starting cold. A file not
// named here gets DEFAULT_LIMIT.
const LIMITS = {
  "runtimes.test.js": 1200,
  "demo.test.js": 600,
  "threads.test.js": 300,
  "mnist.test.js": 300,
  "allocation.test.js": 300,
  "tfjs.test.js": 300,
  "bench.test.js": 300,
  "clipping.test.js": 300,
  "checkpoint.test.js": 180,
  "schedules.test.js": 180,
  "exits.test.js": 300,
  "packaging.test.js": 400,
  "typecheck.test.js": 180,
};
const DEFAULT_LIMIT = 120;
// Left out of the unit tier whole: a browser, other runtimes, child processes measuring for seconds, training.
const NOT_UNIT = new Set([
  "runtimes.test.js", "demo.test.js", "threads.test.js", "mnist.test.js", "allocation.test.js", "bench.test.js", "exits.test.js", "typecheck.test.js",
  "packaging.test.js",
]);
// After the summary, how long a file's process may take to exit before it counts as left hanging
// (FUSED_ADAM_EXIT_GRACE, seconds, overrides it).
const EXIT_GRACE = (Number(process.env.FUSED_ADAM_EXIT_GRACE) || 10) * 1000;

/** Every *.test.js under dir, as paths relative to tests/, sorted. */
export function testFiles(dir = here) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith(".test.js")) out.push(relative(here, p).split("\\").join("/"));
  }
  return out.sort();
}

// FUSED_ADAM_TEST_LIMIT (seconds) overrides every limit (tests/exits.test.js uses it on a fixture).
const limitOf = (file) => (Number(process.env.FUSED_ADAM_TEST_LIMIT) || LIMITS[file.split("/").pop()] || DEFAULT_LIMIT) * 1000;
let current = 0; // the process group of the file running now

/** Whether a process group still has a member. */
function alive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a process group; false when there was none left. */
function killGroup(pid) {
  try {
    process.kill(-pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs one file; resolves { passed, failed, skipped, skips: [lines], problem } where problem says why the
 * file failed as a whole (it crashed, ran over its limit, or left processes behind).
 */
function runFile(file, env) {
  return new Promise((done) => {
    const limit = limitOf(file);
    const started = Date.now();
    const child = spawn(process.execPath, [resolve(here, file)], { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    current = child.pid;
    let out = "";
    let summaryAt = 0;
    let problem = null;
    const fail = (why) => {
      problem ??= why;
      killGroup(child.pid);
    };
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
      if (!summaryAt && /Duration:\s/.test(out)) {
        summaryAt = Date.now();
        setTimeout(() => fail(`${file}: its tests ended but the process did not exit within ${EXIT_GRACE / 1000} s (a server, browser, worker or child left running)`), EXIT_GRACE).unref();
      }
    });
    child.stderr.on("data", (d) => process.stderr.write(d));
    const timer = setTimeout(() => fail(`${file}: ran over its time limit of ${limit / 1000} s and was stopped`), limit);
    child.on("close", async (code, signal) => {
      clearTimeout(timer);
      // Whatever the file started and left running is in its group (unless it detached it on purpose). A
      // browser's helpers may take a moment to go after it closed: give them up to 3 s.
      for (let i = 0; i < 30 && alive(child.pid); i++) await new Promise((ok) => setTimeout(ok, 100));
      if (killGroup(child.pid) && !problem) problem = `${file}: left processes running after it exited (killed now)`;
      const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
      const total = num("Total");
      const passed = num("Passed");
      const skipped = num("Skipped");
      if (!problem && !summaryAt) problem = `${file}: exited (${signal ?? `code ${code}`}) without finishing its tests`;
      if (!problem && code !== 0 && total === passed) problem = `${file}: exited with code ${code}`;
      const skips = out.split("\n").filter((l) => l.startsWith("SKIPPED: ")).map((l) => `${file}: ${l.slice(9)}`);
      done({ passed, failed: total - passed + (problem ? 1 : 0), skipped, skips, problem, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main() {
  const args = process.argv.slice(2);
  const unit = args.includes("--unit");
  const picks = args.filter((a) => !a.startsWith("--"));
  const paths = picks.filter((a) => a.endsWith(".js") && existsSync(a)).map((a) => relative(here, resolve(a)));
  const pattern = new RegExp(paths.length ? "." : (picks[0] ?? "."));
  const files = paths.length ? paths : testFiles().filter((f) => pattern.test(f) && !(unit && NOT_UNIT.has(f.split("/").pop())));
  // Interrupted (Ctrl-C, a CI timeout): the file running now goes too, with everything it started.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, () => {
      if (current) killGroup(current);
      process.exit(130);
    });
  }
  const env = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR; // Node warns when both are set
  if (unit) env.FUSED_ADAM_TIER = "unit";
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const problems = [];
  const skips = [];
  const slow = [];
  for (const file of files) {
    process.stdout.write(`\n${file}\n`);
    const r = await runFile(file, env);
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
    skips.push(...r.skips);
    if (r.problem) {
      problems.push(r.problem);
      console.log(`\nFAIL ${r.problem}`);
    }
    slow.push([r.seconds, file]);
  }
  if (files.length === 0) {
    problems.push(`no test file matches ${pattern}`);
    failed++;
  }
  console.log(`\nslowest: ${slow.sort((a, b) => b[0] - a[0]).slice(0, 5).map(([s, f]) => `${f} ${s.toFixed(1)} s`).join(", ")}`);
  if (unit) console.log("test:unit leaves out browsers, Python, other runtimes and the long tests: npm test runs everything.");
  for (const p of problems) console.log(`FAIL ${p}`);
  for (const s of skips) console.log(`SKIPPED ${s}`);
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
