// Own wasm SIMD kernels (kernels.c) on tfjs-backend-wasm's heap, as plain functions and as tfjs kernels.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

/** Instantiates kernels(-shared).wasm on the memory of the current 'wasm' backend. */
export async function loadOwnKernels() {
  const backend = tf.findBackend('wasm');
  // tfjs's emscripten module exports its memory: the plain SIMD build as asm.memory (non-shared); the
  // threaded build creates a shared one itself and keeps it as wasmMemory.
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm.memory;
  if (!(memory instanceof WebAssembly.Memory))
    throw new Error('tfjs-backend-wasm does not expose its memory');
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const bytes = readFileSync(new URL(shared ? './kernels-shared.wasm' : './kernels.wasm', import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  const k = instance.exports;
  const off = (t) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const wrap = (t) => tf.engine().makeTensorFromTensorInfo(t);
  const NR = { ls4x8: 8, ls6x8: 8, ls4x16: 16, sp4x8: 8, sp6x8: 8 };

  /**
   * c = a·b (+ bias) on TensorInfos, a [..., M, K], b [..., K, N] or with transposeB [..., N, K]; batch dims
   * equal. Outputs are allocated before the call: allocation may grow memory; we pass offsets, not views.
   */
  function matMulInfo(a, b, { transposeB = false, bias, variant = 'ls4x8' } = {}) {
    const r = a.shape.length;
    const [M, K] = a.shape.slice(-2);
    const N = transposeB ? b.shape[r - 2] : b.shape[r - 1];
    const batch = a.shape.slice(0, -2).reduce((p, q) => p * q, 1);
    const out = backend.makeOutput([...a.shape.slice(0, -2), M, N], 'float32');
    const nr = transposeB ? 8 : NR[variant];
    const np = Math.ceil(N / nr) * nr;
    const work = backend.wasm._malloc(4 * (K * np + np));
    const f = transposeB ? k.sgemm_bt_ls4x8 : k[`sgemm_${variant}`];
    const [pa, pb, pc] = [off(a), off(b), off(out)];
    const pbias = bias ? off(bias) : 0;
    for (let i = 0; i < batch; i++)
      f(M, N, K, pa + 4 * i * M * K, pb + 4 * i * K * N, pc + 4 * i * M * N, work, pbias);
    backend.wasm._free(work);
    return out;
  }
  return {
    k,
    backend,
    memory,
    shared,
    matMul: (a, b, opts) => wrap(matMulInfo(a, b, opts)),
    matMulInfo,
    /** GELU (sigmoid form) forward: [y, s] with s = σ(1.702x), y = x·s. */
    gelu(x) {
      const y = backend.makeOutput(x.shape, 'float32');
      const s = backend.makeOutput(x.shape, 'float32');
      k.gelu_fwd(x.size, off(x), off(y), off(s));
      return [wrap(y), wrap(s)];
    },
    /** Layer norm forward over the last axis: [y, xhat, rstd]. */
    layerNorm(x, g, b, eps = 1e-5) {
      const [R, D] = x.shape;
      const xhat = backend.makeOutput([R, D], 'float32');
      const rstd = backend.makeOutput([R, 1], 'float32');
      const y = backend.makeOutput([R, D], 'float32');
      k.layernorm_fwd(R, D, off(x), off(g), off(b), eps, off(xhat), off(rstd), off(y));
      return [y, xhat, rstd].map(wrap);
    },
  };
}

/**
 * Own BatchMatMul / _FusedMatMul kernels for the cases the kernels cover (f32, 2-D, no transposed A, no
 * activation or prelu), falling back to tfjs's wasm kernels otherwise. Returns a switch:
 * use(true) installs ours, use(false) tfjs's.
 */
export function matMulKernelSwitch(lib) {
  const orig = {
    BatchMatMul: tf.getKernel('BatchMatMul', 'wasm'),
    _FusedMatMul: tf.getKernel('_FusedMatMul', 'wasm'),
  };
  // RANK3=1 also takes the batched (attention) matMuls; by default only 2-D ones, tfjs keeps the rest.
  const rank3 = process.env.RANK3 === '1';
  const sameBatch = (a, b) =>
    (rank3 || a.shape.length === 2) &&
    a.shape.length === b.shape.length &&
    a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
  const ours = {
    BatchMatMul(args) {
      const { a, b } = args.inputs;
      const { transposeA, transposeB } = args.attrs;
      if (transposeA || a.dtype !== 'float32' || !sameBatch(a, b)) return orig.BatchMatMul.kernelFunc(args);
      return lib.matMulInfo(a, b, { transposeB });
    },
    _FusedMatMul(args) {
      const { a, b, bias, preluActivationWeights } = args.inputs;
      const { transposeA, transposeB, activation } = args.attrs;
      const N = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
      const plainBias = bias == null || (bias.shape.length === 1 && bias.shape[0] === N);
      if (
        transposeA ||
        preluActivationWeights ||
        (activation && activation !== 'linear') ||
        !plainBias ||
        !sameBatch(a, b)
      )
        return orig._FusedMatMul.kernelFunc(args);
      return lib.matMulInfo(a, b, { transposeB, bias });
    },
  };
  return (on) => {
    for (const name of ['BatchMatMul', '_FusedMatMul']) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(on ? { kernelName: name, backendName: 'wasm', kernelFunc: ours[name] } : orig[name]);
    }
  };
}
