// Scaled pairs (DESIGN.md step 5): which pairs of a prompt's candidates to train, and how much
// each one counts.
//
// Selection: candidates are ranked by tier (stable); every higher-ranked candidate is paired with
// every strictly lower-ranked one whose trimmed text differs. If that gives more than
// `maxPairsPerPrompt`, a subset of that size is drawn with the seeded RNG; the result is returned
// in ranking order. These pairs then go through correction, which may swap or drop them.
//
// Weight (the "scale"):
//
//     w = min(wMax, 1 + α·(g − 1)) · (0.5 + 0.5·c)
//
//   g  tier gap |tier(chosen) − tier(rejected)| ≥ 1 when the final order agrees with the prior;
//      g = 1 when correction reversed the prior (the tiers are then no evidence of a margin).
//   c  confidence that chosen ≻ rejected, in [0, 1]:
//        decided by a human, or no judge was asked (no-correction mode)  → 1
//        otherwise the both-orders judge confidence if the judge named the chosen response, else 0
//        (so 'fallback-prior' pairs and pairs the judge called a tie get the minimum factor 0.5).
//   Defaults α = 0.5, wMax = 2. So w = 1 for adjacent tiers at full confidence, w grows linearly
//   with the gap until wMax, grows with c, and always lies in [0.5, wMax]: bounded, monotonic, and
//   a judge can at most halve a pair's weight, never zero or invert it.
import type { PreferencePair, ResponseLineage } from '../data/formats.js';
import type { Rng } from './rng.js';
import type { CorrectedPair } from './correction.js';
import type { Candidate } from './prior.js';

export const DEFAULT_WEIGHT_ALPHA = 0.5;
export const DEFAULT_MAX_WEIGHT = 2;

export interface PairSelectionOptions {
  maxPairsPerPrompt: number;
  rng: Rng;
}

export interface WeightOptions {
  alpha?: number;
  maxWeight?: number;
}

export interface ScaledPair extends CorrectedPair {
  weight: number;
  /** The c used in the weight. */
  confidence: number;
  /** The chosen response is verified (human-written, human-labelled or confidently judged). */
  verified: boolean;
}

/** Pairs to train for one prompt, as [prior-preferred, other]; see the header for the rule. */
export function selectPairs(
  candidates: readonly Candidate[],
  options: PairSelectionOptions,
): Array<[Candidate, Candidate]> {
  const max = options.maxPairsPerPrompt;
  if (!Number.isInteger(max) || max < 0)
    throw new Error(`pairs: maxPairsPerPrompt must be an integer ≥ 0, got ${max}`);
  const ranked = [...candidates].sort((x, y) => x.tier - y.tier);
  const all: Array<[Candidate, Candidate]> = [];
  for (let i = 0; i < ranked.length; i++) {
    for (let j = i + 1; j < ranked.length; j++) {
      const [hi, lo] = [ranked[i], ranked[j]];
      if (hi.tier < lo.tier && hi.text.trim() !== lo.text.trim()) all.push([hi, lo]);
    }
  }
  if (all.length <= max) return all;
  const picked = options.rng
    .shuffle(all.map((_, i) => i))
    .slice(0, max)
    .sort((x, y) => x - y);
  return picked.map((i) => all[i]);
}

function checkWeightOptions(o: WeightOptions): { alpha: number; maxWeight: number } {
  const alpha = o.alpha ?? DEFAULT_WEIGHT_ALPHA;
  const maxWeight = o.maxWeight ?? DEFAULT_MAX_WEIGHT;
  if (!(alpha >= 0 && Number.isFinite(alpha)))
    throw new Error(`pairs: alpha must be finite and ≥ 0, got ${alpha}`);
  if (!(maxWeight >= 1 && Number.isFinite(maxWeight)))
    throw new Error(`pairs: maxWeight must be finite and ≥ 1, got ${maxWeight}`);
  return { alpha, maxWeight };
}

/** w = min(wMax, 1 + α·(gap − 1)) · (0.5 + 0.5·confidence); see the header. */
export function pairWeight(gap: number, confidence: number, options: WeightOptions = {}): number {
  const { alpha, maxWeight } = checkWeightOptions(options);
  if (!(gap >= 1 && Number.isFinite(gap)))
    throw new Error(`pairs: tier gap must be finite and ≥ 1, got ${gap}`);
  if (!(confidence >= 0 && confidence <= 1))
    throw new Error(`pairs: confidence must be in [0, 1], got ${confidence}`);
  return Math.min(maxWeight, 1 + alpha * (gap - 1)) * (0.5 + 0.5 * confidence);
}

/** The c of the weight rule for a corrected pair. */
export function pairConfidence(p: CorrectedPair): number {
  if (p.decidedBy === 'human' || p.judgeVerdict === undefined) return 1;
  return p.judgeVerdict.winner === 'chosen' ? p.judgeVerdict.confidence : 0;
}

/** Weights corrected pairs (identical-text pairs are skipped), keeping their order. */
export function scalePairs(pairs: readonly CorrectedPair[], options: WeightOptions = {}): ScaledPair[] {
  checkWeightOptions(options);
  return pairs
    .filter((p) => p.chosen.text.trim() !== p.rejected.text.trim())
    .map((p) => {
      const confidence = pairConfidence(p);
      const gap = p.priorAgrees ? p.tierGap : 1;
      return { ...p, confidence, weight: pairWeight(gap, confidence, options), verified: false };
    });
}

function responseLineage(c: Candidate): ResponseLineage {
  const l: ResponseLineage = { source: c.source, tier: c.tier };
  if (c.node !== undefined) l.node = c.node;
  if (c.model !== undefined) l.model = c.model;
  if (c.weightVersion !== undefined) l.weight_version = c.weightVersion;
  if (c.sampling?.temperature !== undefined) l.temperature = c.sampling.temperature;
  if (c.sampling?.topK !== undefined) l.top_k = c.sampling.topK;
  if (c.sampling?.topP !== undefined) l.top_p = c.sampling.topP;
  if (c.seed !== undefined) l.seed = c.seed;
  return l;
}

export interface RowContext {
  iteration: number;
  minibatch?: number;
}

/**
 * The exported JSONL row (src/data/formats.ts `PreferencePair`): `{id, prompt, chosen, rejected,
 * weight, lineage}` plus the loose columns `decided_by` and `tier_gap`. The judge verdict is
 * written in the (chosen, rejected) frame: 'a' = chosen, 'b' = rejected. `human_label` is 'chosen'
 * when a human decided, null when a dispute went unresolved (a fallback decided), else absent.
 */
export function toPreferenceRow(p: ScaledPair, ctx: RowContext): PreferencePair {
  const lineage: NonNullable<PreferencePair['lineage']> = {
    chosen: responseLineage(p.chosen),
    rejected: responseLineage(p.rejected),
    iteration: ctx.iteration,
  };
  if (ctx.minibatch !== undefined) lineage.minibatch = ctx.minibatch;
  if (p.judgeVerdict) {
    const w = p.judgeVerdict.winner;
    lineage.judge = {
      verdict: w === 'chosen' ? 'a' : w === 'rejected' ? 'b' : 'tie',
      confidence: p.judgeVerdict.confidence,
      judge: p.judgeVerdict.judge,
    };
  }
  if (p.decidedBy === 'human') lineage.human_label = 'chosen';
  else if (p.disputeId !== undefined) lineage.human_label = null;
  return {
    id: `${p.promptId}:${p.chosen.id}>${p.rejected.id}`,
    prompt: p.prompt,
    chosen: p.chosen.text,
    rejected: p.rejected.text,
    weight: p.weight,
    lineage,
    decided_by: p.decidedBy,
    tier_gap: p.tierGap,
  };
}
