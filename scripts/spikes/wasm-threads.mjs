// Spike 1 (issue 12): tfjs-backend-wasm's threaded-SIMD build under Node 20 (emscripten pthreads over
// worker_threads), A/B against the plain SIMD build that tfjs picks in Node, in the same process.
// Run: node scripts/spikes/wasm-threads.mjs [rounds]
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerThreaded } from './threaded-wasm.mjs';

const shapes = [
  [2016, 128, 384],
  [2016, 128, 512],
  [2016, 512, 128],
  [2016, 128, 259],
  [512, 512, 512],
];
const rounds = Number(process.argv[2] ?? 7);
const reps = 5;

await tf.setBackend('wasm'); // the plain SIMD build (WASM_HAS_MULTITHREAD_SUPPORT is false in node)
const mods = {
  'wasm-mt1': await registerThreaded('wasm-mt1', 1),
  'wasm-mt2': await registerThreaded('wasm-mt2', 2),
};
const backends = ['wasm', 'wasm-mt1', 'wasm-mt2'];
for (const b of backends.slice(1)) {
  await tf.setBackend(b);
  console.log(`${b}: XNNPACK threads = ${mods[b].tfjs.getThreadsCount()}`);
}

const inputs = {};
for (const b of backends) {
  await tf.setBackend(b);
  inputs[b] = shapes.map(([m, k, n]) => [tf.randomNormal([m, k]), tf.randomNormal([k, n])]);
}
// Correctness: threaded result == plain result.
{
  await tf.setBackend('wasm');
  const a = inputs.wasm[0][0].arraySync();
  const bm = inputs.wasm[0][1].arraySync();
  const ref = tf.matMul(inputs.wasm[0][0], inputs.wasm[0][1]).dataSync();
  for (const b of backends.slice(1)) {
    await tf.setBackend(b);
    const got = tf.matMul(tf.tensor(a), tf.tensor(bm)).dataSync();
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i] - got[i]));
    console.log(`${b}: max |diff| vs plain SIMD on ${shapes[0].join('x')}: ${d.toExponential(2)}`);
  }
}

const res = {}; // res[backend][shape] = [GFLOP/s per round]
const cpu = {}; // cpu[backend][shape] = [CPU time / wall time per round]
for (let r = 0; r < rounds; r++) {
  // A B C, then reversed on odd rounds (A B C C B A ...), so drift hits all three alike.
  const order = r % 2 ? [...backends].reverse() : backends;
  for (const b of order) {
    await tf.setBackend(b);
    shapes.forEach(([m, k, n], i) => {
      const [x, w] = inputs[b][i];
      tf.matMul(x, w).dispose(); // warm
      const c0 = process.cpuUsage(); // process-wide: includes the pthread workers
      const t0 = performance.now();
      for (let j = 0; j < reps; j++) tf.matMul(x, w).dispose(); // wasm kernels run synchronously
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      ((cpu[b] ??= {})[i] ??= []).push((c.user + c.system) / 1000 / wall);
      const ms = wall / reps;
      ((res[b] ??= {})[i] ??= []).push((2 * m * k * n) / ms / 1e6);
    });
  }
}
const stat = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return `${s[s.length >> 1].toFixed(1)} (${s[0].toFixed(1)}-${s[s.length - 1].toFixed(1)})`;
};
console.log(`\nGFLOP/s, median (min-max) over ${rounds} interleaved rounds of ${reps} matMuls`);
console.log(['shape M,K,N', ...backends].join(' | '));
shapes.forEach((s, i) => console.log([s.join(','), ...backends.map((b) => stat(res[b][i]))].join(' | ')));
console.log('\nCPU time / wall time during the matMuls (1 = one core busy), median (min-max)');
shapes.forEach((s, i) => console.log([s.join(','), ...backends.map((b) => stat(cpu[b][i]))].join(' | ')));
process.exit(0); // the pthread pools keep the event loop alive
