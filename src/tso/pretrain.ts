// `tso pretrain`: trains the demo's model matrix (three generators of clearly different quality) and the
// initial policy by SFT on the gold answers of the demo task's train split, evaluates each on a fixed
// held-out split, and saves them as model directories:
//
//   <out>/matrix/small   <out>/matrix/medium   <out>/matrix/large   <out>/policy-init
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
import { evaluatePolicy } from './evaluate.js';
import { Rng } from './rng.js';
import { trainSft, type SftExample, type SftProgress } from './sft.js';
import { makeSplit, type TaskKind } from './task/index.js';

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
   * Fraction of training answers given a sloppy habit: the last character stuttered ("1 3 44",
   * "dcbaa", "688"). The demo's initial policy learns the skill *and* the habit, which is what
   * preference optimisation is for: the matrix and human responses show clean answers.
   */
  sloppyFraction?: number;
}

/**
 * The longest demo sequence is BOS + "sort: d d d d d d" (17) + "\n" + "d d d d d d" (11) + EOS = 31
 * tokens, so a context of 32 holds every prompt with its gold answer.
 */
export const DEMO_BLOCK_SIZE = 32;

const cfg = (dModel: number, nLayer: number, nHead: number): GPTConfig => ({
  vocabSize: BYTE_VOCAB_SIZE,
  blockSize: DEMO_BLOCK_SIZE,
  nLayer,
  nHead,
  dModel,
});

function spec(name: string, dir: string, role: PretrainRole, config: GPTConfig, steps: number): PretrainSpec {
  return { name, dir, role, config, steps, batchSize: 64, lr: 3e-3, warmupSteps: 50 };
}

/**
 * The shipped matrix and initial policy: sizes and training lengths chosen for a clear quality ladder.
 * Measured held-out exact-match with seed 0 (300 prompts, greedy): large 0.81, medium 0.48,
 * small 0.16, policy-init 0.26. On this task a longer run buys more than a wider model for the same
 * CPU time, so "large" is the deepest and longest-trained rather than the widest (a 864K model reached
 * only ~0.40 in the same time budget).
 */
export const PRETRAIN_SPECS: readonly PretrainSpec[] = [
  spec('large', 'matrix/large', 'generator', cfg(64, 4, 4), 1800),
  spec('medium', 'matrix/medium', 'generator', cfg(64, 3, 4), 1300),
  spec('small', 'matrix/small', 'generator', cfg(32, 2, 2), 1300),
  { ...spec('policy-init', 'policy-init', 'policy', cfg(48, 3, 4), 700), sloppyFraction: 0.8 },
];

/** The data every model is trained and evaluated on. */
export const PRETRAIN_DATA = {
  /** Unique train prompts, round-robin over the kinds (the add partition holds only ~8,000 prompts). */
  trainN: 21000,
  /**
   * Each add example appears this many times in the training rows. Add answers are 1–3 characters, so
   * with one copy they carry only ~1/6 of the response tokens and carrying is learnt late.
   */
  addRepeat: 2,
  heldoutN: 300,
  kinds: ['sort', 'rev', 'add'] as TaskKind[],
};

/** The SFT rows of a pretrain run: the train split's gold answers, add examples repeated. */
export function pretrainRows(seed: number, trainN: number, sloppyFraction = 0): SftExample[] {
  const split = makeSplit({ seed, n: trainN, kinds: PRETRAIN_DATA.kinds, split: 'train' });
  const rng = Rng.fromSeed(seed, 'sloppy');
  return split.flatMap((e) =>
    Array.from({ length: e.kind === 'add' ? PRETRAIN_DATA.addRepeat : 1 }, () => ({
      prompt: e.prompt,
      // One extra character keeps the longest sequence (31 tokens) inside the 32-token context.
      response: sloppyFraction > 0 && rng.next() < sloppyFraction ? e.answer + e.answer.slice(-1) : e.answer,
    })),
  );
}

export interface PretrainJob {
  spec: PretrainSpec;
  seed: number;
  out: string;
  backend: BackendName;
  trainN: number;
  heldoutN: number;
  /** Multiplies every step count (e.g. 0.02 for a quick check); 1 for the shipped models. */
  stepsScale: number;
  progressEvery: number;
}

export interface PretrainJobResult {
  name: string;
  dir: string;
  role: PretrainRole;
  params: number;
  steps: number;
  train_s: number;
  final_loss: number;
  exact_match: number;
  gold_reward: number;
  exact_match_by_kind: Record<string, number>;
  weights_bytes: number;
  sha256: string;
}

export type PretrainProgress = SftProgress & { name: string };

/** Seed of a model's initial weights, derived from the run seed and the model's name. */
export function initSeed(seed: number, name: string): number {
  return Rng.fromSeed(seed, 'pretrain-init', name).nextU32();
}

export function scaledSteps(spec: PretrainSpec, stepsScale: number): number {
  return Math.max(1, Math.round(spec.steps * stepsScale));
}

/** Trains, evaluates and saves one model in the current thread (the backend must be initialised). */
export async function runPretrainJob(
  job: PretrainJob,
  onProgress?: (p: PretrainProgress) => void,
): Promise<PretrainJobResult> {
  const { spec, seed } = job;
  const kinds = PRETRAIN_DATA.kinds;
  const train = pretrainRows(seed, job.trainN, spec.sloppyFraction ?? 0);
  const heldout = makeSplit({ seed, n: job.heldoutN, kinds, split: 'heldout' });
  const steps = scaledSteps(spec, job.stepsScale);
  const init = initSeed(seed, spec.name);
  // Built inside tidy: the GPT constructor leaves the tensors its variables were made from.
  let model!: GPT;
  tf.tidy(() => {
    model = GPT.create(spec.config, init);
  });
  try {
    const r = trainSft(model, train, {
      steps,
      batchSize: spec.batchSize,
      lr: spec.lr,
      warmupSteps: Math.min(spec.warmupSteps, Math.floor(steps / 5)),
      seed: `pretrain/${seed}/${spec.name}`,
      progressEvery: job.progressEvery,
      onProgress: onProgress ? (p) => onProgress({ ...p, name: spec.name }) : undefined,
    });
    const ev = evaluatePolicy(model, heldout, { batchSize: 64 });
    const byKind: Record<string, number> = {};
    for (const k of kinds) {
      const rows = ev.responses.filter((_, i) => heldout[i].kind === k);
      byKind[k] = rows.length ? rows.filter((x) => x.exact).length / rows.length : 0;
    }
    const round = (x: number) => Math.round(x * 1e4) / 1e4;
    const meta = {
      role: spec.role,
      name: spec.name,
      seed,
      init_seed: init,
      steps,
      batch_size: spec.batchSize,
      lr: spec.lr,
      warmup_steps: Math.min(spec.warmupSteps, Math.floor(steps / 5)),
      schedule: 'linear warm-up, cosine decay to 0.1·lr; AdamW β=(0.9, 0.99), wd 0.01, clip 1.0',
      params: paramCount(spec.config),
      train_examples: job.trainN,
      train_rows: train.length,
      train_split: { seed, n: job.trainN, kinds, split: 'train', add_repeat: PRETRAIN_DATA.addRepeat },
      final_loss: round(r.finalLoss),
      heldout: { seed, n: heldout.length, kinds, split: 'heldout', decoding: 'greedy' },
      exact_match: round(ev.exact_match),
      gold_reward: round(ev.gold_reward),
      exact_match_by_kind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, round(v)])),
      trained_by: 'tso pretrain',
    };
    const manifest = await saveModel(model, join(job.out, spec.dir), {
      weightVersion: `${spec.name}-seed${seed}`,
      meta,
    });
    return {
      name: spec.name,
      dir: spec.dir,
      role: spec.role,
      params: meta.params,
      steps,
      train_s: r.wallMs / 1000,
      final_loss: r.finalLoss,
      exact_match: ev.exact_match,
      gold_reward: ev.gold_reward,
      exact_match_by_kind: byKind,
      weights_bytes: manifest.weights_bytes,
      sha256: manifest.sha256,
    };
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
  trainN?: number;
  heldoutN?: number;
  progressEvery?: number;
  onProgress?: (p: PretrainProgress) => void;
}

export interface PretrainSummary {
  seed: number;
  wall_s: number;
  models: PretrainJobResult[];
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
    trainN: o.trainN ?? PRETRAIN_DATA.trainN,
    heldoutN: o.heldoutN ?? PRETRAIN_DATA.heldoutN,
    stepsScale,
    progressEvery: o.progressEvery ?? 50,
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
  return {
    seed: o.seed,
    wall_s: (Date.now() - t0) / 1000,
    models: specs.map((s) => results.get(s.name) as PretrainJobResult),
  };
}

/** The summary as a plain-text table. */
export function formatPretrainTable(s: PretrainSummary): string {
  const head = [
    'model',
    'role',
    'params',
    'steps',
    'exact_match',
    'gold_reward',
    'sort',
    'rev',
    'add',
    'train_s',
    'bytes',
  ];
  const rows = s.models.map((m) => [
    m.dir,
    m.role,
    String(m.params),
    String(m.steps),
    m.exact_match.toFixed(3),
    m.gold_reward.toFixed(3),
    ...['sort', 'rev', 'add'].map((k) => (m.exact_match_by_kind[k] ?? 0).toFixed(2)),
    m.train_s.toFixed(1),
    String(m.weights_bytes),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line), `wall time ${s.wall_s.toFixed(1)} s (seed ${s.seed})`].join('\n');
}
