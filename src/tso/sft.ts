// Supervised fine-tuning (SFT): teaches a model to answer prompts with given responses.
//
//   loss = − Σ_rows Σ_t mask[t] · log p(token_t | tokens_<t)  /  Σ_rows Σ_t mask[t]
//
// i.e. the mean negative log-likelihood per response token (the response bytes and the EOS that ends
// them; prompt and padding are masked out, see src/model/prompt-format.ts). Batches are drawn without
// replacement from a seeded shuffle that is redrawn every epoch; AdamW (src/model/adamw.ts) with a linear
// warm-up and cosine decay of the learning rate. Everything is determined by the seed and the inputs.
import * as tf from '@tensorflow/tfjs';
import { AdamW, cosineDecayLr, DEFAULT_ADAMW, type AdamWOptions } from '../model/adamw.js';
import type { GPT } from '../model/gpt.js';
import { computeFlatGradient } from '../model/gradients.js';
import { encodePairsForScoring, type EncodedBatch } from '../model/prompt-format.js';
import { Rng } from './rng.js';

export interface SftExample {
  prompt: string;
  response: string;
}

export interface SftProgress {
  /** 1-based step just finished. */
  step: number;
  steps: number;
  /** Mean NLL per response token of this step's batch (before the update). */
  loss: number;
  /** Learning rate used for this step. */
  lr: number;
  gradNorm: number;
  elapsedMs: number;
}

export interface SftOptions {
  steps: number;
  batchSize: number;
  /** Peak learning rate (reached after the warm-up). */
  lr: number;
  seed: number | string;
  /** Linear warm-up from lr/warmupSteps to lr over this many steps (default: min(100, steps/10)). */
  warmupSteps?: number;
  /** The cosine decay ends at lr · minLrFraction (default 0.1). */
  minLrFraction?: number;
  /** AdamW settings other than lr (defaults: DEFAULT_ADAMW with beta2 0.99). */
  adamw?: Partial<Omit<AdamWOptions, 'lr'>>;
  /** Called after every `progressEvery` steps (and after the last). */
  onProgress?: (p: SftProgress) => void;
  progressEvery?: number;
}

export interface SftResult {
  steps: number;
  /** Loss of every step, in order. */
  losses: number[];
  /** Mean loss over the last min(50, steps) steps. */
  finalLoss: number;
  wallMs: number;
  /** Rows whose response was cut to fit the context (summed over all batches). */
  truncated: number;
}

/**
 * Learning rate at 1-based `step`: linear warm-up, then cosine decay to lr · minLrFraction. Its warm-up
 * includes step N (lr·N/N), unlike scheduledLr's, and the shipped models were trained with exactly this,
 * so only the decay formula is shared.
 */
export function sftLearningRate(
  step: number,
  o: { steps: number; lr: number; warmupSteps: number; minLrFraction: number },
): number {
  if (o.warmupSteps > 0 && step <= o.warmupSteps) return (o.lr * step) / o.warmupSteps;
  const span = Math.max(1, o.steps - o.warmupSteps);
  return cosineDecayLr(o.lr, o.minLrFraction, Math.min(1, Math.max(0, (step - o.warmupSteps) / span)));
}

/** Number of target (response) tokens of a batch: mask entries at positions 1..T-1. */
export function responseTokenCount(batch: EncodedBatch): number {
  let tokens = 0;
  for (let r = 0; r < batch.rows; r++)
    for (let t = 1; t < batch.seqLen; t++) tokens += batch.mask[r * batch.seqLen + t];
  return tokens;
}

/**
 * Mean NLL per masked (response) token of an encoded batch, as a differentiable scalar. Creates
 * intermediate tensors: call it inside tf.tidy (computeFlatGradient does).
 */
export function sftLoss(model: GPT, batch: EncodedBatch): tf.Scalar {
  // Position 0 (BOS) is never a target; sequenceLogProbs scores positions 1..T-1.
  const tokens = responseTokenCount(batch);
  if (tokens === 0) throw new Error('sft: batch has no response tokens');
  const ids = tf.tensor2d(batch.ids, [batch.rows, batch.seqLen], 'int32');
  const mask = tf.tensor2d(batch.mask, [batch.rows, batch.seqLen], 'float32');
  const lp = model.sequenceLogProbs(ids, mask);
  return tf.div(tf.neg(tf.sum(lp)), tokens) as tf.Scalar;
}

/** Draws batches of indices without replacement; a new seeded shuffle each epoch. */
export class EpochSampler {
  private order: number[] = [];
  private pos = 0;
  private readonly rng: Rng;

  constructor(
    private readonly n: number,
    seed: number | string,
  ) {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`sft: need at least one example, got ${n}`);
    this.rng = Rng.fromSeed(seed, 'sft-batches');
  }

  next(batchSize: number): number[] {
    const out: number[] = [];
    while (out.length < batchSize) {
      if (this.pos >= this.order.length) {
        this.order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
        this.pos = 0;
      }
      out.push(this.order[this.pos++]);
    }
    return out;
  }
}

/**
 * Trains `model` in place by SFT on `examples` for `opts.steps` AdamW steps. Deterministic: the same
 * model weights, examples and options give bit-identical weights (single-threaded wasm/cpu backends).
 */
export function trainSft(model: GPT, examples: readonly SftExample[], opts: SftOptions): SftResult {
  if (!Number.isInteger(opts.steps) || opts.steps < 0)
    throw new Error(`sft: steps must be an integer >= 0, got ${opts.steps}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0)
    throw new Error(`sft: batchSize must be an integer > 0, got ${opts.batchSize}`);
  if (!(opts.lr > 0)) throw new Error(`sft: lr must be > 0, got ${opts.lr}`);
  const schedule = {
    steps: opts.steps,
    lr: opts.lr,
    warmupSteps: opts.warmupSteps ?? Math.min(100, Math.floor(opts.steps / 10)),
    minLrFraction: opts.minLrFraction ?? 0.1,
  };
  const sampler = new EpochSampler(examples.length, opts.seed);
  // Built inside tidy: AdamW's constructor leaves the zero tensors its moment variables were made from.
  let opt!: AdamW;
  tf.tidy(() => {
    opt = new AdamW(model.vars, model.specs, { ...DEFAULT_ADAMW, beta2: 0.99, ...opts.adamw, lr: opts.lr });
  });
  const every = Math.max(1, opts.progressEvery ?? 50);
  const losses: number[] = [];
  let truncated = 0;
  const t0 = Date.now();
  try {
    for (let step = 1; step <= opts.steps; step++) {
      const rows = sampler.next(opts.batchSize).map((i) => examples[i]);
      const batch = encodePairsForScoring(rows, model.config.blockSize);
      truncated += batch.truncated;
      const { loss, grad } = computeFlatGradient(model, () => sftLoss(model, batch));
      const lr = sftLearningRate(step, schedule);
      opt.options = { ...opt.options, lr };
      const { gradNorm } = opt.apply(grad);
      losses.push(loss);
      if (opts.onProgress && (step % every === 0 || step === opts.steps)) {
        opts.onProgress({ step, steps: opts.steps, loss, lr, gradNorm, elapsedMs: Date.now() - t0 });
      }
    }
  } finally {
    opt.dispose();
  }
  const tail = losses.slice(-Math.min(50, losses.length));
  return {
    steps: opts.steps,
    losses,
    finalLoss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN,
    wallMs: Date.now() - t0,
    truncated,
  };
}
