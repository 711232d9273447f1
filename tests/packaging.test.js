// A user's install, from a fresh clone of this repository (HEAD: commit what you want tested): `npm pack`
// builds the library (the prepare script) into the tarball, and a project that installs the tarball, or
// the git URL, imports fused-adam, trains a step, and type-checks with lib ["es2022"] and no DOM.
// The clone borrows this checkout's node_modules through a symlink and only packs (never installs there:
// npm ci would empty the directory the symlink points to).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "fused-adam-packaging-"));
const clone = join(tmp, "clone");
const sh = (cmd, args, cwd, env = {}) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
const quiet = ["--no-audit", "--no-fund", "--prefer-offline"];

/** An empty project with fused-adam installed from `spec`; returns its folder. */
function project(name, spec) {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  sh("npm", ["install", spec, ...quiet], dir);
  return dir;
}

/** Imports the package, trains one step, and type-checks a consumer without the DOM lib. */
function usesIt(dir) {
  const out = sh(process.execPath, ["--input-type=module", "-e", `
    import { init, Optimizer, backend } from "fused-adam";
    await init();
    const opt = new Optimizer([{ name: "w", shape: [2], data: [1, 2] }], { convention: "torch-adamw", lr: 0.1 });
    opt.step({ w: [1, -1] });
    console.log(JSON.stringify({ build: backend().build, w: [...opt.param("w").data] }));`], dir);
  const r = JSON.parse(out);
  assert.is(r.build, "simd");
  assert.ok(r.w[0] < 1 && r.w[1] > 2, out);
  writeFileSync(join(dir, "use.ts"), `import { init, Optimizer } from "fused-adam";\nawait init();\nexport const o = new Optimizer([{ name: "w", shape: [1] }], { convention: "bert" });\n`);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, lib: ["es2022"], types: ["node"], typeRoots: [join(root, "node_modules", "@types")], skipLibCheck: false },
    files: ["use.ts"],
  }));
  try {
    sh(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], dir);
  } catch (e) {
    assert.unreachable(`tsc (lib es2022, no DOM) failed:\n${e.stdout}${e.stderr}`);
  }
}

test.before(() => {
  sh("git", ["clone", "-q", root, clone], tmp);
  symlinkSync(join(root, "node_modules"), join(clone, "node_modules"));
});
test.after(() => rmSync(tmp, { recursive: true, force: true }));

let tarball;
test("npm pack on a fresh clone builds the library into the tarball", () => {
  const [packed] = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", tmp], clone));
  const files = packed.files.map((f) => f.path);
  for (const f of ["dist/src/index.js", "dist/src/index.d.ts", "dist/src/workerd.js", "dist/src/edge.js", "dist/src/tfjs/index.js",
    "dist/src/tfjs/workerd.js", "dist/fused_adam.simd.wasm", "dist/fused_adam.wasm", "dist/fused_adam.threads.wasm", "LICENSE", "README.md", "package.json"]) {
    assert.ok(files.includes(f), `the tarball has ${f}`);
  }
  tarball = join(tmp, packed.filename);
});

test("a project that installs the tarball imports it, steps, and type-checks without the DOM", () => {
  usesIt(project("from-tarball", tarball));
});

test("a project that installs the git URL gets the built library (prepare) and the same", () => {
  usesIt(project("from-git", `git+file://${clone}`));
});

test.run();
