// Spike 2 (issue 12), end to end: the bench's DPO step (16 pairs x 64 tokens, default GPT) with tfjs's
// wasm BatchMatMul/_FusedMatMul vs the own kernels (kernels.c) registered in their place, alternating
// step by step in one process. Only the kernels are swapped: the project's code is unchanged (so GELU,
// layer norm and the explicit transposes still go through tfjs ops).
// Run: scripts/spikes/build-kernels.sh && node --import tsx scripts/spikes/step-own-kernels.mjs [pairs of steps]
import { initBackend } from '../../src/backend/select-backend.ts';
import { GPT } from '../../src/model/gpt.ts';
import { AdamW, DEFAULT_ADAMW } from '../../src/model/adamw.ts';
import { DEFAULT_GPT_CONFIG } from '../../src/model/config.ts';
import { randomPairRows } from '../../src/bench/workload.ts';
import { preferenceGradient, sequenceLogProbs } from '../../src/tso/dpo-step.ts';
import { loadOwnKernels, matMulKernelSwitch } from './own-kernels-lib.mjs';

if (process.env.THREADED === '1') await (await import('./threaded-wasm.mjs')).replaceWasmBackend(1);
await initBackend('wasm');
const use = matMulKernelSwitch(await loadOwnKernels());
const c = DEFAULT_GPT_CONFIG;
const policy = GPT.create(c, 0);
const reference = GPT.create(c, 0, false);
const opt = new AdamW(policy.vars, policy.specs, {
  ...DEFAULT_ADAMW,
  lr: 1e-4,
  weightDecay: 0.01,
  clipNorm: 0,
});
const seqs = randomPairRows({ pairs: 16, seqLen: c.blockSize, vocab: c.vocabSize }, 0);
const loss = { name: 'dpo', beta: 0.1, clipChosen: Infinity, clipRejected: Infinity };
const grad = () => preferenceGradient(policy, { seqs }, sequenceLogProbs(reference, seqs), loss);

// Same weights, both kernel sets: how far apart are loss and gradient?
use(false);
const ga = grad();
use(true);
const gb = grad();
let d = 0;
let gmax = 0;
for (let i = 0; i < ga.grad.length; i++) {
  d = Math.max(d, Math.abs(ga.grad[i] - gb.grad[i]));
  gmax = Math.max(gmax, Math.abs(ga.grad[i]));
}
console.log(
  `loss tfjs ${ga.loss} own ${gb.loss}; gradient max |diff| ${d.toExponential(2)} (max |g| ${gmax.toExponential(2)})`,
);

const n = Number(process.argv[2] ?? 6);
const ms = { tfjs: [], own: [] };
const step = () => {
  const t0 = performance.now();
  opt.apply(grad().grad);
  return performance.now() - t0;
};
use(false);
step(); // warm-up (operator caches, heap growth)
for (let i = 0; i < n; i++)
  for (const v of i % 2 ? ['own', 'tfjs'] : ['tfjs', 'own']) {
    use(v === 'own');
    ms[v].push(step());
  }
const stat = (v) => {
  const s = [...v].sort((p, q) => p - q);
  return `${s[s.length >> 1].toFixed(0)} (${s[0].toFixed(0)}-${s[s.length - 1].toFixed(0)})`;
};
console.log(
  `DPO step ms, median (min-max) of ${n}: tfjs kernels ${stat(ms.tfjs)} | own matMul kernels ${stat(ms.own)}`,
);
process.exit(0);
