// TrainingPort in one process: the same computations the cluster runs (same seeds, generation batches,
// scoring chunks, shard split and fixed-order gradient averaging), without any transport. Used by
// `tso ablate`, by tests, and as the single-process reference the cluster must match bit for bit.
import type { Judge } from '../judges/types.js';
import { AdamW, type AdamWOptions } from '../model/adamw.js';
import { decodeOptimizerState, encodeOptimizerState } from '../model/optimizer-codec.js';
import {
  answerOptions,
  effectiveSampling,
  generate,
  generationBatches,
  type SamplingOverride,
} from '../model/generate.js';
import type { GPT } from '../model/gpt.js';
import { encodePairsForScoring, promptIds, responseText } from '../model/prompt-format.js';
import { deriveSeed } from '../model/seeded-normal.js';
import { decodeWeights, encodeWeights } from '../model/weights-codec.js';
import { preferenceGradient, sequenceLogProbs, shardBatch, type LossConfig } from './dpo-step.js';
import { averageShardGradients, combineShards, shardRanges } from './grad-shards.js';
import { modelSeed } from './loop/generate-step.js';
import type {
  GenerateRequest,
  GenerateResult,
  GeneratedResponse,
  NodeEvent,
  RestoreReference,
  TrainingPort,
  TrainPair,
  TrainStepResult,
} from './loop/port.js';
import { policyTier } from './prior.js';

export interface LocalGenerator {
  name: string;
  tier: number;
  model: GPT;
  /** The node's sampling override (node config `sampling`), applied as the cluster node applies it. */
  sampling?: SamplingOverride;
}

export interface LocalPortOptions {
  policy: GPT;
  reference: GPT;
  generators: LocalGenerator[];
  judge?: Judge;
  /** Gradient shards per step (run config `grad_shards`): the same split the cluster computes. */
  gradShards: number;
  optimizer: AdamWOptions;
  generateBatch?: number;
  policyName?: string;
}

export const SCORE_CHUNK = 256;

/** One model's responses, exactly as a node computes them for a Generate request. */
export function generateLikeNode(
  model: GPT,
  req: GenerateRequest,
  n: number,
  seed: number,
  batch: number,
): { promptId: string; text: string; seed: number }[] {
  const out: { promptId: string; text: string; seed: number }[] = [];
  for (const { from, to, rowOffset } of generationBatches(req.prompts.length, n, batch)) {
    const chunk = req.prompts.slice(from, to);
    const gens = generate(
      model,
      chunk.map((p) => promptIds(p.text)),
      answerOptions(req.sampling, seed, rowOffset),
    );
    gens.forEach((g, j) =>
      out.push({
        promptId: chunk[j].id,
        text: responseText(g.tokens),
        seed: deriveSeed(seed, rowOffset + j),
      }),
    );
  }
  return out;
}

export class LocalPort implements TrainingPort {
  private opt: AdamW;
  private version = 'v0';
  private steps = 0;
  /** The policy as the run starts (v0): a fixed reference is put back to it on restore. */
  private readonly initial: Float32Array[];

  constructor(private readonly o: LocalPortOptions) {
    this.opt = new AdamW(o.policy.vars, o.policy.specs, o.optimizer);
    o.reference.copyFrom(o.policy);
    this.initial = o.policy.getWeights();
  }

  judge(): Judge | undefined {
    return this.o.judge;
  }

  drainEvents(): NodeEvent[] {
    return [];
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const tiers = this.o.generators.map((g) => g.tier);
    const batch = this.o.generateBatch ?? 64;
    const responses: GeneratedResponse[] = [];
    const add = (
      name: string,
      model: GPT,
      n: number,
      source: 'generator' | 'policy',
      tier: number,
      version: string,
      override?: SamplingOverride,
    ) => {
      if (n === 0) return;
      const seed = modelSeed(name, req.sampling.seed);
      const sampling = effectiveSampling({ ...req.sampling, seed }, override);
      for (const r of generateLikeNode(model, { ...req, sampling }, n, seed, batch)) {
        responses.push({ ...r, source, tier, node: name, model: name, weightVersion: version, sampling });
      }
    };
    for (const g of this.o.generators)
      add(g.name, g.model, req.samplesPerNode, 'generator', g.tier, 'static', g.sampling);
    add(
      this.o.policyName ?? 'policy',
      this.o.policy,
      req.policySamples,
      'policy',
      policyTier(tiers),
      this.version,
    );
    return { responses, missing: [], generatorTiers: tiers };
  }

  async referenceLogProbs(rows: { prompt: string; response: string }[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < rows.length; i += SCORE_CHUNK) {
      const seqs = encodePairsForScoring(rows.slice(i, i + SCORE_CHUNK), this.o.reference.config.blockSize);
      out.push(...sequenceLogProbs(this.o.reference, seqs));
    }
    return out;
  }

  async trainStep(_step: number, pairs: TrainPair[], loss: LossConfig): Promise<TrainStepResult> {
    const ranges = shardRanges(pairs.length, this.o.gradShards);
    const block = this.o.policy.config.blockSize;
    const results = ranges.map(([a, b]) => {
      const { batch, ref } = shardBatch(pairs.slice(a, b), block);
      return preferenceGradient(this.o.policy, batch, ref, loss);
    });
    this.opt.apply(
      averageShardGradients(
        results.map((r) => r.grad),
        ranges,
      ),
    );
    this.steps++;
    return { ...combineShards(results, ranges), checksums: { local: '' }, reassigned: [] };
  }

  async refreshReference(version: string): Promise<{ version: string; sha256: string; acks: string[] }> {
    this.o.reference.copyFrom(this.o.policy);
    this.version = version;
    return { version, sha256: '', acks: ['local'] };
  }

  async snapshot(): Promise<{ weights: Uint8Array; optimizer: Uint8Array; version: string }> {
    return {
      weights: encodeWeights(this.o.policy.config, this.o.policy.getWeights(), `s${this.steps}`),
      optimizer: encodeOptimizerState(this.opt.getState()),
      version: this.version,
    };
  }

  async restore(
    s: { weights: Uint8Array; optimizer: Uint8Array; version: string },
    opts?: { reference?: RestoreReference },
  ): Promise<void> {
    const { values } = decodeWeights(s.weights);
    this.o.policy.setWeights(values);
    this.o.reference.setWeights(opts?.reference === 'initial' ? this.initial : values);
    this.opt.setState(decodeOptimizerState(s.optimizer));
    this.version = s.version;
  }

  dispose(): void {
    this.opt.dispose();
  }
}
