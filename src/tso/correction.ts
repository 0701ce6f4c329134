// Feedback correction: every selected pair's calibrated prior is combined with the AI judge's
// both-orders verdict, and the pairs where the two conflict or the result is doubtful go to human
// feedback, most informative first, as far as the human budget goes.
//
// For a pair (a, b) with prior P₀ = P(a ≻ b) ≥ 0.5 and a judge verdict (winner, confidence c):
//   ℓ = logit(P₀) + κ · s · logit(q),  q = clamp(c, 0.5, 0.99),  s = +1 (judge names a), −1 (b), 0 (tie)
//   P = σ(ℓ) is the posterior that a is better; the pair's confidence is max(P, 1 − P).
// A pair is decided automatically by P when the judge does not contradict the prior and the confidence
// reaches `threshold` (chosen = a, decidedBy 'prior'; or, where the prior has no opinion, P₀ = 0.5, the
// judge's pick, decidedBy 'ai'). Otherwise it is a dispute:
//   disagreement   the judge names b (whatever either confidence: a weak contradiction is doubt too);
//   doubtful       the judge ties or agrees, but the confidence stays below `threshold`.
// Disputes are offered to the human source ordered by how much a label is worth: disagreements first,
// the strongest conflicts (min(logit P₀, |judge term|)) first among them; then doubtful pairs, the most
// uncertain first. A human 'a'/'b' decides (confidence 1), 'tie' drops the pair. An unresolved dispute
// follows `fallback`:
//   posterior      (default) decided by P when its confidence reaches `threshold`, else dropped;
//   drop | trust-ai (the judge's pick; a judge tie drops) | trust-prior (a).
// mode 'none' (ablation) keeps every pair with P₀ > 0.5 in the prior's order; mode 'ai' asks no human.
// Nothing here sees gold: the prior comes from tiers and earlier verdicts, the rest from the judge and
// the human source.
import { compareBothOrders } from '../judges/both-orders.js';
import type { BothOrdersVerdict, Judge } from '../judges/types.js';
import { logit, sigmoid } from './calibrated-prior.js';
import { emptyStats, finishStats, type CorrectionStats } from './correction-stats.js';
import type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';
import type { SelectedPair } from './pairs.js';
import type { Candidate } from './prior.js';

export type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';
export { addStats, emptyStats, type CorrectionStats } from './correction-stats.js';

export type CorrectionMode = 'none' | 'ai' | 'ai+human';
export type Fallback = 'posterior' | 'drop' | 'trust-ai' | 'trust-prior';
export type DecidedBy = 'prior' | 'ai' | 'human' | 'fallback-ai' | 'fallback-prior';
/** A label re-expressed against the final pair. */
export type PairSide = 'chosen' | 'rejected' | 'tie';

export const DEFAULT_DISPUTE_THRESHOLD = 0.7;
const Q_MAX = 0.99;

export interface CorrectionInput {
  promptId: string;
  prompt: string;
  /** Task category (e.g. the kind of prompt), for the prior's per-category evidence. */
  category?: string;
  pairs: readonly SelectedPair[];
}

export interface CorrectionOptions {
  mode?: CorrectionMode;
  judge?: Judge;
  human?: HumanFeedback;
  /** Confidence at or above which a pair is decided without a human (default 0.7). */
  threshold?: number;
  fallback?: Fallback;
  /** κ: weight of the judge's log-odds against the prior's (default 1). */
  judgeWeight?: number;
  /** Pairs judged at once (verdicts are placed by index, so the result does not depend on it). */
  judgeConcurrency?: number;
}

export interface PairJudgement {
  judge: string;
  winner: PairSide;
  confidence: number;
  consistent: boolean;
  raw?: string;
}

export interface CorrectedPair {
  promptId: string;
  prompt: string;
  category?: string;
  chosen: Candidate;
  rejected: Candidate;
  decidedBy: DecidedBy;
  /** The chosen candidate is the prior-preferred one. */
  priorAgrees: boolean;
  /** P(chosen ≻ rejected) under the calibrated prior alone. */
  priorChosen: number;
  /** The chosen side is its prompt's best-ranked candidate. */
  chosenIsTop?: boolean;
  /** The final confidence P(chosen ≻ rejected): posterior, or 1 for a human decision. */
  confidence: number;
  judgeVerdict?: PairJudgement;
  humanLabel?: PairSide;
  disputeId?: string;
}

/** Evidence for the calibrated prior: `winner` beat `loser` by this feedback. */
export interface Observation {
  category?: string;
  winner: Candidate;
  loser: Candidate;
  by: 'ai' | 'human';
  confidence: number;
}

export interface CorrectionResult {
  pairs: CorrectedPair[];
  disputes: Dispute[];
  observations: Observation[];
  stats: CorrectionStats;
}

async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function judgementFor(judge: string, v: BothOrdersVerdict, chosenIsA: boolean): PairJudgement {
  const side: PairSide =
    v.winner === 'tie' ? 'tie' : (v.winner === 'a') === chosenIsA ? 'chosen' : 'rejected';
  const j: PairJudgement = { judge, winner: side, confidence: v.confidence, consistent: v.consistent };
  if (v.raw !== undefined) j.raw = v.raw;
  return j;
}

interface Job {
  input: CorrectionInput;
  pair: SelectedPair;
  verdict?: BothOrdersVerdict;
  /** Log-odds that a ≻ b: prior term and judge term. */
  lPrior: number;
  lJudge: number;
}

const clampP = (p: number) => Math.min(Q_MAX, Math.max(0.5, p));
const posterior = (j: Job) => sigmoid(j.lPrior + j.lJudge);
const confidenceOf = (p: number) => Math.max(p, 1 - p);

/** Corrects the given pairs; deterministic for deterministic judge and human sources. */
export async function correctPairs(
  inputs: readonly CorrectionInput[],
  options: CorrectionOptions = {},
): Promise<CorrectionResult> {
  const mode = options.mode ?? 'ai+human';
  const threshold = options.threshold ?? DEFAULT_DISPUTE_THRESHOLD;
  const fallback = options.fallback ?? 'posterior';
  const kappa = options.judgeWeight ?? 1;
  if (!(threshold > 0.5 && threshold < 1))
    throw new Error(`correction: threshold must be in (0.5, 1), got ${threshold}`);
  if (!(kappa >= 0 && Number.isFinite(kappa)))
    throw new Error(`correction: judgeWeight must be finite and ≥ 0, got ${kappa}`);
  if (mode !== 'none' && !options.judge) throw new Error(`correction: mode '${mode}' needs a judge`);
  const stats = emptyStats();
  const jobs: Job[] = inputs.flatMap((input) =>
    input.pairs.map((pair) => ({ input, pair, lPrior: logit(clampP(pair.prior)), lJudge: 0 })),
  );
  const base = (j: Job, chosenIsA: boolean, decidedBy: DecidedBy, confidence: number): CorrectedPair => {
    const out: CorrectedPair = {
      promptId: j.input.promptId,
      prompt: j.input.prompt,
      chosen: chosenIsA ? j.pair.a : j.pair.b,
      rejected: chosenIsA ? j.pair.b : j.pair.a,
      decidedBy,
      priorAgrees: chosenIsA,
      priorChosen: chosenIsA ? j.pair.prior : 1 - j.pair.prior,
      confidence,
    };
    if (chosenIsA && j.pair.top) out.chosenIsTop = true;
    if (j.input.category !== undefined) out.category = j.input.category;
    if (j.verdict && options.judge) out.judgeVerdict = judgementFor(options.judge.name, j.verdict, chosenIsA);
    return out;
  };
  if (mode === 'none') {
    const pairs = jobs.filter((j) => j.pair.prior > 0.5).map((j) => base(j, true, 'prior', j.pair.prior));
    stats.dropped = jobs.length - pairs.length;
    return { pairs, disputes: [], observations: [], stats: finishStats(stats) };
  }

  const judge = options.judge as Judge;
  const verdicts = await mapPool(jobs, options.judgeConcurrency ?? 4, (j) =>
    compareBothOrders(judge, j.input.prompt, j.pair.a.text, j.pair.b.text),
  );
  const observations: Observation[] = [];
  const decided: (CorrectedPair | undefined)[] = new Array(jobs.length);
  const disputes: { i: number; priority: number; d: Dispute }[] = [];
  jobs.forEach((j, i) => {
    const v = verdicts[i];
    j.verdict = v;
    stats.comparisons++;
    const s = v.winner === 'a' ? 1 : v.winner === 'b' ? -1 : 0;
    j.lJudge = kappa * s * logit(clampP(v.confidence));
    if (s === 1) stats.agreements++;
    if (s === 0) stats.judgeTies++;
    if (s !== 0) {
      const [winner, loser] = s === 1 ? [j.pair.a, j.pair.b] : [j.pair.b, j.pair.a];
      observations.push({ category: j.input.category, winner, loser, by: 'ai', confidence: v.confidence });
    }
    const p = posterior(j);
    const disagreement = s === -1 && j.pair.prior > 0.5;
    if (!disagreement && confidenceOf(p) >= threshold) {
      // Without a contradiction the posterior decides; with no prior information (P₀ = 0.5, e.g. two
      // samples of one source) that is the judge's pick.
      decided[i] = base(j, p >= 0.5, p >= 0.5 ? 'prior' : 'ai', confidenceOf(p));
      return;
    }
    if (disagreement) stats.disagreements++;
    else stats.doubtful++;
    const priority = disagreement
      ? 1e3 + Math.min(j.lPrior, Math.abs(j.lJudge))
      : -Math.abs(j.lPrior + j.lJudge);
    const id = `${j.input.promptId}:${j.pair.a.id}|${j.pair.b.id}`;
    disputes.push({
      i,
      priority,
      d: {
        id,
        promptId: j.input.promptId,
        prompt: j.input.prompt,
        a: j.pair.a,
        b: j.pair.b,
        ai: { winner: v.winner, confidence: v.confidence },
        prior: j.pair.prior,
      },
    });
  });
  // Stable: equal priorities keep the input order.
  disputes.sort((x, y) => y.priority - x.priority);
  const ids = new Set<string>();
  for (const { d } of disputes) {
    if (ids.has(d.id)) throw new Error(`correction: pair ${d.id} appears twice`);
    ids.add(d.id);
  }
  stats.disputes = disputes.length;
  const labels =
    disputes.length > 0 && mode === 'ai+human' && options.human
      ? await options.human.label(disputes.map((x) => x.d))
      : new Map<string, HumanLabel | undefined>();
  for (const { i, d } of disputes) {
    const j = jobs[i];
    const label = labels.get(d.id);
    if (label !== undefined && label !== 'a' && label !== 'b' && label !== 'tie') {
      throw new Error(
        `correction: human label for ${d.id} must be 'a', 'b' or 'tie', got ${JSON.stringify(label)}`,
      );
    }
    if (label !== undefined) {
      stats.humanResolved++;
      if (label !== 'tie' && label === j.verdict?.winner) stats.humanAgreedWithAi++;
      if (label === 'tie') {
        stats.dropped++;
        continue;
      }
      const [winner, loser] = label === 'a' ? [j.pair.a, j.pair.b] : [j.pair.b, j.pair.a];
      observations.push({ category: j.input.category, winner, loser, by: 'human', confidence: 1 });
      decided[i] = { ...base(j, label === 'a', 'human', 1), humanLabel: 'chosen', disputeId: d.id };
      continue;
    }
    const p = posterior(j);
    const w = j.verdict?.winner;
    let pick: { a: boolean; by: DecidedBy; conf: number } | undefined;
    if (fallback === 'posterior' && confidenceOf(p) >= threshold) {
      pick = { a: p >= 0.5, by: p >= 0.5 ? 'prior' : 'ai', conf: confidenceOf(p) };
    } else if (fallback === 'trust-ai' && (w === 'a' || w === 'b')) {
      pick = { a: w === 'a', by: 'fallback-ai', conf: Math.max(threshold, clampP(j.verdict!.confidence)) };
    } else if (fallback === 'trust-prior') {
      pick = { a: true, by: 'fallback-prior', conf: Math.max(threshold, clampP(j.pair.prior)) };
    }
    if (!pick) {
      stats.dropped++;
      continue;
    }
    decided[i] = { ...base(j, pick.a, pick.by, pick.conf), disputeId: d.id };
  }
  return {
    pairs: decided.filter((p): p is CorrectedPair => p !== undefined),
    disputes: disputes.map((x) => x.d),
    observations,
    stats: finishStats(stats),
  };
}
