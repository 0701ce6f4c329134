// Spike 2 (issue 12): own wasm SIMD kernels (kernels.c) run on tfjs-backend-wasm's own heap, A/B against
// the tfjs ops in the same process, single-threaded. Build first: scripts/spikes/build-kernels.sh
// Run: node scripts/spikes/own-kernels.mjs [rounds]
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

await tf.setBackend('wasm');
const backend = tf.backend();
// tfjs's emscripten module (plain SIMD build) exports its memory (a non-shared WebAssembly.Memory).
const memory = backend.wasm.asm.memory;
if (!(memory instanceof WebAssembly.Memory)) throw new Error('tfjs-backend-wasm does not expose its memory');
const bytes = readFileSync(new URL('./kernels.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
const k = instance.exports;

const ptr = (t) => backend.dataIdMap.get(t.dataId).memoryOffset;
// One of our kernels as a tfjs op would do it: allocate the outputs on tfjs's heap, run, wrap as tensors.
// Outputs are allocated before the call (allocation may grow memory; we pass offsets, not views).
function ownMatMul(a, b) {
  const [M, K] = a.shape;
  const N = b.shape[1];
  const out = backend.makeOutput([M, N], 'float32');
  k.sgemm(M, N, K, ptr(a), ptr(b), backend.dataIdMap.get(out.dataId).memoryOffset);
  return tf.engine().makeTensorFromTensorInfo(out);
}
// Packed variants: B is packed into NR-column panels in a work buffer on tfjs's heap (part of the call).
const variants = { ls4x8: 8, ls6x8: 8, ls4x16: 16, sp4x8: 8, sp6x8: 8 };
function ownMatMulPacked(name, a, b) {
  const [M, K] = a.shape;
  const N = b.shape[1];
  const NR = variants[name];
  const out = backend.makeOutput([M, N], 'float32');
  const work = backend.wasm._malloc(4 * K * Math.ceil(N / NR) * NR);
  k[`sgemm_${name}`](M, N, K, ptr(a), ptr(b), backend.dataIdMap.get(out.dataId).memoryOffset, work);
  backend.wasm._free(work);
  return tf.engine().makeTensorFromTensorInfo(out);
}
function ownMatMulBT(a, bt) {
  const [M, K] = a.shape;
  const N = bt.shape[0];
  const out = backend.makeOutput([M, N], 'float32');
  const work = backend.wasm._malloc(4 * K * Math.ceil(N / 8) * 8);
  k.sgemm_bt_ls4x8(M, N, K, ptr(a), ptr(bt), backend.dataIdMap.get(out.dataId).memoryOffset, work);
  backend.wasm._free(work);
  return tf.engine().makeTensorFromTensorInfo(out);
}
function ownGelu(x) {
  const y = backend.makeOutput(x.shape, 'float32');
  const s = backend.makeOutput(x.shape, 'float32');
  k.gelu_fwd(x.size, ptr(x), ptr(y), ptr(s));
  return [tf.engine().makeTensorFromTensorInfo(y), tf.engine().makeTensorFromTensorInfo(s)];
}
function tfGelu(x) {
  const s = tf.sigmoid(tf.mul(x, 1.702)); // src/model/kernels.ts gelu() forward
  return [tf.mul(x, s), s];
}
function ownLayerNorm(x, g, b) {
  const [R, D] = x.shape;
  const xhat = backend.makeOutput([R, D], 'float32');
  const rstd = backend.makeOutput([R, 1], 'float32');
  const y = backend.makeOutput([R, D], 'float32');
  k.layernorm_fwd(R, D, ptr(x), ptr(g), ptr(b), 1e-5, ptr(xhat), ptr(rstd), ptr(y));
  return [y, xhat, rstd].map((t) => tf.engine().makeTensorFromTensorInfo(t));
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

const maxDiffRaw = (p, q) => maxDiff(p, q);
const maxDiff = (p, q) => {
  const a = p.dataSync();
  const b = q.dataSync();
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return d;
};

const shapes = [
  [2016, 128, 384],
  [2016, 128, 512],
  [2016, 512, 128],
  [2016, 128, 259],
  [512, 512, 512],
];
const cases = shapes.map(([M, K, N]) => {
  const a = tf.randomNormal([M, K]);
  const b = tf.randomNormal([K, N]);
  return {
    name: `matMul ${M},${K},${N}`,
    flop: 2 * M * K * N,
    A: () => tf.matMul(a, b),
    B: () => ownMatMulPacked('ls4x8', a, b),
  };
});
// The backward pass's dy · Wᵀ: the project (src/model/kernels.ts matMulBT) materialises the transpose
// on wasm; the own kernel folds it into its packing.
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
    B: () => ownMatMulBT(a, bt),
  });
}
// Which sgemm variant is fastest: tfjs, then each variant, interleaved, on every shape.
const only = process.env.VARIANTS;
if (only) {
  const names = only.split(',');
  const rounds = Number(process.argv[2] ?? 5);
  for (const [M, K, N] of shapes) {
    const a = tf.randomNormal([M, K]);
    const b = tf.randomNormal([K, N]);
    const fs = { tfjs: () => tf.matMul(a, b), plain6x8: () => ownMatMul(a, b) };
    for (const n of names) fs[n] = () => ownMatMulPacked(n, a, b);
    const ref = tf.matMul(a, b);
    const res = {};
    for (let r = 0; r < rounds; r++)
      for (const [n, f] of Object.entries(fs)) {
        if (r === 0) {
          const o = f();
          const d = maxDiffRaw(o, ref);
          if (d > 1e-4) console.log(`${n} ${M},${K},${N}: WRONG, max rel diff ${d}`);
          o.dispose();
        }
        const t0 = performance.now();
        for (let j = 0; j < 5; j++) f().dispose();
        (res[n] ??= []).push((2 * M * K * N) / ((performance.now() - t0) / 5) / 1e6);
      }
    const line = Object.entries(res).map(([n, v]) => {
      const s = [...v].sort((p, q) => p - q);
      return `${n} ${s[s.length >> 1].toFixed(1)} (${s[0].toFixed(1)}-${s[s.length - 1].toFixed(1)})`;
    });
    console.log(`${M},${K},${N} GFLOP/s: ${line.join(' | ')}`);
    tf.dispose([a, b, ref]);
  }
  process.exit(0);
}
{
  const x = tf.randomNormal([2016, 512]);
  cases.push({ name: 'gelu fwd 2016x512', A: () => tfGelu(x), B: () => ownGelu(x) });
  const xl = tf.randomNormal([2016, 128], 0.3, 2);
  const g = tf.randomNormal([128], 1, 0.1);
  const bb = tf.randomNormal([128]);
  cases.push({
    name: 'layernorm fwd 2016x128',
    A: () => tfLayerNorm(xl, g, bb),
    B: () => ownLayerNorm(xl, g, bb),
  });
}

// Correctness (relative max difference, |a-b|/(1+|b|)), then A/B timings interleaved per round.
for (const c of cases) {
  const ra = [c.A()].flat();
  const rb = [c.B()].flat();
  console.log(
    `${c.name}: max rel diff own vs tfjs = ${ra.map((t, i) => maxDiff(rb[i], t).toExponential(1)).join(', ')}`,
  );
  tf.dispose([ra, rb]);
}
const rounds = Number(process.argv[2] ?? 9);
const reps = 5;
const time = (f) => {
  tf.dispose(f()); // warm
  const t0 = performance.now();
  for (let j = 0; j < reps; j++) tf.dispose(f());
  return (performance.now() - t0) / reps;
};
const ms = cases.map(() => ({ A: [], B: [] }));
for (let r = 0; r < rounds; r++) {
  cases.forEach((c, i) => {
    const order = r % 2 ? ['B', 'A'] : ['A', 'B'];
    for (const v of order) ms[i][v].push(time(c[v]));
  });
}
const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const fmt = (a, f) => {
  const s = [...a].map(f).sort((p, q) => p - q);
  return `${med(s).toFixed(s[0] < 10 ? 3 : 1)} (${s[0].toFixed(s[0] < 10 ? 3 : 1)}-${s[s.length - 1].toFixed(s[0] < 10 ? 3 : 1)})`;
};
console.log(
  `\nmedian (min-max) over ${rounds} interleaved rounds of ${reps} calls; A = tfjs wasm, B = own kernel`,
);
cases.forEach((c, i) => {
  const speedup = med(ms[i].A) / med(ms[i].B);
  const gf = c.flop
    ? ` | GFLOP/s A ${fmt(ms[i].A, (t) => c.flop / t / 1e6)} B ${fmt(ms[i].B, (t) => c.flop / t / 1e6)}`
    : '';
  console.log(
    `${c.name}: ms A ${fmt(ms[i].A, (t) => t)} B ${fmt(ms[i].B, (t) => t)}${gf} | A/B ${speedup.toFixed(2)}x`,
  );
});
