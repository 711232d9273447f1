// No import circles in src/: every `import ... from`, `export ... from` and `import("...")` of a relative
// module, type-only ones included (a circle of types is still a circle a reader has to untangle), read
// from the sources, and a depth-first search for a back edge.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : []);
}

const IMPORT = /(?:^|[;\s])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** file -> the src/ files it imports (relative specifiers, ".js" meaning the ".ts" beside it). */
export function importGraph(files, read = (f) => readFileSync(f, "utf8")) {
  const graph = new Map();
  for (const file of files) {
    const text = read(file).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    const deps = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
      if (target.startsWith(src)) deps.push(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** Every circle as a list of files (relative to the project), found by depth-first search. */
export function circles(graph) {
  const found = [];
  const state = new Map(); // undefined: not seen, 1: on the path, 2: done
  const path = [];
  const visit = (f) => {
    state.set(f, 1);
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) found.push([...path.slice(path.indexOf(d)), d].map((x) => relative(root, x)));
      else if (!state.get(d)) visit(d);
    }
    path.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.get(f)) visit(f);
  return found;
}

test("the detector: every import form, type-only included, and a circle through three files", () => {
  const [a, b, c, d] = ["a.ts", "x/b.ts", "c.ts", "d.ts"].map((f) => join(src, f));
  const texts = {
    [a]: 'import type { B } from "./x/b.js";\n// import { C } from "./c.js";  (a comment is no import)\nexport const y = 1;',
    [b]: 'export * from "../c.js";\nimport { x } from "node:fs";',
    [c]: 'const m = await import("./a.js");\nexport { z } from "./d.js";',
    [d]: "export const z = 2;",
  };
  const graph = importGraph([a, b, c, d], (f) => texts[f]);
  assert.equal(graph.get(a), [b]);
  assert.equal(graph.get(b), [c]);
  assert.equal(graph.get(c), [a, d]);
  assert.equal(circles(graph), [["src/a.ts", "src/x/b.ts", "src/c.ts", "src/a.ts"]]);
  texts[c] = 'export { z } from "./d.js";';
  assert.equal(circles(importGraph([a, b, c, d], (f) => texts[f])), []);
});

test("no import circles in src/", () => {
  const files = sources(src);
  const graph = importGraph(files);
  assert.ok(graph.size > 15, `read ${graph.size} files`);
  assert.ok([...graph.values()].flat().length > 20, "the parser found the imports");
  const c = circles(graph);
  assert.equal(c, [], c.map((x) => x.join(" -> ")).join("\n"));
});

test.run();
