// Step 1 of a TSO mini-batch: which prompts it covers and the generation request for them (seeded per
// run and mini-batch; every port turns it into the same per-model seeds).
import { hash53 } from '../rng.js';
import type { LoopPrompt } from './build-pairs.js';
import type { GenerateResult, TrainingPort } from './port.js';
import type { RunConfig } from './run-config.js';

const seedFor = (cfg: RunConfig, ...parts: (string | number)[]) =>
  hash53(parts.join('/'), cfg.seed) % 2 ** 31;

/**
 * The sampling seed of one model for a mini-batch: each model draws from its own stream, derived from
 * the request's seed. Both ports use this one function, so the cluster's nodes and the in-process
 * run sample the same tokens (and a fail-over node serving the same model gets the same seed).
 */
export const modelSeed = (model: string, requestSeed: number): number => hash53(model, requestSeed) % 2 ** 31;

/** The mini-batch's prompts: the next `minibatch_prompts` of the train list, wrapping around. */
export function promptsFor(cfg: RunConfig, train: LoopPrompt[], minibatch: number): LoopPrompt[] {
  const out: LoopPrompt[] = [];
  for (let j = 0; j < cfg.minibatch_prompts; j++)
    out.push(train[(minibatch * cfg.minibatch_prompts + j) % train.length]);
  return out;
}

export async function generateFor(
  port: TrainingPort,
  cfg: RunConfig,
  iteration: number,
  prompts: LoopPrompt[],
): Promise<GenerateResult> {
  const s = cfg.sampling;
  return port.generate({
    iteration,
    prompts: prompts.map((p) => ({ id: p.id, text: p.prompt })),
    samplesPerNode: cfg.samples_per_node,
    policySamples: cfg.policy_samples,
    sampling: {
      temperature: s.temperature,
      topK: s.top_k,
      topP: s.top_p,
      maxNewTokens: s.max_new_tokens,
      seed: seedFor(cfg, 'gen', iteration),
    },
  });
}
