// `tso pretrain`: trains the model matrix (four generators of different, heterogeneous quality, one a
// specialist) and the initial policy by SFT on gold answers from the task's `sft` partition (never a
// TSO or held-out prompt), evaluates each on the fixed held-out set and saves them as model directories:
//
//   <out>/matrix/large  <out>/matrix/medium  <out>/matrix/sort-expert  <out>/matrix/small  <out>/policy-init
//
// `medium` shares policy-init's shape, initial weights and data stream with a full learning-rate schedule,
// so the pair is the policy's headroom evidence.
//
// Every model is fully determined by (--seed, its spec): initial weights, training data, batch order and
// schedule are all seeded, and wasm/cpu kernels are deterministic, so a rerun reproduces the same
// weights (same SHA-256). Models train concurrently in worker threads (one model per thread at a time);
// which thread trains which model changes only the wall time, never the weights.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend/select-backend.js';
import { saveModel } from '../model/checkpoint.js';
import { paramCount, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { BYTE_VOCAB_SIZE } from '../model/tokenizer.js';
import { evaluatePolicy, type EvalResult } from './evaluate.js';
import { Rng } from './rng.js';
import { trainSft, type SftExample, type SftProgress } from './sft.js';
import {
  demoTask,
  HELDOUT_SET_SIZE,
  heldoutPrompts,
  makeSplit,
  type TaskExample,
  type TaskKind,
} from '../tasks/demo/index.js';

export type PretrainRole = 'generator' | 'policy';

export interface PretrainSpec {
  name: string;
  /** Directory under --out. */
  dir: string;
  role: PretrainRole;
  config: GPTConfig;
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  /**
   * Where the cosine decay ends, as a fraction of lr (default 0.1). 1 keeps the rate constant after the
   * warm-up: a stable-phase checkpoint, whose rate has not been annealed yet.
   */
  minLrFraction?: number;
  /** Kinds of the training rows, round-robin (repeats weight a kind: a specialist is mostly one kind). */
  mix: readonly TaskKind[];
  /** Name whose seeds (initial weights, batch order) this spec shares: "the same model", trained longer. */
  seedName?: string;
}

/**
 * The longest sequence is BOS + "sort: d d d d d d d d d" (23) + "\n" + "d d d d d d d d d" (17) + EOS
 * = 43 tokens (rev: 28, add: 19), so a context of 48 holds every prompt with its gold answer.
 */
export const TASK_BLOCK_SIZE = 48;

const cfg = (dModel: number, nLayer: number, nHead: number): GPTConfig => ({
  vocabSize: BYTE_VOCAB_SIZE,
  blockSize: TASK_BLOCK_SIZE,
  nLayer,
  nHead,
  dModel,
});

/**
 * Generalists see add a bit more often: add answers are 1–4 characters, so with an equal share of rows
 * they carry few of the response tokens and carrying is learnt late.
 */
const GENERAL_MIX: readonly TaskKind[] = ['sort', 'rev', 'add', 'sort', 'rev', 'add', 'add'];
/**
 * The specialist: 95% sort, a little rev and add so it answers them in the right format, badly. Sort,
 * not add: an add specialist of this size reached only 10% on add in 1500 steps (3-digit carries are
 * the slowest skill here), while sort is learnt quickly.
 */
const SORT_EXPERT_MIX: readonly TaskKind[] = [
  ...Array.from({ length: 38 }, (): TaskKind => 'sort'),
  'rev',
  'add',
];

function spec(
  name: string,
  dir: string,
  role: PretrainRole,
  config: GPTConfig,
  steps: number,
  mix: readonly TaskKind[] = GENERAL_MIX,
): PretrainSpec {
  return { name, dir, role, config, steps, batchSize: 32, lr: 3e-3, warmupSteps: 50, mix };
}

/** The shipped matrix and initial policy (measured results: models/pretrain-summary.json). */
export const PRETRAIN_SPECS: readonly PretrainSpec[] = [
  spec('large', 'matrix/large', 'generator', cfg(64, 4, 4), 3000),
  // policy-init's shape, initial weights and data stream with the full schedule (lr 3e-3, cosine decay):
  // a matrix member and the headroom evidence for the policy at once.
  { ...spec('medium', 'matrix/medium', 'generator', cfg(48, 3, 4), 2000), seedName: 'policy-init' },
  spec('sort-expert', 'matrix/sort-expert', 'generator', cfg(48, 3, 4), 1200, SORT_EXPERT_MIX),
  spec('small', 'matrix/small', 'generator', cfg(32, 2, 2), 1200),
  // A stable-phase checkpoint: medium's shape, initial weights and data stream, 2400 steps at a constant
  // 1e-3 and no decay. Its rate has not been annealed, so it has headroom a fine-tune can take in a few
  // hundred steps (README, "The task"); medium is the same start with the full cosine schedule.
  { ...spec('policy-init', 'policy-init', 'policy', cfg(48, 3, 4), 2400), lr: 1e-3, minLrFraction: 1 },
];

/** Held-out prompts every model is evaluated on: the whole fixed set (400 per kind). */
export const PRETRAIN_HELDOUT_N = HELDOUT_SET_SIZE;

/**
 * The SFT rows of a model: steps × batch i.i.d. draws from the `sft` partition (level-uniform, so each
 * row is seen about once), kinds round-robin in the spec's mix. The stream depends only on (seed, mix),
 * so a longer run of the same spec sees a superset of the rows.
 */
export function pretrainRows(seed: number, spec: PretrainSpec, steps: number): SftExample[] {
  return makeSplit({
    seed: `pretrain/${seed}/${spec.mix.join(',')}`,
    n: steps * spec.batchSize,
    kinds: spec.mix,
    split: 'sft',
    unique: false,
  }).map((e) => ({ prompt: e.prompt, response: e.answer }));
}

export interface PretrainJob {
  spec: PretrainSpec;
  seed: number;
  out: string;
  backend: BackendName;
  heldoutN: number;
  /** Multiplies every step count (e.g. 0.02 for a quick check); 1 for the shipped models. */
  stepsScale: number;
  progressEvery: number;
  /** Every this many steps, an exact-match point on the first 150 held-out prompts (0 = none). */
  curveEvery: number;
}

/** Held-out exact-match overall, per kind and per level, with counts. */
export interface HeldoutBreakdown {
  exact_match: number;
  gold_reward: number;
  gold_logprob_per_token?: number;
  by_kind: Record<string, { n: number; exact_match: number }>;
  by_level: Record<string, { n: number; exact_match: number }>;
}

export interface PretrainJobResult extends HeldoutBreakdown {
  name: string;
  dir: string;
  role: PretrainRole;
  params: number;
  shape: string;
  steps: number;
  train_s: number;
  final_loss: number;
  /** Exact-match on the first 150 held-out prompts during training (not comparable to the final). */
  curve?: { step: number; exact_match: number }[];
  weights_bytes?: number;
  sha256?: string;
}

export type PretrainProgress = SftProgress & { name: string };

/** Seed of a model's initial weights, derived from the run seed and the model's name. */
export function initSeed(seed: number, name: string): number {
  return Rng.fromSeed(seed, 'pretrain-init', name).nextU32();
}

export function scaledSteps(spec: PretrainSpec, stepsScale: number): number {
  return Math.max(1, Math.round(spec.steps * stepsScale));
}

// Pretraining is the demo's: its gold scores every held-out prompt, so the `?? 0` below never applies.
const DEMO = demoTask();

const round = (x: number) => Math.round(x * 1e4) / 1e4;

function breakdown(heldout: readonly TaskExample[], ev: EvalResult): HeldoutBreakdown {
  const group = (key: (e: TaskExample) => string) => {
    const acc: Record<string, { n: number; exact_match: number }> = {};
    heldout.forEach((e, i) => {
      const g = (acc[key(e)] ??= { n: 0, exact_match: 0 });
      g.n++;
      g.exact_match += ev.responses[i].exact ? 1 : 0;
    });
    for (const g of Object.values(acc)) g.exact_match = round(g.exact_match / g.n);
    return acc;
  };
  return {
    exact_match: round(ev.exact_match ?? 0),
    gold_reward: round(ev.gold_reward ?? 0),
    ...(ev.gold_logprob_per_token !== undefined
      ? { gold_logprob_per_token: round(ev.gold_logprob_per_token) }
      : {}),
    by_kind: group((e) => e.kind),
    by_level: group((e) => `${e.kind}/${e.level}`),
  };
}

/** Trains, evaluates and saves one model in the current thread (the backend must be initialised). */
export async function runPretrainJob(
  job: PretrainJob,
  onProgress?: (p: PretrainProgress) => void,
): Promise<PretrainJobResult> {
  const { spec, seed } = job;
  const seedName = spec.seedName ?? spec.name;
  const steps = scaledSteps(spec, job.stepsScale);
  const train = pretrainRows(seed, spec, steps);
  const heldout = heldoutPrompts(job.heldoutN);
  const curveSet = heldout.slice(0, 150);
  const init = initSeed(seed, seedName);
  const warmupSteps = Math.min(spec.warmupSteps, Math.floor(steps / 5));
  // Built inside tidy: the GPT constructor leaves the tensors its variables were made from.
  let model!: GPT;
  tf.tidy(() => {
    model = GPT.create(spec.config, init);
  });
  try {
    const curve: { step: number; exact_match: number }[] = [];
    const r = trainSft(model, train, {
      steps,
      batchSize: spec.batchSize,
      lr: spec.lr,
      warmupSteps,
      ...(spec.minLrFraction !== undefined ? { minLrFraction: spec.minLrFraction } : {}),
      seed: `pretrain/${seed}/${seedName}`,
      progressEvery: job.progressEvery,
      onProgress: (p) => {
        // Greedy evaluation reads the weights only, so the curve does not change the trained model.
        if (job.curveEvery > 0 && p.step % job.curveEvery === 0 && p.step < steps)
          curve.push({
            step: p.step,
            exact_match: round(evaluatePolicy(model, curveSet, { task: DEMO }).exact_match ?? 0),
          });
        onProgress?.({ ...p, name: spec.name });
      },
    });
    const ev = evaluatePolicy(model, heldout, { batchSize: 64, task: DEMO });
    const b = breakdown(heldout, ev);
    const c = spec.config;
    const common = {
      name: spec.name,
      role: spec.role,
      params: paramCount(c),
      shape: `d${c.dModel} L${c.nLayer} H${c.nHead} ctx${c.blockSize}`,
      steps,
      final_loss: round(r.finalLoss),
      ...b,
    };
    const result: PretrainJobResult = {
      ...common,
      dir: spec.dir,
      train_s: r.wallMs / 1000,
      ...(curve.length ? { curve } : {}),
    };
    const meta = {
      ...common,
      seed,
      init_seed: init,
      batch_size: spec.batchSize,
      lr: spec.lr,
      warmup_steps: warmupSteps,
      schedule:
        spec.minLrFraction === 1
          ? 'linear warm-up, then constant lr (no decay); AdamW β=(0.9, 0.99), wd 0.01, clip 1.0'
          : `linear warm-up, cosine decay to ${spec.minLrFraction ?? 0.1}·lr; AdamW β=(0.9, 0.99), wd 0.01, clip 1.0`,
      train_data: { split: 'sft', draws: train.length, mix: spec.mix.join(','), level_uniform: true },
      heldout: { fixed_set: true, n: heldout.length, decoding: 'greedy' },
      trained_by: 'tso pretrain',
    };
    const manifest = await saveModel(model, join(job.out, spec.dir), {
      weightVersion: `${spec.name}-seed${seed}`,
      meta,
    });
    return { ...result, weights_bytes: manifest.weights_bytes, sha256: manifest.sha256 };
  } finally {
    model.dispose();
  }
}

// ---- worker threads ----

export type PretrainWorkerRequest = { kind: 'job'; job: PretrainJob };
export type PretrainWorkerReply =
  | { kind: 'progress'; progress: PretrainProgress }
  | { kind: 'done'; result: PretrainJobResult }
  | { kind: 'error'; message: string };

function runInWorker(
  job: PretrainJob,
  onProgress: (p: PretrainProgress) => void,
): Promise<PretrainJobResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./pretrain-worker.js', import.meta.url));
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate();
    };
    worker.on('message', (m: PretrainWorkerReply) => {
      if (m.kind === 'progress') onProgress(m.progress);
      else if (m.kind === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new Error(`pretrain ${job.spec.name}: ${m.message}`)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`pretrain ${job.spec.name}: worker exited with code ${code}`))),
    );
    worker.postMessage({ kind: 'job', job } satisfies PretrainWorkerRequest);
  });
}

export interface PretrainOptions {
  out: string;
  seed: number;
  backend?: BackendName;
  /** Concurrent worker threads; 0 trains in this thread, one model after another. */
  workers?: number;
  /** Names of the models to train (default: all). */
  only?: string[];
  stepsScale?: number;
  heldoutN?: number;
  progressEvery?: number;
  curveEvery?: number;
  onProgress?: (p: PretrainProgress) => void;
}

/** A probe against the model whose seeds it shares: the same spec at more steps. */
export interface Headroom {
  model: string;
  steps: number;
  exact_match: number;
  probe: string;
  probe_steps: number;
  probe_exact_match: number;
}

export interface PretrainSummary {
  seed: number;
  wall_s: number;
  models: PretrainJobResult[];
  headroom: Headroom[];
}

export function headroomOf(models: readonly PretrainJobResult[]): Headroom[] {
  return PRETRAIN_SPECS.flatMap((s) => {
    const probe = models.find((m) => m.name === s.name);
    const base = models.find((m) => m.name === s.seedName);
    if (!probe || !base) return [];
    return [
      {
        model: base.name,
        steps: base.steps,
        exact_match: base.exact_match,
        probe: probe.name,
        probe_steps: probe.steps,
        probe_exact_match: probe.exact_match,
      },
    ];
  });
}

/** Trains every selected model (largest first, on a pool of worker threads); results in spec order. */
export async function pretrain(o: PretrainOptions): Promise<PretrainSummary> {
  const t0 = Date.now();
  const only = o.only;
  const unknown = (only ?? []).filter((n) => !PRETRAIN_SPECS.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(
      `pretrain: unknown model ${unknown.join(', ')} (known: ${PRETRAIN_SPECS.map((s) => s.name).join(', ')})`,
    );
  const specs = PRETRAIN_SPECS.filter((s) => !only || only.includes(s.name));
  const stepsScale = o.stepsScale ?? 1;
  if (!(stepsScale > 0)) throw new Error(`pretrain: steps scale must be > 0, got ${stepsScale}`);
  const jobs: PretrainJob[] = specs.map((spec) => ({
    spec,
    seed: o.seed,
    out: o.out,
    backend: o.backend ?? 'wasm',
    heldoutN: o.heldoutN ?? PRETRAIN_HELDOUT_N,
    stepsScale,
    progressEvery: o.progressEvery ?? 50,
    curveEvery: o.curveEvery ?? 0,
  }));
  const onProgress = o.onProgress ?? (() => {});
  const workers = o.workers ?? Math.min(2, availableParallelism());
  const results = new Map<string, PretrainJobResult>();
  if (workers <= 0) {
    await initBackend(o.backend ?? 'wasm');
    for (const job of jobs) results.set(job.spec.name, await runPretrainJob(job, onProgress));
  } else {
    // Longest job first (cost ≈ params × steps × batch), each free thread takes the next one.
    const cost = (j: PretrainJob) =>
      paramCount(j.spec.config) * scaledSteps(j.spec, stepsScale) * j.spec.batchSize;
    const queue = [...jobs].sort((a, b) => cost(b) - cost(a));
    const lane = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        results.set(job.spec.name, await runInWorker(job, onProgress));
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, lane));
  }
  const models = specs.map((s) => results.get(s.name) as PretrainJobResult);
  return { seed: o.seed, wall_s: (Date.now() - t0) / 1000, models, headroom: headroomOf(models) };
}
