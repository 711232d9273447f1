#!/usr/bin/env node
// npm run typecheck: the host with tsc (tsconfig.json: src/ and the assembly/abi.ts it imports, strict),
// then the kernels with the AssemblyScript compiler itself, for each build target, emitting nothing.
// AssemblyScript's generics branch on the type at compile time (isVector<T>()) and its decorators sit on
// functions, which tsc cannot check; asc is the checker of assembly/ (assembly/tsconfig.json gives editors
// AssemblyScript's types). Prints each command and exits non-zero on the first failure.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const steps = [
  [bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]],
  ...["simd", "scalar", "threads"].map((t) => [bin("asc"), ["assembly/index.ts", "--config", "asconfig.json", "--target", t, "--noEmit"]]),
];
for (const [cmd, args] of steps) {
  console.log(`typecheck: ${cmd.slice(root.length + 1)} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log("typecheck: ok");
