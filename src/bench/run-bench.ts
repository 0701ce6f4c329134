// `tso bench`: one DPO step (reference log-probs + policy forward/backward + AdamW) and KV-cached greedy
// generation, on the same shape as the PyTorch yardstick, reported as one JSON object.
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend/select-backend.js';
import { wasmHeapBytes } from '../backend/heap.js';
import { DEFAULT_ADAMW } from '../model/adamw.js';
import { type GPTConfig } from '../model/config.js';
import { generate } from '../model/generate.js';
import { GPT } from '../model/gpt.js';
import type { LossConfig } from '../tso/dpo-step.js';
import { LocalReplicas } from './local-replicas.js';
import { randomPairRows } from './workload.js';

export interface BenchOptions {
  backend: BackendName;
  config: GPTConfig;
  pairs: number;
  genBatch: number;
  newTokens: number;
  iters: number;
  warmup: number;
  /** Data-parallel replicas (worker threads) for the headline step time. */
  threads: number;
  seed: number;
  log?: (line: string) => void;
}

export const DEFAULT_BENCH: Omit<BenchOptions, 'config' | 'backend'> = {
  pairs: 16,
  genBatch: 16,
  newTokens: 48,
  iters: 5,
  warmup: 2,
  threads: Math.min(2, availableParallelism()),
  seed: 0,
};

// Plain DPO, beta 0.1, AdamW lr 1e-4 without decay or clipping: what the PyTorch reference runs.
const BENCH_LOSS: LossConfig = { name: 'dpo', beta: 0.1, clipChosen: Infinity, clipRejected: Infinity };
const BENCH_ADAMW = { ...DEFAULT_ADAMW, lr: 1e-4, weightDecay: 0.01, clipNorm: 0 };

async function timeIt(iters: number, warmup: number, f: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await f();
  return (performance.now() - t0) / iters;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function runBench(o: BenchOptions) {
  const log = o.log ?? (() => {});
  if (o.config.blockSize <= o.newTokens)
    throw new Error(
      `--ctx ${o.config.blockSize} leaves no room for a prompt before the ${o.newTokens} generated tokens: use --ctx > ${o.newTokens}`,
    );
  const backend = await initBackend(o.backend);
  const c = o.config;
  const batch = randomPairRows({ pairs: o.pairs, seqLen: c.blockSize, vocab: c.vocabSize }, o.seed);
  const tokensPerStep = batch.rows * (batch.seqLen - 1);

  // Each step phase runs in worker threads that are terminated before the next phase: a wasm heap
  // only grows, so measuring in the main thread (as before) kept a third full-size heap alive.
  const init = { config: c, seed: o.seed, backend: o.backend, adamw: BENCH_ADAMW, loss: BENCH_LOSS };
  const measure = async (threads: number) => {
    const pool = await LocalReplicas.start(threads, init);
    try {
      const before = await pool.memory();
      const ms = await timeIt(o.iters, o.warmup, () => pool.step(batch));
      const after = await pool.memory();
      return {
        ms,
        leaked: Math.max(...after.map((m, i) => m.numTensors - before[i].numTensors)),
        heapMb: after.map((m) => (m.wasmHeapBytes === null ? null : round(m.wasmHeapBytes / 2 ** 20))),
      };
    } finally {
      await pool.stop();
    }
  };
  log(`bench: DPO step (${o.pairs} pairs x ${c.blockSize} tokens) in one replica thread on ${backend.name}`);
  const single = await measure(1);
  let parallel = single;
  if (o.threads > 1) {
    log(`bench: data-parallel DPO step across ${o.threads} replica threads`);
    parallel = await measure(o.threads);
  }
  const singleMs = single.ms;
  const parallelMs = parallel.ms;
  const policy = GPT.create(c, o.seed);

  log(`bench: KV-cached greedy generation, batch ${o.genBatch}, ${o.newTokens} new tokens`);
  const promptLen = c.blockSize - o.newTokens;
  const prompts = Array.from({ length: o.genBatch }, (_, b) =>
    Array.from({ length: promptLen }, (_, t) => (b * 31 + t * 7) % 256),
  );
  const genOpts = {
    temperature: 0,
    topK: 0,
    topP: 1,
    maxNewTokens: o.newTokens,
    seed: o.seed,
    eosId: -1,
    padId: 258,
  };
  const tensorsBefore = tf.memory().numTensors;
  // As many timed generations as steps, and as the PyTorch reference times (scripts/torch_reference.py).
  const genMs = await timeIt(o.iters, 1, () => generate(policy, prompts, genOpts));
  const leaked = Math.max(single.leaked, parallel.leaked, tf.memory().numTensors - tensorsBefore);
  policy.dispose();
  const mainHeap = wasmHeapBytes();

  return {
    impl: 'tso-tfjs-4.22.0',
    backend: backend.name,
    backend_package: backend.package,
    own_kernels: backend.ownKernels ?? [],
    threads: o.threads,
    params: policy.paramCount,
    config: { vocab: c.vocabSize, d_model: c.dModel, layers: c.nLayer, heads: c.nHead, ctx: c.blockSize },
    pairs: o.pairs,
    dpo_step_ms: round(parallelMs),
    dpo_step_ms_single_thread: round(singleMs),
    train_tokens_per_s: round((tokensPerStep / parallelMs) * 1000),
    generate_batch: o.genBatch,
    generate_new_tokens: o.newTokens,
    generate_ms: round(genMs),
    generate_tokens_per_s: round(((o.genBatch * o.newTokens) / genMs) * 1000),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
    // A wasm heap never shrinks: each figure is that thread's peak. Threads of one phase live together.
    wasm_heap_mb: {
      main: mainHeap === null ? null : round(mainHeap / 2 ** 20),
      single_thread_step: single.heapMb,
      parallel_step: parallel.heapMb,
    },
    tensors_leaked_per_run: leaked,
  };
}

export type BenchReport = Awaited<ReturnType<typeof runBench>>;
