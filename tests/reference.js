// A straightforward float64 reference of every convention's semantics, written from the knobs' meaning
// (golden/seed/README.md "Math"), not from the kernel: no float32 rounding, no reordering tricks.
// Property tests compare the engine with it within a float32-sized tolerance.

/** params: [{ name, data, lr, wd, decays, lrMult, decayMult }], state kept per name. */
export function referenceStep(knobs, hyper, params, grads, state, clip) {
  const { b1, b2, eps, maximize, amsgrad, gradScale = 1, clipValue = Infinity, epsRoot = 0, multiplier = 1 } = hyper;
  let coef = 1;
  if (clip) {
    let ss = 0;
    for (const p of params) for (const x of grads[p.name]) ss += (x * gradScale) ** 2;
    const total = Math.sqrt(ss);
    if (clip.mode === "torch") coef = Math.min(1, clip.maxNorm / (total + 1e-6));
    else if (clip.mode === "optax") coef = total < clip.maxNorm ? 1 : clip.maxNorm / total;
    else coef = total > clip.maxNorm ? clip.maxNorm / total : 1;
  }
  for (const p of params) {
    const s = (state[p.name] ??= { m: new Float64Array(p.data.length), v: new Float64Array(p.data.length), x: new Float64Array(p.data.length), t: 0 });
    s.t += 1;
    const t = s.t;
    const lr = p.lr * p.lrMult;
    const wd = p.decays ? p.wd * p.decayMult : 0;
    const bc1 = knobs.biasCorrection ? 1 - b1 ** t : 1;
    const bc2 = knobs.biasCorrection ? 1 - b2 ** t : 1;
    const alpha = (lr * Math.sqrt(bc2)) / bc1;
    const scaleOf = (mode) => (mode === "lr" ? lr : mode === "none" ? 1 : mode === "corrected-lr" ? alpha : multiplier);
    const g0 = grads[p.name];
    for (let i = 0; i < p.data.length; i++) {
      let w = p.data[i];
      let g = g0[i] * gradScale * coef * (maximize ? -1 : 1);
      if (knobs.decay === "l2") g += wd * w;
      g = Math.min(Math.max(g, -clipValue), clipValue);
      if (knobs.decay === "decoupled") w *= 1 - scaleOf(knobs.decayScale) * wd;
      if (knobs.decay === "subtract") w -= scaleOf(knobs.decayScale) * wd * w;
      if (knobs.decay === "keras") w -= w * wd * lr;
      s.m[i] = b1 * s.m[i] + (1 - b1) * g;
      s.v[i] = b2 * s.v[i] + (1 - b2) * g * g;
      let v = s.v[i];
      if (amsgrad) v = s.x[i] = Math.max(s.x[i], v);
      const decayU = knobs.decay === "update" ? wd * w : 0;
      if (knobs.eps === "torch") {
        w += (-(lr / bc1) * s.m[i]) / (Math.sqrt(v) / Math.sqrt(bc2) + eps);
      } else if (knobs.eps === "hat") {
        w -= alpha * (s.m[i] / (Math.sqrt(v) + eps) + decayU);
      } else {
        const u = s.m[i] / bc1 / (Math.sqrt(v / bc2 + epsRoot) + eps);
        if (knobs.decayScale === "multiplier" && knobs.lrAt === "numerator") w -= multiplier * (lr * u + decayU);
        else w -= lr * (u + decayU);
      }
      if (knobs.decay === "after") w -= scaleOf(knobs.decayScale) * wd * w;
      p.data[i] = w;
    }
  }
}
