// A quiet install: npm 11 lists every dependency whose install script nobody reviewed (allowScripts in
// package.json). Every package with an install script in the lock files is decided there, so a fresh
// `npm ci` prints no such warning; adding a dependency with one fails here until it is decided. Allowed:
// bun (its postinstall puts the binary in place of a stub that only errors) and workerd (its bin is
// otherwise a Node wrapper that does not pass the matrix's control fd 3 through). Denied: deno and esbuild,
// whose wrappers find the platform package at run time (the runtime matrix and the threads tests run them).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

for (const dir of [".", "tests/runtimes/node-lts"]) {
  test(`${dir}: allowScripts decides every dependency with an install script`, () => {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    const lock = JSON.parse(readFileSync(join(root, dir, "package-lock.json"), "utf8"));
    const scripted = Object.entries(lock.packages)
      .filter(([path, p]) => path && p.hasInstallScript && !p.optional)
      .map(([path]) => path.split("node_modules/").pop());
    assert.ok(scripted.length > 0, "the lock lists install scripts (hasInstallScript)");
    const undecided = scripted.filter((name) => typeof pkg.allowScripts?.[name] !== "boolean");
    assert.equal(undecided, [], `not in allowScripts: ${undecided.join(", ")}`);
  });
}

test.run();
