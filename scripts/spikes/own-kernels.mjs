// Spike 2 (issue 12): own wasm SIMD kernels (kernels.c) run on tfjs-backend-wasm's own heap, A/B against
// the tfjs ops in the same process, single-threaded. Build first: scripts/spikes/build-kernels.sh
// Run: node scripts/spikes/own-kernels.mjs [rounds]
//      VARIANTS=ls4x8,ls6x8,ls4x16,sp4x8,sp6x8 node scripts/spikes/own-kernels.mjs [rounds]  (sgemm tiles)
//      THREADED=1 node scripts/spikes/own-kernels.mjs  (on the threaded-SIMD build's shared memory, 1 thread)
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadOwnKernels } from './own-kernels-lib.mjs';

if (process.env.THREADED === '1') await (await import('./threaded-wasm.mjs')).replaceWasmBackend(1);
await tf.setBackend('wasm');
const own = await loadOwnKernels();
console.log(
  `on tfjs-backend-wasm's ${own.shared ? 'threaded-SIMD' : 'SIMD'} build's memory (shared: ${own.shared})`,
);
const heapMb = () => (own.memory.buffer.byteLength / 2 ** 20).toFixed(0);
const heapAtStart = heapMb();

function tfGelu(x) {
  const s = tf.sigmoid(tf.mul(x, 1.702)); // src/model/kernels.ts gelu() forward
  return [tf.mul(x, s), s];
}
function tfLayerNorm(x, g, b) {
  return tf.tidy(() => {
    // src/model/kernels.ts layerNorm() forward
    const { mean, variance } = tf.moments(x, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, 1e-5));
    const xhat = tf.mul(tf.sub(x, mean), rstd);
    return [tf.add(tf.mul(xhat, g), b), xhat, rstd];
  });
}
// Relative max difference |a-b|/(1+|b|).
const maxDiff = (p, q) => {
  const a = p.dataSync();
  const b = q.dataSync();
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return d;
};
const stat = (v, f = (x) => x) => {
  const s = v.map(f).sort((p, q) => p - q);
  const d = s[0] < 10 ? 3 : 1;
  return `${s[s.length >> 1].toFixed(d)} (${s[0].toFixed(d)}-${s[s.length - 1].toFixed(d)})`;
};
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];

const shapes = [
  [2016, 128, 384],
  [2016, 128, 512],
  [2016, 512, 128],
  [2016, 128, 259],
  [512, 512, 512],
];
const rounds = Number(process.argv[2] ?? 9);
const reps = 5;

if (process.env.VARIANTS) {
  // Which sgemm tile is fastest: tfjs, then each variant, interleaved, on every shape.
  const names = process.env.VARIANTS.split(',');
  for (const [M, K, N] of shapes) {
    const a = tf.randomNormal([M, K]);
    const b = tf.randomNormal([K, N]);
    const fs = { tfjs: () => tf.matMul(a, b) };
    for (const n of names) fs[n] = () => own.matMul(a, b, { variant: n });
    const ref = tf.matMul(a, b);
    const res = {};
    for (let r = 0; r < rounds; r++)
      for (const [n, f] of Object.entries(fs)) {
        if (r === 0) {
          const o = f();
          const d = maxDiff(o, ref);
          if (d > 1e-4) console.log(`${n} ${M},${K},${N}: WRONG, max rel diff ${d}`);
          o.dispose();
        }
        const t0 = performance.now();
        for (let j = 0; j < reps; j++) f().dispose();
        (res[n] ??= []).push((2 * M * K * N) / ((performance.now() - t0) / reps) / 1e6);
      }
    const line = Object.entries(res).map(([n, v]) => `${n} ${stat(v)}`);
    console.log(`${M},${K},${N} GFLOP/s: ${line.join(' | ')}`);
    tf.dispose([a, b, ref]);
  }
  process.exit(0);
}

const cases = shapes.map(([M, K, N]) => {
  const a = tf.randomNormal([M, K]);
  const b = tf.randomNormal([K, N]);
  return {
    name: `matMul ${M},${K},${N}`,
    flop: 2 * M * K * N,
    A: () => tf.matMul(a, b),
    B: () => own.matMul(a, b),
  };
});
{
  // linear(): x·W + bias through tf.fused.matMul; the own kernel starts its accumulators from the bias.
  const [M, K, N] = [2016, 128, 384];
  const a = tf.randomNormal([M, K]);
  const b = tf.randomNormal([K, N]);
  const bias = tf.randomNormal([N]);
  cases.push({
    name: `fused matMul+bias ${M},${K},${N}`,
    flop: 2 * M * K * N,
    A: () => tf.fused.matMul({ a, b, bias }),
    B: () => own.matMul(a, b, { bias }),
  });
}
// The backward pass's dy · Wᵀ: the project (src/model/kernels.ts matMulBT) materialises the transpose on
// wasm; the own kernel folds it into its packing.
for (const [M, K, N] of [
  [2016, 384, 128],
  [2016, 128, 512],
]) {
  const a = tf.randomNormal([M, K]);
  const bt = tf.randomNormal([N, K]);
  cases.push({
    name: `matMul A·Bt ${M},${K},${N}`,
    flop: 2 * M * K * N,
    A: () => tf.tidy(() => tf.matMul(a, tf.transpose(bt))),
    B: () => own.matMul(a, bt, { transposeB: true }),
  });
}
{
  const x = tf.randomNormal([2016, 512]);
  cases.push({ name: 'gelu fwd 2016x512', A: () => tfGelu(x), B: () => own.gelu(x) });
  const xl = tf.randomNormal([2016, 128], 0.3, 2);
  const g = tf.randomNormal([128], 1, 0.1);
  const bb = tf.randomNormal([128]);
  cases.push({
    name: 'layernorm fwd 2016x128',
    A: () => tfLayerNorm(xl, g, bb),
    B: () => own.layerNorm(xl, g, bb),
  });
}

for (const c of cases) {
  const ra = [c.A()].flat();
  const rb = [c.B()].flat();
  console.log(
    `${c.name}: max rel diff own vs tfjs = ${ra.map((t, i) => maxDiff(rb[i], t).toExponential(1)).join(', ')}`,
  );
  tf.dispose([ra, rb]);
}
const time = (f) => {
  tf.dispose(f()); // warm
  const t0 = performance.now();
  for (let j = 0; j < reps; j++) tf.dispose(f());
  return (performance.now() - t0) / reps;
};
const ms = cases.map(() => ({ A: [], B: [] }));
for (let r = 0; r < rounds; r++)
  cases.forEach((c, i) => {
    for (const v of r % 2 ? ['B', 'A'] : ['A', 'B']) ms[i][v].push(time(c[v]));
  });
console.log(
  `\nmedian (min-max) over ${rounds} interleaved rounds of ${reps} calls; A = tfjs wasm, B = own kernel`,
);
cases.forEach((c, i) => {
  const gf = c.flop
    ? ` | GFLOP/s A ${stat(ms[i].A, (t) => c.flop / t / 1e6)} B ${stat(ms[i].B, (t) => c.flop / t / 1e6)}`
    : '';
  console.log(
    `${c.name}: ms A ${stat(ms[i].A)} B ${stat(ms[i].B)}${gf} | A/B ${(med(ms[i].A) / med(ms[i].B)).toFixed(2)}x`,
  );
});
console.log(
  `tfjs heap ${heapAtStart} MB at load, ${heapMb()} MB at the end (the kernels get offsets, not views)`,
);
