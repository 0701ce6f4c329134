// Feedback correction (DESIGN.md step 4): the prior order checked against AI verdicts, with
// confident disagreements sent to human feedback.
//
// For each pair of candidates with different tiers (a = the prior-preferred, lower tier):
//   mode 'none'      no judge: chosen = a, decidedBy 'prior' (the "no correction" ablation).
//   AI picks a       agreement: chosen = a, decidedBy 'prior'.
//   AI tie, or AI picks b with confidence < threshold: chosen = a, decidedBy 'prior'.
//   AI picks b with confidence ≥ threshold:
//     mode 'ai'        chosen = b, decidedBy 'ai' (no humans).
//     mode 'ai+human'  a dispute; all disputes of the call go to `human.label` in one batch.
//       human 'a' / 'b' → that one is chosen, decidedBy 'human'; human 'tie' → pair dropped.
//       unresolved     → fallback 'drop' | 'trust-ai' (fallback-ai) | 'trust-prior' (fallback-prior).
// The AI verdict is always the both-orders one. Same-tier and identical-text pairs are skipped.
import { compareBothOrders } from '../judges/both-orders.js';
import type { BothOrdersVerdict, Judge } from '../judges/types.js';
import { priorPrefers } from './prior.js';
import type { Candidate } from './prior.js';
import type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';

export type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';

export type CorrectionMode = 'none' | 'ai' | 'ai+human';
export type Fallback = 'drop' | 'trust-ai' | 'trust-prior';
export type DecidedBy = 'prior' | 'ai' | 'human' | 'fallback-ai' | 'fallback-prior';
/** A label re-expressed against the final pair. */
export type PairSide = 'chosen' | 'rejected' | 'tie';

export const DEFAULT_DISPUTE_THRESHOLD = 0.7;

export interface CorrectionInput {
  promptId: string;
  prompt: string;
  pairs: ReadonlyArray<readonly [Candidate, Candidate]>;
}

export interface CorrectionOptions {
  mode?: CorrectionMode;
  judge?: Judge;
  human?: HumanFeedback;
  /** AI confidence at or above which a contradiction becomes a dispute (default 0.7). */
  threshold?: number;
  fallback?: Fallback;
  /** Pairs judged at once (verdicts are placed by index, so the result does not depend on it). */
  judgeConcurrency?: number;
}

export interface PairJudgement {
  /** The judge's name. */
  judge: string;
  winner: PairSide;
  confidence: number;
  consistent: boolean;
  raw?: string;
}

export interface CorrectedPair {
  promptId: string;
  prompt: string;
  chosen: Candidate;
  rejected: Candidate;
  decidedBy: DecidedBy;
  /** The chosen candidate is the prior-preferred one. */
  priorAgrees: boolean;
  tierGap: number;
  judgeVerdict?: PairJudgement;
  humanLabel?: PairSide;
  disputeId?: string;
}

export interface DroppedPair {
  dispute: Dispute;
  reason: 'human-tie' | 'unresolved';
}

export interface CorrectionStats {
  /** Pairs judged by the AI. */
  comparisons: number;
  /** Judged pairs where the AI picked the prior's winner. */
  agreements: number;
  disputes: number;
  humanResolved: number;
  humanAgreedWithAi: number;
  dropped: number;
  /** Same-tier or identical-text pairs that were not considered. */
  skipped: number;
  /** agreements / comparisons (null when nothing was judged). */
  priorAiAgreement: number | null;
  /** humanAgreedWithAi / humanResolved (null when no dispute was resolved). */
  aiHumanAgreement: number | null;
}

export interface CorrectionResult {
  pairs: CorrectedPair[];
  disputes: Dispute[];
  dropped: DroppedPair[];
  stats: CorrectionStats;
}

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

export function emptyStats(): CorrectionStats {
  return {
    comparisons: 0,
    agreements: 0,
    disputes: 0,
    humanResolved: 0,
    humanAgreedWithAi: 0,
    dropped: 0,
    skipped: 0,
    priorAiAgreement: null,
    aiHumanAgreement: null,
  };
}

/** Sums two stats records (e.g. over the calls of one iteration) and recomputes the ratios. */
export function addStats(x: CorrectionStats, y: CorrectionStats): CorrectionStats {
  const s = emptyStats();
  for (const k of ['comparisons', 'agreements', 'disputes', 'humanResolved', 'humanAgreedWithAi'] as const) {
    s[k] = x[k] + y[k];
  }
  s.dropped = x.dropped + y.dropped;
  s.skipped = x.skipped + y.skipped;
  s.priorAiAgreement = ratio(s.agreements, s.comparisons);
  s.aiHumanAgreement = ratio(s.humanAgreedWithAi, s.humanResolved);
  return s;
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

/** The both-orders verdict on (a, b) re-expressed against the final (chosen, rejected). */
function judgementFor(judge: string, v: BothOrdersVerdict, chosenIsA: boolean): PairJudgement {
  const side: PairSide =
    v.winner === 'tie' ? 'tie' : (v.winner === 'a') === chosenIsA ? 'chosen' : 'rejected';
  const j: PairJudgement = { judge, winner: side, confidence: v.confidence, consistent: v.consistent };
  if (v.raw !== undefined) j.raw = v.raw;
  return j;
}

interface Job {
  input: CorrectionInput;
  a: Candidate;
  b: Candidate;
}

/** Corrects the prior order of the given pairs; deterministic for deterministic judge and human sources. */
export async function correctPairs(
  inputs: readonly CorrectionInput[],
  options: CorrectionOptions = {},
): Promise<CorrectionResult> {
  const mode = options.mode ?? 'ai+human';
  const threshold = options.threshold ?? DEFAULT_DISPUTE_THRESHOLD;
  const fallback = options.fallback ?? 'drop';
  if (!(threshold >= 0 && threshold <= 1))
    throw new Error(`correction: threshold must be in [0, 1], got ${threshold}`);
  if (mode !== 'none' && !options.judge) throw new Error(`correction: mode '${mode}' needs a judge`);

  const stats = emptyStats();
  const jobs: Job[] = [];
  for (const input of inputs) {
    for (const [x, y] of input.pairs) {
      const pref = priorPrefers(x, y);
      if (pref === 'tie' || x.text.trim() === y.text.trim()) {
        stats.skipped++;
        continue;
      }
      jobs.push(pref === 'a' ? { input, a: x, b: y } : { input, a: y, b: x });
    }
  }
  const base = (j: Job, chosenIsA: boolean) => ({
    promptId: j.input.promptId,
    prompt: j.input.prompt,
    chosen: chosenIsA ? j.a : j.b,
    rejected: chosenIsA ? j.b : j.a,
    priorAgrees: chosenIsA,
    tierGap: j.b.tier - j.a.tier,
  });
  if (mode === 'none') {
    return {
      pairs: jobs.map((j) => ({ ...base(j, true), decidedBy: 'prior' }) as const),
      disputes: [],
      dropped: [],
      stats,
    };
  }

  const judge = options.judge as Judge;
  const verdicts = await mapPool(jobs, options.judgeConcurrency ?? 4, (j) =>
    compareBothOrders(judge, j.input.prompt, j.a.text, j.b.text),
  );
  // A kept pair, with the judge's verdict re-expressed against it.
  const decide = (
    i: number,
    chosenIsA: boolean,
    decidedBy: DecidedBy,
    extra: Partial<CorrectedPair> = {},
  ) => ({
    ...base(jobs[i], chosenIsA),
    decidedBy,
    judgeVerdict: judgementFor(judge.name, verdicts[i], chosenIsA),
    ...extra,
  });
  const pairs: (CorrectedPair | undefined)[] = [];
  const disputes: Dispute[] = [];
  const disputeJob = new Map<string, number>();
  jobs.forEach((j, i) => {
    const v = verdicts[i];
    stats.comparisons++;
    if (v.winner === 'a') stats.agreements++;
    if (v.winner === 'b' && v.confidence >= threshold) {
      if (mode === 'ai') {
        pairs.push(decide(i, false, 'ai'));
        return;
      }
      const id = `${j.input.promptId}:${j.a.id}|${j.b.id}`;
      if (disputeJob.has(id)) throw new Error(`correction: pair ${id} appears twice`);
      disputeJob.set(id, i);
      disputes.push({
        id,
        promptId: j.input.promptId,
        prompt: j.input.prompt,
        a: j.a,
        b: j.b,
        ai: { winner: v.winner, confidence: v.confidence },
      });
      pairs.push(undefined); // placeholder: resolved below, keeping input order
      return;
    }
    pairs.push(decide(i, true, 'prior'));
  });
  stats.disputes = disputes.length;

  const labels =
    disputes.length > 0 && options.human
      ? await options.human.label(disputes)
      : new Map<string, HumanLabel | undefined>();
  const dropped: DroppedPair[] = [];
  for (const d of disputes) {
    const i = disputeJob.get(d.id) as number;
    const label = labels.get(d.id);
    if (label !== undefined && label !== 'a' && label !== 'b' && label !== 'tie') {
      throw new Error(
        `correction: human label for ${d.id} must be 'a', 'b' or 'tie', got ${JSON.stringify(label)}`,
      );
    }
    if (label !== undefined) {
      stats.humanResolved++;
      if (label === 'b') stats.humanAgreedWithAi++;
      if (label === 'tie') {
        dropped.push({ dispute: d, reason: 'human-tie' });
        continue;
      }
      pairs[i] = decide(i, label === 'a', 'human', { humanLabel: 'chosen', disputeId: d.id });
    } else if (fallback === 'drop') {
      dropped.push({ dispute: d, reason: 'unresolved' });
    } else {
      const trustPrior = fallback === 'trust-prior';
      pairs[i] = decide(i, trustPrior, trustPrior ? 'fallback-prior' : 'fallback-ai', { disputeId: d.id });
    }
  }
  stats.dropped = dropped.length;
  stats.priorAiAgreement = ratio(stats.agreements, stats.comparisons);
  stats.aiHumanAgreement = ratio(stats.humanAgreedWithAi, stats.humanResolved);
  return { pairs: pairs.filter((p): p is CorrectedPair => p !== undefined), disputes, dropped, stats };
}
