// The benchmark's smoke run: every case once at small size; fused-adam and every peer must agree.
// The torch peers join in a second run where the project's Python venv has torch (bench/torch.js).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { goals, speedup } from "../bench/report.js";
import { needs, TORCH } from "./needs.js";

const smoke = fileURLToPath(new URL("../bench/smoke.js", import.meta.url));

test("bench smoke: every peer agrees with fused-adam on every case", () => {
  const r = spawnSync(process.execPath, [smoke], { encoding: "utf8" });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.not.match(r.stdout, /torch peers|torch (foreach|fused)/, "the smoke run starts no Python unless asked");
});

// Skipped without the venv (with its install line), failed under CI=true (tests/needs.js).
needs(TORCH)("bench smoke --torch: torch foreach and fused (1 and 2 threads) agree with fused-adam on every case", () => {
  const r = spawnSync(process.execPath, [smoke, "--torch"], { encoding: "utf8" });
  assert.is(r.status, 0, r.stdout + r.stderr);
  // 12 cases x 4 torch peers, each checked (a torch peer that failed to start would leave its lines out).
  const agreed = r.stdout.split("\n").filter((l) => /^ {2}torch (foreach|fused), [12] threads? +agrees/.test(l));
  assert.is(agreed.length, 48, r.stdout);
});

// A case as bench/case.js records it: torch on 2 threads timed in alternation with fused-adam on 2 threads.
const one = (id, extra = {}) => ({ peer: id, label: id, check: { ok: true }, ...extra });
const caseOf = (size, withTorch) => ({
  case: size, convention: "adamw", clip: false,
  results: [
    one("fused-adam", { mparams: 1000 }),
    one("fused-adam-mt", { mparams: 1800, pairedMparams: 990 }),
    ...(withTorch ? [one("torch-fused-1", { mparams: 1250, pairedMparams: 1050 }), one("torch-fused-2", { mparams: 2000, pairedMparams: 1700, pairedWith: "fused-adam-mt" })] : []),
  ],
});

test("report: a torch column is compared with the fused-adam column of its own threads, over the same turns", () => {
  const c = caseOf("1M", true);
  assert.is(speedup(c, "torch-fused-2", "fused-adam-mt"), 1700 / 2000);
  assert.is(speedup(c, "torch-fused-1"), 1050 / 1250);
  // Against another column than the one it was paired with: that column's own speed.
  assert.is(speedup(c, "torch-fused-2"), 1000 / 2000);
  // fused-adam's variants keep their own pairing.
  assert.is(speedup(c, "fused-adam", "fused-adam-mt"), 1800 / 990);
});

test("report: the torch goals appear only when the run had the torch peers", () => {
  const rows = (withTorch) => goals({ cases: ["4K", "64K", "1M", "16M"].map((s) => caseOf(s, withTorch)), divider: { mparams: 1700 } }).filter((g) => /torch/.test(g.goal));
  assert.is(rows(false).length, 0);
  const g = rows(true);
  assert.is(g.length, 4);
  const twoThreadsBig = g.find((x) => x.goal.includes("2 threads >= 0.8x"));
  assert.equal(twoThreadsBig.measured.map((m) => m.ratio), [1700 / 2000, 1700 / 2000]);
  assert.ok(twoThreadsBig.met); // 0.85x >= 0.8x
  assert.equal(twoThreadsBig.measured.map((m) => m.bound), [(2 * 1700) / 2000, (2 * 1700) / 2000]);
});

test.run();
