// Gradients as one flat Float32Array in parameter order: the unit replicas exchange.
import * as tf from '@tensorflow/tfjs';
import type { GPT } from './gpt.js';

export interface FlatGradient {
  loss: number;
  grad: Float32Array;
}

/** Runs `lossFn` (which must use `model`'s variables) and returns its value and flat gradient. */
export function computeFlatGradient(model: GPT, lossFn: () => tf.Scalar): FlatGradient {
  const [value, flat] = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(lossFn, model.vars);
    const parts = model.vars.map((v) => {
      const g = grads[v.name];
      // A parameter the loss does not touch has no gradient entry: it contributes zeros.
      return g ? tf.reshape(g, [-1]) : tf.zeros([v.size]);
    });
    return [value, tf.concat(parts)];
  });
  // Read outside tidy: tidy walks whatever it returns, and a 1M-entry array costs ~300 ms to walk.
  const grad = flat.dataSync() as Float32Array;
  const loss = value.dataSync()[0];
  tf.dispose([value, flat]);
  return { loss, grad };
}

/**
 * Element-wise weighted mean of gradients, summed in float64 in the given (fixed) order: every entry is
 * ((0 + g0·w0) + g1·w1 + …) / Σw, rounded to float32 once. One pass with no float64 buffer: the
 * coordinator runs this every optimizer step.
 */
export function averageGradients(grads: Float32Array[], weights?: number[]): Float32Array {
  if (grads.length === 0) throw new Error('no gradients to average');
  const n = grads[0].length;
  const w = weights ?? grads.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  grads.forEach((g, k) => {
    if (g.length !== n) throw new Error(`gradient ${k} has ${g.length} values, expected ${n}`);
  });
  const out = new Float32Array(n);
  const k = grads.length;
  if (k === 2) {
    // The common case (two shards), without the inner loop.
    const [a, b] = grads;
    const [wa, wb] = w;
    for (let i = 0; i < n; i++) out[i] = (0 + a[i] * wa + b[i] * wb) / total;
    return out;
  }
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < k; j++) acc += grads[j][i] * w[j];
    out[i] = acc / total;
  }
  return out;
}

/**
 * Index of the first NaN or ±Infinity entry, or −1. A plain loop: `Array.prototype.some` with a callback
 * is ~5× slower, and every replica and the coordinator scan each gradient once per step.
 */
export function firstNonFinite(g: Float32Array): number {
  for (let i = 0; i < g.length; i++) {
    const x = g[i];
    // x − x is 0 for every finite x and NaN for NaN and ±Infinity.
    if (x - x !== 0) return i;
  }
  return -1;
}
