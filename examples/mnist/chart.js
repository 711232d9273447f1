// A line chart as an SVG string: no dependencies, no network, usable from Node (the HTML report) and the
// browser demo (redrawn as training goes).

export const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** Round tick values covering [lo, hi]. */
function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(+v.toPrecision(12));
  return out;
}

const fmt = (v) => (Number.isInteger(v) && Math.abs(v) < 1e6 ? String(v) : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(0) : +v.toPrecision(3) + "");

/**
 * @param {object} o
 * @param {string} o.title
 * @param {{ name: string, color?: string, points: [number, number][] }[]} o.series
 * @param {string} [o.xLabel]
 * @param {boolean} [o.logY] logarithmic y axis (values must be > 0)
 * @param {number} [o.yMin] @param {number} [o.yMax] fixed y range
 * @param {number} [o.width] @param {number} [o.height]
 */
export function lineChart(o) {
  const W = o.width ?? 460, H = o.height ?? 300;
  // Legend: one row of items under the title, wrapping; the plot starts below it.
  const legend = [];
  let lx = 52, ly = 34;
  for (const [i, sr] of o.series.entries()) {
    const w = 34 + 6.6 * sr.name.length;
    if (lx + w > W - 12 && lx > 52) [lx, ly] = [52, ly + 15];
    legend.push([lx, ly, sr.color ?? COLORS[i % COLORS.length], sr.name]);
    lx += w;
  }
  const L = 52, R = 12, T = o.series.length ? ly + 10 : 28, B = 40;
  const tf = o.logY ? (v) => Math.log10(v) : (v) => v;
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  let y0 = o.yMin ?? Math.min(...pts.map((p) => tf(p[1]))), y1 = o.yMax ?? Math.max(...pts.map((p) => tf(p[1])));
  if (!pts.length) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  if (!o.logY && o.yMin === undefined) {
    const pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
  }
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (tf(y) - y0) / (y1 - y0)) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="11" role="img" aria-label="${esc(o.title)}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L}" y="16" font-size="13" font-weight="600">${esc(o.title)}</text>`,
  ];
  // Log axes: decades, plus 2x and 5x when the range spans less than three decades.
  const logTicks = () => {
    const out = [];
    const mults = y1 - y0 < 3 ? [1, 2, 5] : [1];
    for (let d = Math.floor(y0); d <= Math.ceil(y1); d++) for (const m of mults) out.push(Math.log10(m) + d);
    return out.filter((t) => t >= y0 - 1e-9 && t <= y1 + 1e-9);
  };
  const yt = o.logY ? logTicks() : ticks(y0, y1);
  for (const t of yt) {
    const v = o.logY ? +(10 ** t).toPrecision(6) : t;
    const y = sy(v);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${L - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    const x = sx(t);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${H - B}" y2="${H - B + 4}" stroke="#888"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${H - B + 16}" text-anchor="middle" fill="#555">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#888"/>`);
  if (o.xLabel) parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" fill="#333">${esc(o.xLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const d = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0))
      .map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(Math.min(Math.max(y, o.logY ? 10 ** y0 : y0), o.logY ? 10 ** y1 : y1)).toFixed(1)}`)
      .join("");
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8" stroke-linejoin="round"/>`);
  });
  for (const [x, y, color, name] of legend) {
    parts.push(`<line x1="${x}" x2="${x + 16}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${x + 20}" y="${y}" fill="#222">${esc(name)}</text>`);
  }
  parts.push("</svg>");
  return parts.join("");
}
