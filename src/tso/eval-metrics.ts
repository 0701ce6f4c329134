// Pure metrics of held-out evaluation (definitions at the top of src/tso/evaluate.ts).

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Fraction of true entries (0 for an empty list). */
export function exactMatchRate(exact: readonly boolean[]): number {
  return mean(exact.map((e) => (e ? 1 : 0)));
}

/** Mean length in characters (code points). */
export function meanLength(texts: readonly string[]): number {
  return mean(texts.map((t) => Array.from(t).length));
}

/**
 * Character-level distinct-n: |distinct n-grams| / |n-grams| over all texts (each text contributes
 * its own n-grams; none span two texts). 0 when no text has n characters.
 */
export function distinctN(texts: readonly string[], n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`distinct-n: n must be an integer >= 1, got ${n}`);
  const seen = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const chars = Array.from(t);
    for (let i = 0; i + n <= chars.length; i++) {
      seen.add(chars.slice(i, i + n).join(''));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** Fraction of positions where a[i] > b[i]; ties count half. */
export function winRate(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`win rate: ${a.length} scores against ${b.length}`);
  if (a.length === 0) return 0;
  let wins = 0;
  for (let i = 0; i < a.length; i++) wins += a[i] > b[i] ? 1 : a[i] === b[i] ? 0.5 : 0;
  return wins / a.length;
}

/** Mean of log π(y|x) − log π_base(y|x) over samples y ~ π: the Monte-Carlo KL(π ‖ π_base) estimate. */
export function klEstimate(policyLogProbs: readonly number[], baseLogProbs: readonly number[]): number {
  if (policyLogProbs.length !== baseLogProbs.length)
    throw new Error(`kl: ${policyLogProbs.length} policy log-probs against ${baseLogProbs.length}`);
  return mean(policyLogProbs.map((p, i) => p - baseLogProbs[i]));
}
