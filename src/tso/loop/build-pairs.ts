// Steps 2–5 of a TSO mini-batch: pool the responses (human, generators, policy) per prompt, score
// them with the calibrated prior, select pairs, correct them with AI and human feedback, feed the
// verdicts back into the prior, and scale the pairs.
import type { PreferencePair } from '../../data/formats.js';
import type { Judge } from '../../judges/types.js';
import { CalibratedPrior } from '../calibrated-prior.js';
import {
  correctPairs,
  type CorrectionInput,
  type CorrectionStats,
  type HumanFeedback,
} from '../correction.js';
import { bestMatrixPair, scalePairs, selectPairs, toPreferenceRow, type ScaledPair } from '../pairs.js';
import { dedupeCandidates, HUMAN_TIER, sourceKey, sourcesOf, type Candidate } from '../prior.js';
import type { GeneratedResponse } from './port.js';
import type { RunConfig } from './run-config.js';

export interface LoopPrompt {
  id: string;
  prompt: string;
  human_response?: string;
  /** Task category (e.g. the kind of prompt): the prior keeps per-category evidence. */
  category?: string;
}

export interface BuiltPairs {
  pairs: ScaledPair[];
  rows: PreferencePair[];
  stats: CorrectionStats;
  candidates: number;
  /** Pairs selected before correction. */
  selected: number;
}

function candidatesFor(p: LoopPrompt, responses: GeneratedResponse[], useHuman: boolean): Candidate[] {
  const out: Candidate[] = [];
  if (useHuman && p.human_response !== undefined) {
    out.push({ id: `${p.id}/human`, text: p.human_response, source: 'human', tier: HUMAN_TIER });
  }
  // The index counts within each node's answers, whose order the node fixes: the order in which
  // different nodes' answers arrive varies from run to run, and a pair's id must not.
  const perNode = new Map<string, number>();
  for (const r of responses) {
    const i = perNode.get(r.node) ?? 0;
    perNode.set(r.node, i + 1);
    out.push({
      id: `${p.id}/${r.node}/${i}`,
      text: r.text,
      source: r.source,
      tier: r.tier,
      node: r.node,
      model: r.model,
      weightVersion: r.weightVersion,
      sampling: { temperature: r.sampling.temperature, topK: r.sampling.topK, topP: r.sampling.topP },
      seed: r.seed,
    });
  }
  return dedupeCandidates(out);
}

/** The run's calibrated prior, from the `prior` keys of the run config. */
export function priorFromConfig(cfg: RunConfig): CalibratedPrior {
  const p = cfg.prior;
  return new CalibratedPrior({
    strength: p.strength,
    belief: p.belief,
    decay: p.decay,
    humanWeight: p.human_weight,
    judgeWeight: p.ai_weight,
    agreement: p.agreement,
  });
}

export async function buildPairs(
  cfg: RunConfig,
  iteration: number,
  prompts: LoopPrompt[],
  responses: GeneratedResponse[],
  feedback: { judge?: Judge; human?: HumanFeedback; prior: CalibratedPrior },
): Promise<BuiltPairs> {
  const { prior } = feedback;
  prior.beginIteration();
  const byPrompt = new Map<string, GeneratedResponse[]>();
  for (const r of responses) byPrompt.set(r.promptId, [...(byPrompt.get(r.promptId) ?? []), r]);
  let candidates = 0;
  const bestMatrix = cfg.pairs.strategy === 'best-matrix';
  const inputs: CorrectionInput[] = prompts.map((p) => {
    const cands = candidatesFor(p, byPrompt.get(p.id) ?? [], cfg.pairs.use_human);
    candidates += cands.length;
    for (const c of cands) prior.registerSource(sourceKey(c), c.tier);
    const input: CorrectionInput = { promptId: p.id, prompt: p.prompt, pairs: [] };
    if (p.category !== undefined) input.category = p.category;
    if (bestMatrix) {
      const pair = bestMatrixPair(cands);
      input.pairs = pair ? [pair] : [];
    } else {
      const scored = cands.map((cand) => ({ cand, score: prior.score(p.category, sourcesOf(cand)) }));
      input.pairs = selectPairs(scored, cfg.pairs.max_per_prompt);
    }
    return input;
  });
  const selected = inputs.reduce((n, x) => n + x.pairs.length, 0);
  // The sft-distill baseline trusts the configured tiers outright: no judge, no human, no prior update.
  const mode = bestMatrix || !feedback.judge ? 'none' : cfg.correction.mode;
  const corrected = await correctPairs(inputs, {
    mode,
    judge: feedback.judge,
    human: mode === 'ai+human' ? feedback.human : undefined,
    threshold: cfg.correction.threshold,
    fallback: cfg.correction.fallback,
    judgeWeight: cfg.correction.judge_weight,
  });
  for (const o of corrected.observations) {
    const [w, l] = [sourcesOf(o.winner), sourcesOf(o.loser)];
    if (o.by === 'human') prior.observeHuman(o.category, w, l);
    else prior.observeJudge(o.category, w, l, o.confidence);
  }
  const pairs = scalePairs(corrected.pairs, {
    scale: cfg.pairs.scale && !bestMatrix,
    maxWeight: cfg.pairs.max_weight,
    threshold: cfg.correction.threshold,
    anchorConfidence: cfg.pairs.anchor_confidence,
  });
  const rows = pairs.map((p) => toPreferenceRow(p, { iteration, minibatch: iteration }));
  return { pairs, rows, stats: corrected.stats, candidates, selected };
}
