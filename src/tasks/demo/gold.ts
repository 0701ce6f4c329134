// The hidden gold scorer that stands in for human preference on the demo task.
//
//   goldScore = 1.0                                   if response.trim() === answer
//             = 0.5 · (1 − lev(r, answer) / max(|r|, |answer|))   otherwise, r = response.trim()
//
// lev is the Levenshtein edit distance over Unicode code points. A wrong response always scores
// < 0.5 (its distance is ≥ 1), an empty one scores 0, and the exact answer is the only way to 1.0.
import { solve } from './grammar.js';

export const PARTIAL_CREDIT_MAX = 0.5;

/** Levenshtein distance (insert/delete/substitute, cost 1 each) over code points. */
export function levenshtein(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, sub));
    }
    prev = cur;
  }
  return prev[y.length];
}

/** 1 − lev/max(len): 1 for equal strings, 0 when nothing can be kept. */
export function similarity(a: string, b: string): number {
  const n = Math.max(Array.from(a).length, Array.from(b).length);
  return n === 0 ? 1 : 1 - levenshtein(a, b) / n;
}

/** Gold score of `response` for a demo prompt; throws for prompts outside the grammar. */
export function goldScore(prompt: string, response: string): number {
  const answer = solve(prompt);
  const r = response.trim();
  if (r === answer) return 1;
  return PARTIAL_CREDIT_MAX * similarity(r, answer);
}

/** True when the response is exactly the gold answer (after trimming surrounding whitespace). */
export function isExact(prompt: string, response: string): boolean {
  return response.trim() === solve(prompt);
}
