// Step 6 of a TSO mini-batch: reference log-probs once per pair, then optimizer steps over shuffled
// batches of pairs (the port spreads each batch across the policy replicas). The schedule is either
// `epochs` passes or a fixed `steps_per_minibatch`; see trainSchedule.
import { DEFAULT_ADAMW, type AdamWOptions } from '../../model/adamw.js';
import type { LossConfig } from '../dpo-step.js';
import type { ClipUnits } from '../losses.js';
import type { ScaledPair } from '../pairs.js';
import type { PreferenceMetrics } from '../preference-metrics.js';
import { Rng } from '../rng.js';
import type { StepTiming, TrainingPort, TrainPair } from './port.js';
import type { RunConfig } from './run-config.js';

export interface StepLog {
  step: number;
  iteration: number;
  epoch: number;
  pairs: number;
  loss: number;
  metrics: PreferenceMetrics;
  checksum: string;
  replicas: number;
  reassigned: string[];
  /** Why the step was refused (non-finite gradient); absent for an applied step. */
  refused?: string;
}

export function lossConfigOf(cfg: RunConfig): LossConfig {
  return {
    name: cfg.loss.name as LossConfig['name'],
    beta: cfg.loss.beta,
    clipChosen: cfg.loss.clip_chosen,
    clipRejected: cfg.loss.clip_rejected,
    clipUnits: cfg.loss.clip_units as ClipUnits,
    sftWeight: cfg.loss.sft_weight,
  };
}

/** The run's AdamW options: LocalPort and the cluster's replicas both get exactly these. */
export function optimizerOptionsOf(cfg: RunConfig): AdamWOptions {
  const o = cfg.optimizer;
  return {
    ...DEFAULT_ADAMW,
    lr: o.lr,
    weightDecay: o.weight_decay,
    clipNorm: o.clip_norm,
    warmupSteps: o.warmup_steps,
    ...(o.schedule === 'cosine'
      ? { decaySteps: cfg.minibatches * (cfg.steps_per_minibatch ?? 0), minLrFraction: o.min_lr_fraction }
      : {}),
  };
}

export interface ScheduledBatch {
  /** The pass over the pairs (the reshuffle) the batch's first pair comes from. */
  epoch: number;
  /** Indices into the mini-batch's pairs. */
  indices: number[];
}

/**
 * The optimizer steps of one mini-batch of n pairs, a pure function of (seed, iteration, n).
 * With `steps_per_minibatch` S: exactly S batches of `train_batch_pairs` B, read consecutively from
 * a stream of seeded reshuffles (a new shuffle each pass); with n < B every batch is all n pairs; no
 * pairs, no steps. Otherwise `epochs` passes of batches of B, where a leftover smaller than B/2 joins
 * the pass's previous batch, so no optimizer step is taken on a handful of pairs.
 */
export function trainSchedule(
  cfg: Pick<RunConfig, 'seed' | 'epochs' | 'train_batch_pairs' | 'steps_per_minibatch'>,
  iteration: number,
  n: number,
): ScheduledBatch[] {
  const B = cfg.train_batch_pairs;
  const pass = (epoch: number) =>
    Rng.fromSeed(cfg.seed, 'epoch', iteration, epoch).shuffle(Array.from({ length: n }, (_, i) => i));
  const out: ScheduledBatch[] = [];
  if (n === 0) return out;
  if (cfg.steps_per_minibatch !== undefined) {
    let epoch = 0;
    let order = pass(0);
    let at = 0;
    const size = Math.min(B, n);
    let first = 0;
    for (let s = 0; s < cfg.steps_per_minibatch; s++) {
      const indices: number[] = [];
      while (indices.length < size) {
        if (at === n) {
          order = pass(++epoch);
          at = 0;
        }
        if (indices.length === 0) first = epoch;
        // With n < B one pass is the whole batch; otherwise a batch may run on into the next pass.
        const take = Math.min(size - indices.length, n - at);
        indices.push(...order.slice(at, at + take));
        at += take;
      }
      out.push({ epoch: first, indices });
    }
    return out;
  }
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const order = pass(epoch);
    const batches: number[][] = [];
    for (let i = 0; i < n; i += B) batches.push(order.slice(i, i + B));
    const last = batches.at(-1)!;
    if (batches.length > 1 && last.length < B / 2) batches[batches.length - 2].push(...batches.pop()!);
    for (const indices of batches) out.push({ epoch, indices });
  }
  return out;
}

/** A pair as training needs it, before its reference log-probs: what the replay pool keeps. */
export type PoolPair = Omit<TrainPair, 'refChosen' | 'refRejected'>;

export function poolPair(p: ScaledPair): PoolPair {
  return {
    prompt: p.prompt,
    chosen: p.chosen.text,
    rejected: p.rejected.text,
    weight: p.weight,
    anchor: p.verified,
  };
}

/**
 * The mini-batch's training pool: the pairs of the last `pairs.replay` mini-batches (oldest first), then
 * this one's. Why replay: each mini-batch's pairs come from a few hundred prompts, and training on them
 * alone for a whole mini-batch pulls the policy toward those prompts and away from the last ones; on dev
 * seed 0, SFT on the same verified answers lost ~6 of its ~13 points when fed mini-batch by mini-batch
 * instead of shuffled, and got them back with the earlier mini-batches replayed (README, "Benchmark").
 */
export function trainingPool(
  replay: readonly (readonly PoolPair[])[],
  fresh: readonly PoolPair[],
): PoolPair[] {
  return [...replay.flat(), ...fresh];
}

/**
 * The pool's pairs that the schedule draws, in pool order, and the schedule re-indexed into them, so
 * reference log-probs are computed only for pairs a step uses (all of them in `epochs` mode).
 */
export function scheduledPairs<T>(
  pool: readonly T[],
  schedule: readonly ScheduledBatch[],
): { pairs: T[]; schedule: ScheduledBatch[] } {
  const used = [...new Set(schedule.flatMap((b) => b.indices))].sort((a, b) => a - b);
  const at = new Map(used.map((j, k) => [j, k]));
  return {
    pairs: used.map((j) => pool[j]),
    schedule: schedule.map((b) => ({ epoch: b.epoch, indices: b.indices.map((j) => at.get(j) as number) })),
  };
}

/** Attaches reference log-probs (computed once per pair) to the pairs. */
export async function withReference(port: TrainingPort, pairs: readonly PoolPair[]): Promise<TrainPair[]> {
  const rows = [
    ...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })),
    ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected })),
  ];
  const ref = rows.length ? await port.referenceLogProbs(rows) : [];
  return pairs.map((p, i) => ({ ...p, refChosen: ref[i], refRejected: ref[pairs.length + i] }));
}

/** Runs the optimizer steps of `schedule` (indices into `pairs`; see trainSchedule, scheduledPairs). */
export async function trainPairs(
  port: TrainingPort,
  cfg: RunConfig,
  iteration: number,
  pairs: TrainPair[],
  schedule: readonly ScheduledBatch[],
  firstStep: number,
  onStep?: (s: StepLog) => void,
  timings?: StepTiming[],
): Promise<StepLog[]> {
  const logs: StepLog[] = [];
  const loss = lossConfigOf(cfg);
  let step = firstStep;
  for (const { epoch, indices } of schedule) {
    const batch = indices.map((j) => pairs[j]);
    const r = await port.trainStep(step, batch, loss);
    // Timings go to the iteration's diagnostics, never into steps.jsonl: that log is compared bit for
    // bit between an interrupted and an uninterrupted run.
    if (r.timing) timings?.push(r.timing);
    const sums = Object.values(r.checksums);
    const log: StepLog = {
      step,
      iteration,
      epoch,
      pairs: batch.length,
      loss: r.loss,
      metrics: r.metrics,
      checksum: sums[0] ?? '',
      replicas: sums.length,
      reassigned: r.reassigned,
      ...(r.refused ? { refused: r.refused } : {}),
    };
    logs.push(log);
    onStep?.(log);
    step++;
  }
  return logs;
}
