// The benchmark cases and their inputs: tensor shapes, fused-adam's arena layout (every tensor padded to
// 16 floats, regions P, G, M, V), deterministic random state, and the agreement check every peer passes
// before it is timed.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const BERT_FILE = join(here, "bert-base.txt");

/** Hyperparameters of every case (torch defaults, AdamW's weight decay), and the step the state is at. */
export const HYPER = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, t0: 9, maxNorm: 1.0 };

/**
 * Every peer puts its state (weights and moments) back to the case's input every RESET_EVERY steps, inside
 * its timed step (about 0.01% of the time). A benchmark repeats one fixed gradient, unlike training: under
 * Adam-L2 each weight then reaches the exact fixed point g + wd·p = 0 after roughly 10^4 steps, and m and v
 * decay into subnormals, which x86 handles with microcode assists (measured 40x slower at 4K params).
 * No subnormal appears within 8,000 steps from the input.
 */
export const RESET_EVERY = 2000;

export const CONVENTIONS = [
  { id: "adamw", label: "AdamW", preset: "torch-adamw" },
  { id: "adaml2", label: "Adam-L2", preset: "torch-adam" },
];

/** BERT-base parameter shapes: `<name> <dim0> [<dim1>]` per line, `#` comments. */
export function bertShapes(file = BERT_FILE) {
  const out = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const s = line.trim();
    if (!s || s.startsWith("#")) continue;
    const [name, ...dims] = s.split(/\s+/);
    out.push({ name, shape: dims.map(Number) });
  }
  return out;
}

/**
 * The shape sets. `smoke` swaps in small sizes (4K, and a 3-tensor BERT subset) for the agreement-only run.
 * Each: { id, label, tensors: [{ name, shape }] }.
 */
export function shapeSets({ smoke = false } = {}) {
  const one = (id, n) => ({ id, label: `${id} (1 tensor)`, tensors: [{ name: "weight", shape: [n] }] });
  const bert = bertShapes();
  if (smoke) {
    // A 2-D matrix, a bias and a LayerNorm weight: the three kinds of tensor, with a ragged tail (2·768+3).
    const sub = [bert.find((t) => t.name.endsWith("attention.self.query.weight")), bert.find((t) => t.name.endsWith("attention.self.query.bias")), bert.find((t) => t.name.endsWith("LayerNorm.weight"))];
    return [one("4K", 4096), one("4K+3", 4099), { id: "bert-3", label: "BERT subset (3 tensors)", tensors: sub }];
  }
  return [
    one("4K", 4096),
    one("64K", 65536),
    one("1M", 1 << 20),
    one("16M", 1 << 24),
    { id: "bert-base", label: `BERT-base (${bert.length} tensors)`, tensors: bert },
  ];
}

export const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);

/** fused-adam's arena layout: each tensor starts on a 64-byte boundary within each region. */
export function layout(tensors) {
  const sizes = tensors.map((t) => sizeOf(t.shape));
  const offsets = [];
  let total = 0;
  for (const n of sizes) {
    offsets.push(total);
    total += Math.ceil(n / 16) * 16;
  }
  return { sizes, offsets, total, params: sizes.reduce((a, b) => a + b, 0) };
}

// xorshift32, mapped to float32 in [lo, hi): cheap and the same everywhere.
function fill(a, seed, lo, hi) {
  let x = seed >>> 0 || 1;
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = lo + (x >>> 0) * scale;
  }
}

/**
 * The state every peer starts from: weights in [-1, 1), gradients in [-0.1, 0.1), moments of a run at step
 * t0: m in [-0.05, 0.05) and v in [0.001, 0.01), the scale of g² (v near zero next to 0.1-sized gradients
 * makes single elements' updates hundreds of times larger, so that the last bit of a peer's clip norm
 * would decide the check). Regions P, G, M, V in the arena layout; padding is zero.
 */
export function makeInput(tensors, seed = 1) {
  const lay = layout(tensors);
  const region = () => new Float32Array(lay.total);
  const input = { ...lay, tensors, p: region(), g: region(), m: region(), v: region() };
  lay.sizes.forEach((n, k) => {
    const at = (r) => input[r].subarray(lay.offsets[k], lay.offsets[k] + n);
    const s = seed * 7919 + k * 104729;
    fill(at("p"), s + 1, -1, 1);
    fill(at("g"), s + 2, -0.1, 0.1);
    fill(at("m"), s + 3, -0.05, 0.05);
    fill(at("v"), s + 4, 0.001, 0.01);
  });
  return input;
}

/** Tensor k of a region as a view. */
export const tensorOf = (input, region, k) => input[region].subarray(input.offsets[k], input.offsets[k] + input.sizes[k]);

/**
 * torch clip_grad_norm_ on the inputs, as the golden README pins it: total in float64 rounded to float32,
 * c = min(1, f(f(1/f(total+f(1e-6)))·f(max_norm))), g = f(g·c). Returns clipped gradients (new regions).
 */
export function clippedGrads(input, maxNorm) {
  const f = Math.fround;
  let sum = 0;
  for (let k = 0; k < input.sizes.length; k++) {
    const g = tensorOf(input, "g", k);
    for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  }
  const total = f(Math.sqrt(sum));
  const c = Math.min(1, f(f(1 / f(total + f(1e-6))) * f(maxNorm)));
  const out = new Float32Array(input.g.length);
  for (let i = 0; i < out.length; i++) out[i] = f(input.g[i] * c);
  return { g: out, coef: c, total };
}

/**
 * Does `got` (regions p, m, v after one step) agree with `want`? Per tensor and region, the golden README's
 * bound `max|got-want| <= tol·max|want|`; and, because a weight moves by ~lr per step, which that bound on p
 * barely sees, the update itself: `max|(got-p0)-(want-p0)| <= 1e-3·max|want-p0|`. Also counts bit-equal
 * values. Returns { ok, exact, maxRel, maxUpdateRel, worst }.
 */
export function compare(input, want, got, tol) {
  let ok = true;
  let exact = true;
  let maxRel = 0;
  let maxUpdateRel = 0;
  let worst = "";
  for (const r of ["p", "m", "v"]) {
    for (let k = 0; k < input.sizes.length; k++) {
      const off = input.offsets[k];
      const n = input.sizes[k];
      const a = want[r];
      const b = got[r];
      const p0 = input.p;
      let maxD = 0;
      let maxW = 0;
      let maxU = 0;
      let maxUD = 0;
      for (let i = off; i < off + n; i++) {
        const w = a[i];
        const x = b[i];
        if (w !== x && !(Number.isNaN(w) && Number.isNaN(x))) exact = false;
        if (Number.isNaN(w) !== Number.isNaN(x)) maxD = Infinity;
        const d = Math.abs(x - w);
        if (d > maxD) maxD = d;
        if (Math.abs(w) > maxW) maxW = Math.abs(w);
        if (r === "p") {
          const u = Math.abs(w - p0[i]);
          if (u > maxU) maxU = u;
          const ud = Math.abs(x - p0[i] - (w - p0[i]));
          if (ud > maxUD) maxUD = ud;
        }
      }
      const rel = maxW > 0 ? maxD / maxW : maxD;
      if (!(rel <= maxRel)) maxRel = rel;
      if (!(rel <= tol)) {
        ok = false;
        worst ||= `${r}[tensor ${k}]: max|got-want|/max|want| = ${rel.toExponential(2)} > ${tol}`;
      }
      if (r === "p") {
        const urel = maxU > 0 ? maxUD / maxU : maxUD;
        if (!(urel <= maxUpdateRel)) maxUpdateRel = urel;
        if (!(urel <= 1e-3)) {
          ok = false;
          worst ||= `update of p[tensor ${k}]: max error / max update = ${urel.toExponential(2)} > 1e-3`;
        }
      }
    }
  }
  return { ok, exact, maxRel, maxUpdateRel, worst };
}
