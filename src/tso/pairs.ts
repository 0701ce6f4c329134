// Scaled pairs: which pairs of a prompt's candidates to train, how much each counts, and whether its
// chosen side is verified enough to anchor with an NLL term.
//
// Selection (`selectPairs`), per prompt, over the deduplicated candidates ranked by their calibrated
// prior score (src/tso/calibrated-prior.ts; ties keep first appearance):
//   1. best vs every one of the policy's own samples, worst first — on-policy rejected responses are
//      the mistakes the policy actually makes, the contrast DPO learns most from;
//   2. best vs worst, then the runner-up vs worst;
//   3. best vs the rest, bottom up;
// skipping pairs already taken, until `maxPairsPerPrompt`. A candidate that is a near-duplicate of a
// better-ranked one (equal after folding whitespace runs and case) is left out: it is the same answer. Each pair is oriented (prior-preferred, other) and
// carries the prior probability P(first ≻ second) ≥ 0.5; correction then confirms, flips or drops it.
//
// Weight (`pairWeight`): from the final confidence P that chosen ≻ rejected — the calibrated prior
// combined with the judge, or 1 for a human decision (src/tso/correction.ts):
//
//     w = min(wMax, (2P − 1) / (2·threshold − 1))
//
// so a pair decided exactly at the correction threshold weighs 1, a more certain one more, a human-
// decided one wMax (default 2). `scale: false` (ablation) sets every weight to 1.
//
// Verified (`isVerified`): the chosen response was written by a human, chosen by a human label, or is
// its prompt's best-ranked candidate, named by the judge (consistently in both orders) in a pair whose
// final confidence — the calibrated prior and the judge combined — is ≥ `anchorConfidence` (default
// 0.9). Only the best candidate qualifies: the chosen side of runner-up vs worst is better, not good. A judge alone rarely is that
// sure (the heuristic judge gives 0.6 to a right sort against a wrong one), while a right answer that
// two strong sources wrote and the judge prefers is. Only verified chosen responses get the NLL anchor.
import type { PreferencePair, ResponseLineage } from '../data/formats.js';
import type { CorrectedPair } from './correction.js';
import { sourcesOf, type Candidate } from './prior.js';

export const DEFAULT_MAX_WEIGHT = 2;
export const DEFAULT_ANCHOR_CONFIDENCE = 0.9;

/** A candidate with its prior log-strength (higher = preferred). */
export interface ScoredCandidate {
  cand: Candidate;
  score: number;
}

export interface SelectedPair {
  /** The prior-preferred side. */
  a: Candidate;
  b: Candidate;
  /** P(a ≻ b) under the calibrated prior, ≥ 0.5. */
  prior: number;
  /** `a` is its prompt's best-ranked candidate (only such an answer can be verified as good, not just better). */
  top?: boolean;
}

export interface ScaledPair extends CorrectedPair {
  weight: number;
  /** The final confidence P(chosen ≻ rejected) used in the weight. */
  confidence: number;
  /** The chosen response is verified (human-written, human-labelled or confidently judged). */
  verified: boolean;
}

/** Texts that differ only in whitespace runs or case. */
export function nearDuplicate(x: string, y: string): boolean {
  const fold = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return fold(x) === fold(y);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Pairs to train for one prompt (see the header for the rule). */
export function selectPairs(scored: readonly ScoredCandidate[], maxPairsPerPrompt: number): SelectedPair[] {
  if (!Number.isInteger(maxPairsPerPrompt) || maxPairsPerPrompt < 0)
    throw new Error(`pairs: maxPairsPerPrompt must be an integer ≥ 0, got ${maxPairsPerPrompt}`);
  // A near-duplicate of a better-ranked candidate is the same answer: it is left out altogether.
  const ranked = scored
    .map((s, i) => ({ ...s, i }))
    .sort((x, y) => y.score - x.score || x.i - y.i)
    .filter((c, k, all) => !all.slice(0, k).some((b) => nearDuplicate(b.cand.text, c.cand.text)));
  if (ranked.length < 2) return [];
  const worst = ranked[ranked.length - 1];
  const order: Array<[number, number]> = [];
  const idx = (r: (typeof ranked)[number]) => ranked.indexOf(r);
  for (let k = ranked.length - 1; k > 0; k--) {
    if (sourcesOf(ranked[k].cand).includes('policy')) order.push([0, k]);
  }
  order.push([0, idx(worst)]);
  if (ranked.length > 2) order.push([1, idx(worst)]);
  for (let k = ranked.length - 1; k > 0; k--) order.push([0, k]);
  const out: SelectedPair[] = [];
  const taken = new Set<string>();
  for (const [i, j] of order) {
    if (out.length >= maxPairsPerPrompt) break;
    const key = `${i}/${j}`;
    if (taken.has(key) || i === j) continue;
    taken.add(key);
    const [hi, lo] = [ranked[i], ranked[j]];
    out.push({ a: hi.cand, b: lo.cand, prior: sigmoid(hi.score - lo.score), top: i === 0 });
  }
  return out;
}

/**
 * The sft-distill baseline's pairs: one per prompt, chosen = the best matrix answer by configured tier
 * (first appearance among equals), rejected = the policy's first different sample (else any other
 * candidate, else the chosen itself: an SFT loss ignores the rejected side).
 */
export function bestMatrixPair(cands: readonly Candidate[]): SelectedPair | undefined {
  const gens = cands.filter((c) => c.source === 'generator');
  if (gens.length === 0) return undefined;
  const chosen = gens.reduce((b, c) => (c.tier < b.tier ? c : b));
  const others = cands.filter((c) => c !== chosen && !nearDuplicate(c.text, chosen.text));
  const rejected = others.find((c) => c.source === 'policy') ?? others[0] ?? chosen;
  return { a: chosen, b: rejected, prior: 1 };
}

export interface WeightOptions {
  maxWeight?: number;
  /** The correction threshold: a pair decided at exactly this confidence weighs 1. */
  threshold: number;
}

/** w = min(wMax, (2P − 1)/(2·threshold − 1)); see the header. */
export function pairWeight(confidence: number, o: WeightOptions): number {
  const maxWeight = o.maxWeight ?? DEFAULT_MAX_WEIGHT;
  if (!(maxWeight >= 1 && Number.isFinite(maxWeight)))
    throw new Error(`pairs: maxWeight must be finite and ≥ 1, got ${maxWeight}`);
  if (!(o.threshold > 0.5 && o.threshold < 1))
    throw new Error(`pairs: threshold must be in (0.5, 1), got ${o.threshold}`);
  if (!(confidence >= 0.5 && confidence <= 1))
    throw new Error(`pairs: confidence must be in [0.5, 1], got ${confidence}`);
  return Math.min(maxWeight, (2 * confidence - 1) / (2 * o.threshold - 1));
}

export function isVerified(p: CorrectedPair, anchorConfidence = DEFAULT_ANCHOR_CONFIDENCE): boolean {
  if (p.decidedBy === 'human' || sourcesOf(p.chosen).includes('human')) return true;
  const v = p.judgeVerdict;
  return (
    p.chosenIsTop === true &&
    v !== undefined &&
    v.winner === 'chosen' &&
    v.consistent &&
    p.confidence >= anchorConfidence
  );
}

export interface ScaleOptions extends WeightOptions {
  /** false: every weight is 1 (the no-scale ablation). */
  scale?: boolean;
  anchorConfidence?: number;
}

/** Weights corrected pairs and marks verified ones, keeping their order. */
export function scalePairs(pairs: readonly CorrectedPair[], o: ScaleOptions): ScaledPair[] {
  return pairs.map((p) => ({
    ...p,
    weight: o.scale === false ? 1 : pairWeight(p.confidence, o),
    verified: isVerified(p, o.anchorConfidence),
  }));
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
  const also = sourcesOf(c).slice(1);
  if (also.length > 0) l.also_written_by = also;
  return l;
}

export interface RowContext {
  iteration: number;
  minibatch?: number;
}

/**
 * The exported JSONL row (src/data/formats.ts `PreferencePair`): `{id, prompt, chosen, rejected,
 * weight, lineage}` plus the loose columns `decided_by`, `prior` (P(chosen ≻ rejected) under the
 * calibrated prior), `confidence` and `verified`. The judge verdict is written in the (chosen,
 * rejected) frame: 'a' = chosen, 'b' = rejected. `human_label` is 'chosen' when a human decided, null
 * when a dispute went unresolved (the fallback decided), else absent.
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
    prior: p.priorChosen,
    confidence: p.confidence,
    verified: p.verified,
  };
}
