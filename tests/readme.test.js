// The README tells the truth: its convention table is the presets' own (scripts/conventions-table.js
// prints it), its Quick start is examples/quickstart.js as it runs, its links work on a package page
// (absolute, into the repository that package.json names), and its Layout section matches the tree.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const between = (name) => readme.split(`<!-- ${name}:start -->`)[1].split(`<!-- ${name}:end -->`)[0].trim();

test("README convention table matches the presets", () => {
  const want = execFileSync(process.execPath, [join(root, "scripts", "conventions-table.js")], { encoding: "utf8" }).trim();
  assert.is(between("conventions"), want);
});

test("the Quick start is examples/quickstart.js, which imports the package by name and fits its line", () => {
  const file = readFileSync(join(root, "examples", "quickstart.js"), "utf8").trimEnd();
  assert.is(between("quickstart"), "```js\n" + file + "\n```");
  assert.match(file, /from "fused-adam";/);
  const out = execFileSync(process.execPath, [join(root, "examples", "quickstart.js")], { encoding: "utf8" });
  const m = out.match(/w = (\S+), b = (\S+), loss/);
  assert.ok(m && Math.abs(Number(m[1]) - 3) < 1e-3 && Math.abs(Number(m[2]) + 1) < 1e-3, out);
});

test("every link and image is absolute (into the repository package.json names) or an anchor", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const repo = pkg.homepage.replace(/#readme$/, "");
  const raw = repo.replace("https://github.com/", "https://raw.githubusercontent.com/");
  const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-")));
  for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (target.startsWith("#")) assert.ok(anchors.has(target.slice(1)), `no heading for ${target}`);
    else assert.match(target, /^https:\/\//, `relative link ${target}: it breaks on a package page`);
    for (const base of [`${repo}/blob/main/`, `${raw}/main/`]) {
      if (target.startsWith(base)) assert.ok(existsSync(join(root, target.slice(base.length))), `${target} points at no file`);
    }
  }
});

test("the Layout section names every source file and top-level folder, and only paths that exist", () => {
  const layout = readme.split("## Layout\n")[1].split("\n## ")[0];
  const paths = [...layout.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]).filter((p) => (p.includes("/") || /^\w[\w.-]*\.\w+$/.test(p)) && !p.startsWith("fused-adam"));
  for (const p of paths) if (!["dist/", "src/generated/"].includes(p) && !p.includes("*")) assert.ok(existsSync(join(root, p)), `the Layout names ${p}, which does not exist`);
  const named = new Set(paths.map((p) => p.replace(/\/$/, "")));
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === "generated" ? [] : walk(join(dir, e.name))) : [relative(root, join(dir, e.name))]);
  for (const f of [...walk(join(root, "src")), ...walk(join(root, "assembly"))]) assert.ok(named.has(f), `the Layout does not name ${f}`);
  const top = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && !/^(\.git|node_modules|dist|\.venv.*)$/.test(e.name));
  for (const d of top) assert.ok([...named].some((p) => p === d.name || p.startsWith(`${d.name}/`)), `the Layout does not name ${d.name}/`);
});

test.run();
