// Steps 2–5 of a TSO mini-batch: pool the responses (human, generators, policy) per prompt, select
// candidate pairs by the prior, correct them with AI and human feedback, and scale them.
import type { PreferencePair } from '../../data/formats.js';
import type { Judge } from '../../judges/types.js';
import { compareBothOrders } from '../../judges/both-orders.js';
import { correctPairs, type CorrectedPair, type CorrectionStats, type HumanFeedback } from '../correction.js';
import { scalePairs, selectPairs, toPreferenceRow, type ScaledPair } from '../pairs.js';
import { dedupeCandidates, HUMAN_TIER, type Candidate } from '../prior.js';
import { Rng } from '../rng.js';
import type { GeneratedResponse } from './port.js';
import type { RunConfig } from './run-config.js';

export interface LoopPrompt {
  id: string;
  prompt: string;
  human_response?: string;
}

export interface BuiltPairs {
  pairs: ScaledPair[];
  rows: PreferencePair[];
  stats: CorrectionStats;
  candidates: number;
}

function candidatesFor(p: LoopPrompt, responses: GeneratedResponse[], useHuman: boolean): Candidate[] {
  const out: Candidate[] = [];
  if (useHuman && p.human_response !== undefined) {
    out.push({ id: `${p.id}/human`, text: p.human_response, source: 'human', tier: HUMAN_TIER });
  }
  responses.forEach((r, i) => {
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
  });
  return dedupeCandidates(out);
}

export async function buildPairs(
  cfg: RunConfig,
  iteration: number,
  prompts: LoopPrompt[],
  responses: GeneratedResponse[],
  feedback: { judge?: Judge; human?: HumanFeedback },
): Promise<BuiltPairs> {
  const rng = Rng.fromSeed(cfg.seed, 'pairs', iteration);
  const byPrompt = new Map<string, GeneratedResponse[]>();
  for (const r of responses) byPrompt.set(r.promptId, [...(byPrompt.get(r.promptId) ?? []), r]);
  let candidates = 0;
  const inputs = prompts.map((p) => {
    const cands = candidatesFor(p, byPrompt.get(p.id) ?? [], cfg.pairs.use_human);
    candidates += cands.length;
    return {
      promptId: p.id,
      prompt: p.prompt,
      cands,
      pairs: selectPairs(cands, { maxPairsPerPrompt: cfg.pairs.max_per_prompt, rng }),
    };
  });
  const mode = feedback.judge ? cfg.correction.mode : 'none';
  const corrected = await correctPairs(inputs, {
    mode,
    judge: feedback.judge,
    human: mode === 'ai+human' ? feedback.human : undefined,
    threshold: cfg.correction.threshold,
    fallback: cfg.correction.fallback,
  });
  const selfRanked =
    cfg.pairs.self_rank && feedback.judge ? await rankSelfSamples(inputs, feedback.judge) : [];
  const pairs = scalePairs([...corrected.pairs, ...selfRanked], {
    alpha: cfg.pairs.alpha,
    maxWeight: cfg.pairs.max_weight,
  });
  const rows = pairs.map((p) => toPreferenceRow(p, { iteration, minibatch: iteration }));
  return { pairs, rows, stats: corrected.stats, candidates };
}

/**
 * Pairs among the policy's own samples (equal tier, so the prior says nothing): consecutive samples are
 * compared by the judge in both orders and a decisive verdict orders them. Only the self-samples ablation
 * (iterative DPO without a matrix) uses this.
 */
async function rankSelfSamples(
  inputs: { promptId: string; prompt: string; cands: Candidate[] }[],
  judge: Judge,
): Promise<CorrectedPair[]> {
  const out: CorrectedPair[] = [];
  for (const inp of inputs) {
    const own = inp.cands.filter((c) => c.source === 'policy');
    for (let i = 0; i + 1 < own.length; i++) {
      const [a, b] = [own[i], own[i + 1]];
      const v = await compareBothOrders(judge, inp.prompt, a.text, b.text);
      if (v.winner === 'tie') continue;
      const [chosen, rejected] = v.winner === 'a' ? [a, b] : [b, a];
      out.push({
        promptId: inp.promptId,
        prompt: inp.prompt,
        chosen,
        rejected,
        decidedBy: 'ai',
        priorAgrees: false,
        tierGap: 1,
        judgeVerdict: { judge: judge.name, winner: 'chosen', confidence: v.confidence, consistent: true },
      });
    }
  }
  return out;
}
