#!/usr/bin/env node
// npm run golden:generate [-- generator ...]: makes the Python venv of golden/generate/requirements.txt
// (from the local wheel index that `pip config list` names, or the index pip is set up with) and runs the
// generators (golden/generate/gen_*.py), which write golden/real/<framework>/. The traces are committed;
// npm test replays them without Python.
// npm run python:setup (this script with --venv-only) makes the venv and runs nothing: npm test's Python
// tests (real torch) use it. FUSED_ADAM_VENV names another venv with the same packages.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const gen = join(root, "golden", "generate");
const venv = process.env.FUSED_ADAM_VENV ?? join(root, ".venv-golden");
/** The venv's python (it may not exist yet: ensureVenv() makes it). */
export const py = join(venv, "bin", "python");
const run = (cmd, args, env = {}) => execFileSync(cmd, args, { cwd: gen, stdio: "inherit", env: { ...process.env, ...env } });

/** The local wheel index pip is configured with (an extra-index-url with a file: URL), if any. */
function localIndex() {
  try {
    const conf = execFileSync("python3", ["-m", "pip", "config", "list"], { encoding: "utf8" });
    const urls = [...conf.matchAll(/index-url='([^']+)'/g)].flatMap((m) => m[1].split(/\s+/));
    return urls.find((u) => u.startsWith("file:"));
  } catch {
    return undefined;
  }
}

/**
 * The venv's python, made first when needed. The project's own venv (.venv-golden) is brought up to date
 * with requirements.txt (a stamp of the file it was installed from, so an interrupted or older install is
 * redone); a venv named by FUSED_ADAM_VENV is the user's and is used as it is.
 */
export function ensureVenv() {
  const requirements = readFileSync(join(gen, "requirements.txt"), "utf8");
  if (process.env.FUSED_ADAM_VENV) {
    if (!existsSync(py)) throw new Error(`FUSED_ADAM_VENV=${venv} has no bin/python`);
    return py;
  }
  const stamp = join(venv, "requirements.installed.txt");
  if (existsSync(py) && existsSync(stamp) && readFileSync(stamp, "utf8") === requirements) return py;
  if (!existsSync(py)) run("python3", ["-m", "venv", venv]);
  const index = localIndex();
  const pipArgs = ["-m", "pip", "install", "-q", "-r", join(gen, "requirements.txt")];
  if (index) pipArgs.push("--index-url", index);
  run(py, pipArgs);
  writeFileSync(stamp, requirements);
  return py;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureVenv();
  if (process.argv.includes("--venv-only")) {
    console.log(`python:setup: ${py}`);
    process.exit(0);
  }
  const wanted = process.argv.slice(2);
  const all = readdirSync(gen).filter((f) => /^gen_.*\.py$/.test(f)).sort();
  for (const f of wanted.length ? all.filter((f) => wanted.some((w) => f.includes(w))) : all) {
    console.log(`golden:generate: ${f}`);
    run(py, [join(gen, f)]);
  }
}
