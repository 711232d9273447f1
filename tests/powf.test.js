// glibc's powf (what XLA CPU calls for optax's 1 - b**count) against real jax: every count to 1000 and a
// sample to 100000 for ten betas (tests/fixtures/xla-powf.json, written by golden/generate/gen_optax.py).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { powfGlibc } from "../dist/src/powf.js";
import { powi } from "../dist/src/index.js";

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL("./fixtures/xla-powf.json", import.meta.url)), "utf8"));
const f = Math.fround;

test("powfGlibc equals XLA CPU's b**count bit for bit (subnormal results flushed to 0 by XLA)", () => {
  let checked = 0;
  for (const [beta, values] of Object.entries(fixture.powers)) {
    fixture.counts.forEach((t, i) => {
      const want = f(Number(values[i])); // written as the shortest float32 decimal
      let got = powfGlibc(Number(beta), t);
      if (Math.abs(got) < 1.1754943508222875e-38) got = 0;
      assert.is(got, want, `${beta}^${t}`);
      checked++;
    });
  }
  assert.ok(checked > 10000);
});

test("XLA's powf is not the correctly rounded power: the fixture shows where they part", () => {
  // The correctly rounded float32 power, from the library's exact integer power of the float32 beta.
  let differ = 0;
  for (const [beta, values] of Object.entries(fixture.powers)) {
    fixture.counts.forEach((t, i) => {
      const cr = f(powi(f(Number(beta)), t));
      if (Math.abs(cr) >= 1.1754943508222875e-38 && cr !== f(Number(values[i]))) differ++;
    });
  }
  assert.ok(differ > 0);
});

test.run();
