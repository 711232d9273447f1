// What a test needs that `npm ci` cannot bring, and the test tiers.
//
// A test that needs Chromium or Python with torch registers through needs(): when the thing is found it is
// an ordinary test; when not, the test is reported as skipped with the one line that installs it (a
// "SKIPPED:" line that tests/run.js collects and counts); under CI=true a missing one fails instead, since
// CI installs both (.ci/run). In the unit tier (npm run test:unit, FUSED_ADAM_TIER=unit) such tests are
// left out altogether, as are whole files that start other runtimes or take long (tests/run.js NOT_UNIT).
import { spawnSync } from "node:child_process";
import { test as uvuTest } from "uvu";
import { CHROMIUM_INSTALL, findChromium } from "../scripts/chromium.js";
import { py } from "../scripts/golden-generate.js";

export const ci = /^(1|true|yes)$/i.test(process.env.CI ?? "");
export const unitTier = process.env.FUSED_ADAM_TIER === "unit";

let chromium;
let torch;

export const CHROMIUM = {
  what: "Chromium",
  install: CHROMIUM_INSTALL,
  /** The executable, or null. */
  get path() {
    if (chromium === undefined) chromium = findChromium();
    return chromium;
  },
};

export const TORCH = {
  what: "Python with torch (the project's venv)",
  install: "npm run python:setup",
  /** The venv's python when it imports torch, or null. */
  get path() {
    if (torch === undefined) torch = spawnSync(py, ["-c", "import torch"], { stdio: "ignore", timeout: 120_000 }).status === 0 ? py : null;
    return torch;
  },
};

let tensorflow;

export const TENSORFLOW = {
  what: "Python with tensorflow, keras and jax (the project's venv)",
  install: "npm run python:setup",
  /** The venv's python when it imports tensorflow, keras and jax, or null. */
  get path() {
    if (tensorflow === undefined) {
      const ok = spawnSync(py, ["-c", "import tensorflow, keras, jax"], { stdio: "ignore", timeout: 180_000 }).status === 0;
      tensorflow = ok ? py : null;
    }
    return tensorflow;
  },
};

/**
 * `test` when `need` is found; otherwise a stand-in that reports each test as skipped with the line that
 * installs what it needs (under CI=true: registers it as a failing test saying the same).
 */
export function needs(need, test = uvuTest) {
  if (unitTier) return () => {};
  if (need.path) return test;
  return (name) => {
    if (ci) {
      test(name, () => {
        throw new Error(`${need.what} is required under CI=true but was not found; install it with: ${need.install}`);
      });
      return;
    }
    test.skip(name);
    console.log(`SKIPPED: ${name} (needs ${need.what}; install: ${need.install})`);
  };
}
