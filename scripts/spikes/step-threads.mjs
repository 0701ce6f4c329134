// Spike 1 (issue 12), end to end: the bench's DPO step (reference log-probs + policy forward/backward +
// AdamW, 16 pairs x 64 tokens, default GPT) on the plain SIMD wasm build vs the threaded-SIMD build with
// 1 and 2 XNNPACK threads. 'wasm' is replaced before first use, so the project's code runs unchanged.
// One backend per process (tfjs has one 'wasm'); the driver alternates processes A B C A B C ...
// Run: node --import tsx scripts/spikes/step-threads.mjs [rounds]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const mode = process.argv[2];

if (mode === 'plain' || mode === 'mt1' || mode === 'mt2') {
  const tf = await import('@tensorflow/tfjs');
  if (mode !== 'plain') {
    const { replaceWasmBackend } = await import('./threaded-wasm.mjs');
    await replaceWasmBackend(mode === 'mt1' ? 1 : 2);
  }
  const { initBackend } = await import('../../src/backend/select-backend.ts');
  const { GPT } = await import('../../src/model/gpt.ts');
  const { AdamW, DEFAULT_ADAMW } = await import('../../src/model/adamw.ts');
  const { DEFAULT_GPT_CONFIG } = await import('../../src/model/config.ts');
  const { randomPairRows } = await import('../../src/bench/workload.ts');
  const { preferenceGradient, sequenceLogProbs } = await import('../../src/tso/dpo-step.ts');
  await initBackend('wasm');
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
  const step = () => {
    const ref = sequenceLogProbs(reference, seqs);
    const r = preferenceGradient(policy, { seqs }, ref, loss);
    opt.apply(r.grad);
    return r.loss;
  };
  const losses = [step(), step()]; // warm-up; the losses double as a same-result check
  const ms = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    losses.push(step());
    ms.push(performance.now() - t0);
  }
  const threads = tf.backend().wasm.tfjs.getThreadsCount();
  const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(JSON.stringify({ mode, threads, ms, losses, rssMb }));
  process.exit(0);
} else {
  const rounds = Number(mode ?? 3);
  const res = {};
  const lossRuns = [];
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? ['mt2', 'mt1', 'plain'] : ['plain', 'mt1', 'mt2']) {
      const out = spawnSync(process.execPath, ['--import', 'tsx', self, m], { encoding: 'utf8' });
      const line = out.stdout.trim().split('\n').pop() ?? '';
      if (out.status !== 0 || !line.startsWith('{'))
        throw new Error(`${m} failed: ${out.stderr.slice(-2000)}`);
      const o = JSON.parse(line);
      lossRuns.push(o.losses.join(','));
      console.log(
        `round ${r} ${m}: threads ${o.threads}, RSS ${o.rssMb} MB, step ms ${o.ms.map((x) => x.toFixed(0)).join(' ')}, losses ${o.losses.map((x) => x.toFixed(6)).join(' ')}`,
      );
      (res[m] ??= []).push(...o.ms);
    }
  }
  console.log(`losses bit-identical across all runs: ${new Set(lossRuns).size === 1}`);
  for (const [m, v] of Object.entries(res)) {
    const s = [...v].sort((p, q) => p - q);
    console.log(
      `${m}: DPO step ms median ${s[s.length >> 1].toFixed(0)} (${s[0].toFixed(0)}-${s[s.length - 1].toFixed(0)}), n=${s.length}`,
    );
  }
}
