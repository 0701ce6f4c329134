// The demo task's cheap plausibility checks: what the heuristic judge sees of a response. They never
// compute the full answer (see src/judges/heuristic-judge.ts for the list and why they are partial).
import { ADD_MAX, parseTaskPrompt } from './grammar.js';
import type { ParsedPrompt } from './grammar.js';

const sortedCopy = (xs: readonly string[]): string => [...xs].sort().join('');

function sortChecks(digits: readonly number[], r: string): boolean[] {
  const tokens = r.split(/\s+/).filter((t) => t.length > 0);
  const singleDigits = tokens.every((t) => /^[0-9]$/.test(t));
  const values = tokens.map(Number);
  return [
    /^[0-9 ]+$/.test(r) && /[0-9]/.test(r),
    /^[0-9]( [0-9])*$/.test(r),
    tokens.length === digits.length,
    singleDigits && sortedCopy(tokens) === sortedCopy(digits.map(String)),
    singleDigits && tokens.length > 0 && values.every((v, i) => i === 0 || values[i - 1] <= v),
  ];
}

function revChecks(letters: string, r: string): boolean[] {
  const chars = Array.from(r);
  return [
    /^[a-z]+$/.test(r),
    chars.length === letters.length,
    sortedCopy(chars) === sortedCopy(Array.from(letters)),
    chars.length > 0 && chars[0] === letters[letters.length - 1],
    chars.length > 0 && chars[chars.length - 1] === letters[0],
  ];
}

/** The largest possible sum: the top of the add range check. */
const ADD_SUM_MAX = 2 * ADD_MAX;

function addChecks(x: number, y: number, r: string): boolean[] {
  const digitsOnly = /^[0-9]+$/.test(r);
  const value = digitsOnly ? Number(r) : NaN;
  return [
    digitsOnly,
    /^(0|[1-9][0-9]*)$/.test(r),
    digitsOnly && value >= Math.max(x, y) && value <= ADD_SUM_MAX,
    digitsOnly && value % 10 === (x + y) % 10,
  ];
}

/** Share of the cheap checks that `response` (trimmed) passes for a parsed task prompt. */
export function plausibility(parsed: ParsedPrompt, response: string): number {
  const r = response.trim();
  const checks =
    parsed.kind === 'sort'
      ? sortChecks(parsed.digits, r)
      : parsed.kind === 'rev'
        ? revChecks(parsed.letters, r)
        : addChecks(parsed.x, parsed.y, r);
  return checks.filter(Boolean).length / checks.length;
}

/** Plausibility of a response to a demo prompt, or undefined for a prompt outside the grammar. */
export function demoPlausibility(prompt: string, response: string): number | undefined {
  const parsed = parseTaskPrompt(prompt);
  return parsed ? plausibility(parsed, response) : undefined;
}
