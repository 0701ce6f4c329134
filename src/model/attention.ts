// Scaled dot-product attention core: softmax(q·kᵀ + mask)·v over [B·H, T, dh] heads.
// Why two paths: on wasm, batched matMul runs a naive loop (~2 GFLOP/s) while 2-D matMul runs XNNPACK
// (~25 GFLOP/s), so for training-sized blocks we loop over heads with 2-D matMuls and write the gradient
// by hand (autograd through 128 slices would pad every slice back to full size).
import * as tf from '@tensorflow/tfjs';
import { HEADS_MATMUL } from '../backend/wasm-heads-matmul.js';
import { customOp } from './custom-op.js';

/** Per-head 2-D matMuls pay off once a head's block is this many multiply-adds (empirical, wasm). */
const LOOP_MIN_MACS = 16 * 1024;

/** For each head i: a_i · b_i, where a is [n, r, k] and b is [n, k, c]; one wasm dispatch. */
function headsMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [n, r, k] = a.shape;
  const c = b.shape[2];
  const a2 = tf.reshape(a, [n * r, k]);
  const b2 = tf.reshape(b, [n * k, c]);
  const attrs = { n } as unknown as tf.NamedAttrMap;
  return tf.reshape(tf.engine().runKernel(HEADS_MATMUL, { a: a2, b: b2 }, attrs) as tf.Tensor, [n, r, c]);
}

const swap = (t: tf.Tensor3D): tf.Tensor3D => tf.transpose(t, [0, 2, 1]);

/** softmax over the last axis of scores [B·H, T, Tk] after adding mask [B, 1, T, Tk]. */
function maskedSoftmax(scores: tf.Tensor3D, mask: tf.Tensor, B: number): tf.Tensor3D {
  const [BH, T, Tk] = scores.shape;
  const s4 = tf.add(tf.reshape(scores, [B, BH / B, T, Tk]), mask);
  return tf.reshape(tf.softmax(s4), [BH, T, Tk]);
}

/**
 * q [B·H, T, dh] (already scaled by 1/sqrt(dh)), k and v [B·H, Tk, dh], mask additive [B, 1, T, Tk].
 * Returns [B·H, T, dh].
 */
export function attend(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor,
  B: number,
): tf.Tensor3D {
  const [, T, dh] = q.shape;
  const Tk = k.shape[1];
  if (tf.getBackend() !== 'wasm' || T * Tk * dh < LOOP_MIN_MACS) {
    return tf.matMul(maskedSoftmax(tf.matMul(q, k, false, true), mask, B), v);
  }
  const f = customOp(3, ([qi, ki, vi], save) => {
    const p = maskedSoftmax(headsMatMul(qi as tf.Tensor3D, swap(ki as tf.Tensor3D)), mask, B);
    save([qi, ki, vi, p]);
    return {
      value: headsMatMul(p, vi as tf.Tensor3D),
      gradFunc: (dy, saved) => {
        const [qs, ks, vs, ps] = saved as tf.Tensor3D[];
        const dO = dy as tf.Tensor3D;
        const dP = headsMatMul(dO, swap(vs));
        const dv = headsMatMul(swap(ps), dO);
        // softmax backward: dS = P ⊙ (dP − Σ_j dP ⊙ P)
        const dS = tf.mul(ps, tf.sub(dP, tf.sum(tf.mul(dP, ps), -1, true))) as tf.Tensor3D;
        const dq = headsMatMul(dS, ks);
        const dk = headsMatMul(swap(dS), qs);
        return [dq, dk, dv];
      },
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}
