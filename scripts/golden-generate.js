#!/usr/bin/env node
// npm run golden:generate [-- generator ...]: makes the Python venv of golden/generate/requirements.txt
// (from the local wheel index that `pip config list` names, or the index pip is set up with) and runs the
// generators (golden/generate/gen_*.py), which write golden/real/<framework>/. The traces are committed;
// npm test replays them without Python.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const gen = join(root, "golden", "generate");
const venv = process.env.FUSED_ADAM_VENV ?? join(root, ".venv-golden");
const py = join(venv, "bin", "python");
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

export function ensureVenv() {
  if (existsSync(py)) return py;
  run("python3", ["-m", "venv", venv]);
  const index = localIndex();
  const pipArgs = ["-m", "pip", "install", "-q", "-r", join(gen, "requirements.txt")];
  if (index) pipArgs.push("--index-url", index);
  run(py, pipArgs);
  return py;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureVenv();
  const wanted = process.argv.slice(2);
  const all = readdirSync(gen).filter((f) => /^gen_.*\.py$/.test(f)).sort();
  for (const f of wanted.length ? all.filter((f) => wanted.some((w) => f.includes(w))) : all) {
    console.log(`golden:generate: ${f}`);
    run(py, [join(gen, f)]);
  }
}
