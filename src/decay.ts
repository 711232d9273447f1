// Which parameters weight decay applies to, and how much: the name rule (the preset's or the user's),
// compiled once, and the report of what the step will do per parameter (the group's value, the rule, the
// per-tensor multiplier, the convention).
import type { NameRule } from "./conventions.js";
import { fail, show } from "./errors.js";

/** A compiled name rule: whether a parameter's name lets it decay. */
export type DecayTest = (name: string, shape: readonly number[]) => boolean;

function patterns(where: string, list: unknown): RegExp[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) fail("BAD_OPTION", `${where} must be an array of strings or RegExps, got ${show(list)}`);
  return list.map((p, i) => {
    if (p instanceof RegExp) return p;
    if (typeof p !== "string") fail("BAD_OPTION", `${where}[${i}] must be a string or a RegExp, got ${show(p)}`);
    try {
      return new RegExp(p);
    } catch (e) {
      return fail("BAD_OPTION", `${where}[${i}]: ${JSON.stringify(p)} is not a valid regular expression (${(e as Error).message})`);
    }
  });
}

/**
 * The rule as a test, every pattern compiled (and checked) now. Patterns are searched in the name
 * (python's re.search); a RegExp with the g or y flag would carry lastIndex between names, so such flags
 * are dropped.
 */
export function compileRule(rule: NameRule | undefined): DecayTest {
  if (rule === undefined) return () => true;
  if (typeof rule === "function") return (name, shape) => !!rule(name, shape);
  if (typeof rule !== "object" || rule === null || Array.isArray(rule)) {
    fail("BAD_OPTION", `decayRule: expected { include?, exclude? } or a function (name, shape) => boolean, got ${show(rule)}`);
  }
  for (const k of Object.keys(rule)) {
    if (k !== "include" && k !== "exclude") fail("BAD_OPTION", `decayRule: unknown key "${k}"; known keys: include, exclude`);
  }
  const plain = (re: RegExp) => (re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, "")) : re);
  const include = rule.include === undefined ? null : patterns("decayRule.include", rule.include).map(plain);
  const exclude = patterns("decayRule.exclude", rule.exclude).map(plain);
  return (name) => (include === null || include.some((re) => re.test(name))) && !exclude.some((re) => re.test(name));
}

/** Patterns of a rule that match none of the names: usually a typo or another framework's naming. */
export function unmatchedPatterns(rule: NameRule | undefined, names: readonly string[]): string[] {
  if (!rule || typeof rule === "function") return [];
  const all = [...(rule.include ?? []), ...(rule.exclude ?? [])];
  return all.filter((p) => {
    const re = typeof p === "string" ? new RegExp(p) : new RegExp(p.source, p.flags.replace(/[gy]/g, ""));
    return !names.some((n) => re.test(n));
  }).map(String);
}

/** What the step does to one parameter's weight decay, and why. */
export interface DecayEntry {
  name: string;
  group: number;
  /** The weight decay the step applies (group value x decayMult), 0 when it applies none. */
  weightDecay: number;
  /** Why: "group 0 weightDecay 0.01", "excluded by the name rule", "group 1 has weightDecay 0", ... */
  reason: string;
}

export interface DecayReport {
  /** Parameters the step decays (effective weight decay > 0). */
  decayed: string[];
  /** Parameters it does not decay, for whatever reason (see `params`). */
  excluded: string[];
  /** Patterns of the rule that matched no parameter name: usually a typo or another framework's naming. */
  unmatchedPatterns: string[];
  /** Per parameter: the effective weight decay and why. */
  params: DecayEntry[];
}

/** One parameter's entry: its group's value, the rule's verdict, its multiplier and the convention. */
export function decayEntry(
  p: { name: string; group: number; byRule: boolean; decayMult: number },
  groupDecay: number,
  convention: { name: string; decay: string },
): DecayEntry {
  const at = { name: p.name, group: p.group };
  if (convention.decay === "none") return { ...at, weightDecay: 0, reason: `the convention "${convention.name}" applies no weight decay` };
  if (!p.byRule) return { ...at, weightDecay: 0, reason: "excluded by the name rule" };
  if (groupDecay === 0) return { ...at, weightDecay: 0, reason: `group ${p.group} has weightDecay 0` };
  if (p.decayMult === 0) return { ...at, weightDecay: 0, reason: "its decayMult is 0" };
  const mult = p.decayMult === 1 ? "" : ` x decayMult ${p.decayMult}`;
  return { ...at, weightDecay: groupDecay * p.decayMult, reason: `group ${p.group} weightDecay ${groupDecay}${mult}` };
}
