// Prints the README's convention table from the presets themselves (node scripts/conventions-table.js).
import { conventions } from "../dist/src/index.js";

const esc = (s) => s.replace(/\|/g, "\\|");
console.log("| preset | what | math (one line) | reproduces | defaults (lr, eps, weightDecay) | decays |");
console.log("|---|---|---|---|---|---|");
for (const p of Object.values(conventions)) {
  const rule = p.decayRule ? (p.decayRule.include ? `names matching ${p.decayRule.include.join(", ")}` : `all but ${p.decayRule.exclude.join(", ")}`) : "all";
  console.log(`| \`${p.name}\` | ${esc(p.title)} | \`${esc(p.math)}\` | ${esc(p.source)} | ${p.defaults.lr}, ${p.defaults.eps}, ${p.defaults.weightDecay} | ${rule} |`);
}
