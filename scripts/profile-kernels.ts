// Per-kernel time of one DPO step (reference log-probs + policy gradient, one thread) and of one
// KV-cached greedy generation (bench shape), via tf.profile. Usage: npx tsx scripts/profile-kernels.ts
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select-backend.js';
import { DEFAULT_GPT_CONFIG } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { generate } from '../src/model/generate.js';
import { randomPairRows } from '../src/bench/workload.js';
import { preferenceGradient, sequenceLogProbs } from '../src/tso/dpo-step.js';

type Prof = Awaited<ReturnType<typeof tf.profile>>;

function table(name: string, p: Prof, wallMs: number): void {
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of p.kernels) {
    // Scopes (customGrad bodies, op wrappers) nest kernels: count registered kernels only.
    if (!tf.getKernel(k.name, 'wasm')) continue;
    const e = by.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n += 1;
    by.set(k.name, e);
  }
  const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    `\n## ${name}: wall ${wallMs.toFixed(0)} ms (profiled), kernels ${total.toFixed(0)} ms, ${p.kernels.length} dispatches`,
  );
  for (const [k, e] of rows.slice(0, 14))
    console.log(`${k.padEnd(22)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.n).padStart(6)} calls`);
}

await initBackend('wasm');
const c = DEFAULT_GPT_CONFIG;
const policy = GPT.create(c, 0);
const reference = GPT.create(c, 0, false);
const batch = randomPairRows({ pairs: 8, seqLen: c.blockSize, vocab: c.vocabSize }, 0);
const loss = { name: 'dpo' as const, beta: 0.1, clipChosen: Infinity, clipRejected: Infinity };
const step = () => {
  const ref = sequenceLogProbs(reference, batch);
  return preferenceGradient(policy, { seqs: batch }, ref, loss);
};
const prompts = Array.from({ length: 16 }, (_, b) =>
  Array.from({ length: c.blockSize - 48 }, (_, t) => (b * 31 + t * 7) % 256),
);
const gen = () =>
  generate(policy, prompts, {
    temperature: 0,
    topK: 0,
    topP: 1,
    maxNewTokens: 48,
    seed: 0,
    eosId: -1,
    padId: 258,
  });
step();
gen();
let t0 = performance.now();
const ps = await tf.profile(() => void step());
table('DPO step, 8 pairs (one replica shard)', ps, performance.now() - t0);
t0 = performance.now();
const pg = await tf.profile(() => void gen());
table('generation, batch 16, 48 new tokens', pg, performance.now() - t0);
