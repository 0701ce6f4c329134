// Per-iteration diagnostics: whether TSO's parts did their jobs in this mini-batch. Written to
// metrics.jsonl and report.json. Gold (where the task has it) is used here only to *measure* the pairs
// after they were built and trained on; nothing computed here flows back into the run.
import type { CalibratedPrior } from '../calibrated-prior.js';
import type { CorrectionStats } from '../correction.js';
import type { ScaledPair } from '../pairs.js';
import type { StepTiming, TrainPair } from './port.js';
import type { StepLog } from './train-pairs.js';

export type GoldScorer = (prompt: string, response: string) => number | undefined;

export interface PairGoldStats {
  /** Pairs with a gold score on both sides. */
  n: number;
  /** Share whose chosen side has the strictly higher gold score. */
  accuracy: number | null;
  /** Share with equal gold scores (e.g. two equally wrong answers). */
  tie_rate: number | null;
  /** Share whose rejected side is better by gold. */
  inverted_rate: number | null;
  /** Share whose chosen side is the exact answer (gold 1). */
  chosen_exact_rate: number | null;
}

export interface IterationDiagnostics {
  /** Pairs with gold on both sides (the denominator of the four rates below). */
  pair_gold_n: number;
  pair_label_accuracy: number | null;
  pair_tie_rate: number | null;
  pair_inverted_rate: number | null;
  chosen_exact_rate: number | null;
  /** The same, split by who decided the pair (prior, ai, human, fallback-*). */
  by_decider: Record<string, PairGoldStats>;
  /** Share of pairs whose chosen side is verified (gets the NLL anchor). */
  verified_rate: number | null;
  verified_accuracy: number | null;
  selected: number;
  pairs: number;
  dropped: number;
  disputes: number;
  human_labels: number;
  human_label_share: number | null;
  /** Optimizer-step means, weighted by pairs. */
  clipped_chosen: number | null;
  clipped_rejected: number | null;
  clipped_any: number | null;
  chosen_reward: number | null;
  rejected_reward: number | null;
  /** Mean per-token reference log-prob of chosen and rejected responses when the pairs were built. */
  ref_logprob_chosen_per_token: number | null;
  ref_logprob_rejected_per_token: number | null;
  /** P(source ≻ policy) under the calibrated prior after this iteration, per category ('*' = all). */
  source_win_rates: Record<string, Record<string, number>>;
  phase_wall_s: Record<string, number>;
  /**
   * Cluster runs: mean optimizer-step wall time, the slowest replica's gradient computation within it,
   * and the share of the step spent coordinating (1 − compute / wall: shard requests, gradient
   * exchange, averaging, the update, AdamW, checksums). Null in one process.
   */
  step_ms: number | null;
  step_compute_ms: number | null;
  coordination_overhead: number | null;
}

const share = (num: number, den: number) => (den === 0 ? null : num / den);
/** Byte-level tokenizer: one token per UTF-8 byte, plus EOS. */
const tokenCount = (s: string) => Buffer.byteLength(s, 'utf8') + 1;

export function pairGoldStats(pairs: readonly ScaledPair[], gold: GoldScorer | undefined): PairGoldStats {
  let n = 0;
  let right = 0;
  let tie = 0;
  let exact = 0;
  for (const p of pairs) {
    const c = gold?.(p.prompt, p.chosen.text);
    const r = gold?.(p.prompt, p.rejected.text);
    if (c === undefined || r === undefined) continue;
    n++;
    if (c > r) right++;
    else if (c === r) tie++;
    if (c === 1) exact++;
  }
  return {
    n,
    accuracy: share(right, n),
    tie_rate: share(tie, n),
    inverted_rate: share(n - right - tie, n),
    chosen_exact_rate: share(exact, n),
  };
}

function stepMean(steps: readonly StepLog[], f: (s: StepLog) => number | undefined): number | null {
  let num = 0;
  let den = 0;
  for (const s of steps) {
    const v = f(s);
    if (v === undefined || !Number.isFinite(v) || s.refused) continue;
    num += v * s.pairs;
    den += s.pairs;
  }
  return share(num, den);
}

export function iterationDiagnostics(x: {
  pairs: readonly ScaledPair[];
  trainPairs: readonly TrainPair[];
  steps: readonly StepLog[];
  stats: CorrectionStats;
  selected: number;
  prior: CalibratedPrior;
  gold?: GoldScorer;
  phaseWallS: Record<string, number>;
  stepTimings?: readonly StepTiming[];
}): IterationDiagnostics {
  const timed = x.stepTimings ?? [];
  const stepMs = timed.reduce((a, t) => a + t.stepMs, 0);
  const computeMs = timed.reduce((a, t) => a + t.computeMs, 0);
  const all = pairGoldStats(x.pairs, x.gold);
  const deciders = [...new Set(x.pairs.map((p) => p.decidedBy))].sort();
  const by_decider = Object.fromEntries(
    deciders.map((d) => [
      d,
      pairGoldStats(
        x.pairs.filter((p) => p.decidedBy === d),
        x.gold,
      ),
    ]),
  );
  const verified = x.pairs.filter((p) => p.verified);
  const perToken = (f: (p: TrainPair) => [number, string]) =>
    share(
      x.trainPairs.reduce((a, p) => a + f(p)[0] / tokenCount(f(p)[1]), 0),
      x.trainPairs.length,
    );
  const rates: Record<string, Record<string, number>> = { '*': x.prior.winRatesVs(undefined, 'policy') };
  for (const c of x.prior.categories()) rates[c] = x.prior.winRatesVs(c, 'policy');
  const m = (
    k:
      | 'fractionChosenClipped'
      | 'fractionRejectedClipped'
      | 'fractionClipped'
      | 'chosenReward'
      | 'rejectedReward',
  ) => stepMean(x.steps, (s) => s.metrics[k]);
  return {
    pair_gold_n: all.n,
    pair_label_accuracy: all.accuracy,
    pair_tie_rate: all.tie_rate,
    pair_inverted_rate: all.inverted_rate,
    chosen_exact_rate: all.chosen_exact_rate,
    by_decider,
    verified_rate: share(verified.length, x.pairs.length),
    verified_accuracy: pairGoldStats(verified, x.gold).accuracy,
    selected: x.selected,
    pairs: x.pairs.length,
    dropped: x.stats.dropped,
    disputes: x.stats.disputes,
    human_labels: x.stats.humanResolved,
    human_label_share: share(x.stats.humanResolved, x.pairs.length),
    clipped_chosen: m('fractionChosenClipped'),
    clipped_rejected: m('fractionRejectedClipped'),
    clipped_any: m('fractionClipped'),
    chosen_reward: m('chosenReward'),
    rejected_reward: m('rejectedReward'),
    ref_logprob_chosen_per_token: perToken((p) => [p.refChosen, p.chosen]),
    ref_logprob_rejected_per_token: perToken((p) => [p.refRejected, p.rejected]),
    source_win_rates: rates,
    phase_wall_s: x.phaseWallS,
    step_ms: timed.length ? stepMs / timed.length : null,
    step_compute_ms: timed.length ? computeMs / timed.length : null,
    coordination_overhead: timed.length && stepMs > 0 ? 1 - computeMs / stepMs : null,
  };
}

export interface RunDiagnostics {
  pair_label_accuracy: number | null;
  pair_tie_rate: number | null;
  pair_inverted_rate: number | null;
  chosen_exact_rate: number | null;
  verified_rate: number | null;
  human_labels: number;
  pairs: number;
  human_label_share: number | null;
  clipped_chosen: number | null;
  clipped_rejected: number | null;
}

/** Pooled over the run's iterations: rates weighted by their denominators. */
export function runDiagnostics(its: readonly IterationDiagnostics[]): RunDiagnostics {
  const pooled = (f: (d: IterationDiagnostics) => number | null, w: (d: IterationDiagnostics) => number) => {
    let num = 0;
    let den = 0;
    for (const d of its) {
      const v = f(d);
      if (v === null) continue;
      num += v * w(d);
      den += w(d);
    }
    return share(num, den);
  };
  const pairs = its.reduce((a, d) => a + d.pairs, 0);
  const human = its.reduce((a, d) => a + d.human_labels, 0);
  return {
    pair_label_accuracy: pooled(
      (d) => d.pair_label_accuracy,
      (d) => d.pair_gold_n,
    ),
    pair_tie_rate: pooled(
      (d) => d.pair_tie_rate,
      (d) => d.pair_gold_n,
    ),
    pair_inverted_rate: pooled(
      (d) => d.pair_inverted_rate,
      (d) => d.pair_gold_n,
    ),
    chosen_exact_rate: pooled(
      (d) => d.chosen_exact_rate,
      (d) => d.pair_gold_n,
    ),
    verified_rate: pooled(
      (d) => d.verified_rate,
      (d) => d.pairs,
    ),
    human_labels: human,
    pairs,
    human_label_share: share(human, pairs),
    clipped_chosen: pooled(
      (d) => d.clipped_chosen,
      (d) => d.pairs,
    ),
    clipped_rejected: pooled(
      (d) => d.clipped_rejected,
      (d) => d.pairs,
    ),
  };
}
