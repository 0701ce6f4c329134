// Choosing the next token from logits: greedy, temperature, top-k, top-p. Pure JS over one row of
// logits, with an explicit seeded RNG, so a given seed always gives the same tokens.

export interface SamplingParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 disables. */
  topP: number;
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1 };

export function validateSampling(p: SamplingParams): void {
  if (!(p.temperature >= 0) || !Number.isFinite(p.temperature))
    throw new Error(`temperature must be >= 0, got ${p.temperature}`);
  if (!Number.isInteger(p.topK) || p.topK < 0)
    throw new Error(`top_k must be an integer >= 0, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`top_p must be in (0, 1], got ${p.topP}`);
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** log-softmax of one row, in float64. */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - lse;
  return out;
}

/**
 * Picks a token from one row of logits. `rand` returns uniform floats in [0, 1).
 * `banned` tokens (e.g. BOS/PAD) are never chosen.
 */
export function sampleToken(
  row: ArrayLike<number>,
  p: SamplingParams,
  rand: () => number,
  banned: readonly number[] = [],
): number {
  const logits = Float64Array.from(row as ArrayLike<number>);
  for (const b of banned) logits[b] = -Infinity;
  if (p.temperature === 0) return argmax(logits);
  for (let i = 0; i < logits.length; i++) logits[i] /= p.temperature;
  const lp = logSoftmax(logits);
  // Candidates sorted by probability (ties by token id, for determinism).
  let order = Array.from(lp.keys()).sort((a, b) => lp[b] - lp[a] || a - b);
  if (p.topK > 0) order = order.slice(0, p.topK);
  if (p.topP < 1) {
    // The nucleus is taken over the top-k-truncated distribution renormalised to sum to 1, so top_p
    // means the same fraction of probability mass whether or not top_k ran first.
    let kept = 0;
    for (const t of order) kept += Math.exp(lp[t]);
    let cum = 0;
    let keep = 0;
    while (keep < order.length && cum < p.topP * kept) cum += Math.exp(lp[order[keep++]]);
    order = order.slice(0, Math.max(1, keep));
  }
  let total = 0;
  for (const t of order) total += Math.exp(lp[t]);
  let u = rand() * total;
  for (const t of order) {
    u -= Math.exp(lp[t]);
    if (u <= 0) return t;
  }
  return order[order.length - 1];
}
