// Building blocks with hand-written gradients. Why: tfjs's built-in matMul gradient uses the transpose
// flags, which hit a ~10x slower kernel on the wasm backend (see PERF-NOTES.md), and autograd through
// layer norm / log-softmax creates many small ops. Each function here is one readable formula.
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';

/** On wasm, a transposed operand is much faster materialised than passed as a matMul flag. */
function explicitTranspose(): boolean {
  return tf.getBackend() === 'wasm';
}

/** a · bᵀ for 2-D tensors, using whichever form is fast on the current backend. */
export function matMulBT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return explicitTranspose() ? tf.matMul(a, tf.transpose(b)) : tf.matMul(a, b, false, true);
}

/** aᵀ · b for 2-D tensors. */
export function matMulAT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return explicitTranspose() ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, b, true, false);
}

/**
 * Column sums of a [N, C] matrix (bias and norm-parameter gradients). On wasm, Sum over axis 0 transposes
 * first and runs ~10x slower than 1ᵀ·g on XNNPACK (0.09 vs 1.4 ms at [2016, 512]).
 */
export function sumRows(g: tf.Tensor2D): tf.Tensor1D {
  if (tf.getBackend() !== 'wasm') return tf.sum(g, 0);
  const [n, c] = g.shape;
  return tf.reshape(tf.matMul(tf.ones([1, n]), g), [c]);
}

/** y = x·w + bias for x [N, in], w [in, out], bias [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (bias === undefined) {
    const f = customOp(2, ([xi, wi], save) => {
      save([xi, wi]);
      return {
        value: tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D),
        gradFunc: (dy, saved) => {
          const g = dy as tf.Tensor2D;
          const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
          return [matMulBT(g, ws), matMulAT(xs, g)];
        },
      };
    });
    return f(x, w) as tf.Tensor2D;
  }
  return biasedLinear(x, w, bias, matMulBT);
}

/** x·w + bias, its input gradient computed by `dx` (whose summation order decides the bits). */
function biasedLinear(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  bias: tf.Tensor1D,
  dx: (g: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D,
): tf.Tensor2D {
  const f = customOp(3, ([xi, wi, bi], save) => {
    save([xi, wi]);
    return {
      value: tf.fused.matMul({ a: xi as tf.Tensor2D, b: wi as tf.Tensor2D, bias: bi }),
      gradFunc: (dy, saved) => {
        const g = dy as tf.Tensor2D;
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [dx(g, ws), matMulAT(xs, g), sumRows(g)];
      },
    };
  });
  return f(x, w, bias) as tf.Tensor2D;
}

/**
 * [q | k | v] = x·w + bias for w [D, 3D]: one matMul forward. The input gradient is summed the way it
 * was when q, k and v were three linears on column blocks of w — (dx_v + dx_k) + dx_q, the order tfjs's
 * tape accumulated them — so training gives the bits it gave before the fused forward (the shipped
 * models and recorded runs were made that way, and `make pretrain` reproduces their SHA-256s). The
 * weight and bias gradients are per column, so one matMul gives their old bits as it is.
 */
export function linearQKV(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  return biasedLinear(x, w, bias, (g, ws) => {
    const [n, d3] = g.shape;
    const d = d3 / 3;
    const dxOf = (j: number) =>
      matMulBT(tf.slice(g, [0, j * d], [n, d]), tf.slice(ws, [0, j * d], [ws.shape[0], d]));
    return tf.add(tf.add(dxOf(2), dxOf(1)), dxOf(0));
  });
}

/** Layer norm over the last axis of x [N, D] with gain g and bias b. */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  const f = customOp(3, ([xi, gi, bi], save) => {
    // tf.moments by hand: the same ops and bits, minus its float32 Cast and a second x − mean.
    const centered = tf.sub(xi, tf.mean(xi, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
    const xhat = tf.mul(centered, rstd);
    save([xhat, rstd, gi]);
    return {
      value: tf.add(tf.mul(xhat, gi), bi),
      gradFunc: (dy, saved) => {
        const d = dy as tf.Tensor2D;
        const [xh, rs, gs] = saved;
        // dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat)), with dxhat = dy · g
        const dxhat = tf.mul(d, gs);
        const m1 = tf.mean(dxhat, -1, true);
        const m2 = tf.mean(tf.mul(dxhat, xh), -1, true);
        const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, m1), tf.mul(xh, m2)));
        return [dx, sumRows(tf.mul(d, xh) as tf.Tensor2D), sumRows(d)];
      },
    };
  });
  return f(x, g, b) as tf.Tensor2D;
}

const GELU_K = 1.702;

/**
 * GELU, sigmoid form: x·σ(1.702x) (Hendrycks & Gimpel). Why not tanh/erf: on wasm those kernels are
 * ~6x slower than sigmoid, and the MLP activation is the largest elementwise tensor in the model.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = customOp(1, ([xi], save) => {
    const s = tf.sigmoid(tf.mul(xi, GELU_K));
    save([xi, s]);
    return {
      value: tf.mul(xi, s),
      gradFunc: (dy, saved) => {
        const [xs, ss] = saved;
        // d/dx x·σ(kx) = σ + k·x·σ·(1 − σ)
        const inner = tf.add(ss, tf.mul(tf.mul(tf.mul(xs, GELU_K), ss), tf.sub(1, ss)));
        return [tf.mul(dy, inner)];
      },
    };
  });
  return f(x);
}

/** Rows of the embedding table E [V, D] for ids [N]; the gradient is scattered back by a one-hot matMul. */
export function embed(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  const vocab = table.shape[0];
  const f = customOp(1, ([ti], save) => {
    // Saved, not captured: tensors a gradient reads must outlive the forward pass's scope.
    save([ids]);
    return {
      value: tf.gather(ti, ids),
      gradFunc: (dy, [idsSaved]) => {
        // tf.gather's own gradient needs UnsortedSegmentSum, which wasm lacks.
        const oneHotT = tf.transpose(
          tf.cast(tf.oneHot(idsSaved as tf.Tensor1D, vocab), 'float32'),
        ) as tf.Tensor2D;
        return [tf.matMul(oneHotT, dy as tf.Tensor2D)];
      },
    };
  });
  return f(table) as tf.Tensor2D;
}

/** log p(target) for each row of logits [N, V]: logits[target] − logsumexp(logits). */
export function tokenLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const vocab = logits.shape[1];
  const f = customOp(1, ([li], save) => {
    const oneHot = tf.cast(tf.oneHot(targets, vocab), 'float32');
    const lse = tf.logSumExp(li, -1, true);
    save([li, lse, oneHot]);
    return {
      value: tf.sub(tf.sum(tf.mul(li, oneHot), -1), tf.squeeze(lse, [1])),
      gradFunc: (dy, saved) => {
        const [ls, lz, oh] = saved;
        const probs = tf.exp(tf.sub(ls, lz));
        return [tf.mul(tf.expandDims(dy, 1), tf.sub(oh, probs))];
      },
    };
  });
  return f(logits) as tf.Tensor1D;
}
