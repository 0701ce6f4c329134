// Per-call and per-iteration counts of the feedback correction (src/tso/correction.ts).

export interface CorrectionStats {
  /** Pairs judged by the AI. */
  comparisons: number;
  /** Judged pairs where the AI picked the prior's favourite. */
  agreements: number;
  /** Judged pairs the AI called a tie. */
  judgeTies: number;
  /** Pairs where the AI named the other response than the prior (each one is a dispute). */
  disagreements: number;
  /** Pairs without a contradiction whose combined confidence stayed below the threshold (disputes). */
  doubtful: number;
  disputes: number;
  humanResolved: number;
  humanAgreedWithAi: number;
  /** Pairs not trained: human ties, unresolved disputes without a confident fallback, no-information pairs. */
  dropped: number;
  /** agreements / comparisons (null when nothing was judged). */
  priorAiAgreement: number | null;
  /** humanAgreedWithAi / humanResolved (null when no dispute was resolved). */
  aiHumanAgreement: number | null;
}

const COUNTS = [
  'comparisons',
  'agreements',
  'judgeTies',
  'disagreements',
  'doubtful',
  'disputes',
  'humanResolved',
  'humanAgreedWithAi',
  'dropped',
] as const;

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

export function emptyStats(): CorrectionStats {
  const s = Object.fromEntries(COUNTS.map((k) => [k, 0])) as Record<(typeof COUNTS)[number], number>;
  return { ...s, priorAiAgreement: null, aiHumanAgreement: null };
}

/** Recomputes the ratios from the counts. */
export function finishStats(s: CorrectionStats): CorrectionStats {
  return {
    ...s,
    priorAiAgreement: ratio(s.agreements, s.comparisons),
    aiHumanAgreement: ratio(s.humanAgreedWithAi, s.humanResolved),
  };
}

/** Sums two stats records (e.g. over the calls of one iteration) and recomputes the ratios. */
export function addStats(x: CorrectionStats, y: CorrectionStats): CorrectionStats {
  const s = emptyStats();
  for (const k of COUNTS) s[k] = x[k] + y[k];
  return finishStats(s);
}
