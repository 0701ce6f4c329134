// A decoder-only transformer (GPT-2 shape: pre-LN blocks, causal self-attention, GELU MLP 4x, learned
// positions, biases, untied head), written with tfjs core ops. Read top to bottom: params, block, forward.
import * as tf from '@tensorflow/tfjs';
import { type GPTConfig, type ParamSpec, paramSpecs, paramCount } from './config.js';
import { attend } from './attention.js';
import { embed, gelu, layerNorm, linear, linearQKV, tokenLogProbs } from './kernels.js';
import { deriveSeed, normalArray } from './seeded-normal.js';

/** Per-layer keys/values for incremental decoding, plus the left padding of each row. */
export interface KVCache {
  k: (tf.Tensor3D | null)[]; // [B*H, Tk, dh] per layer
  v: (tf.Tensor3D | null)[];
  /** Number of left-pad columns in each row (generation left-pads prompts of different lengths). */
  pad: number[];
  /** Columns already in the cache. */
  length: number;
}

const NEG_INF = -1e9;

export class GPT {
  readonly config: GPTConfig;
  readonly specs: ParamSpec[];
  /** Parameters in spec order; `p` looks one up by name. */
  readonly vars: tf.Variable[];
  private readonly byName = new Map<string, tf.Variable>();

  private constructor(config: GPTConfig, values: Float32Array[], trainable: boolean) {
    this.config = config;
    this.specs = paramSpecs(config);
    if (values.length !== this.specs.length) {
      throw new Error(`expected ${this.specs.length} parameter arrays, got ${values.length}`);
    }
    this.vars = this.specs.map((s, i) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      if (values[i].length !== size) {
        throw new Error(
          `parameter ${s.name}: expected ${size} values for shape [${s.shape}], got ${values[i].length}`,
        );
      }
      const v = tf.tidy(() =>
        tf.variable(tf.tensor(values[i], s.shape, 'float32'), trainable, undefined, 'float32'),
      );
      this.byName.set(s.name, v);
      return v;
    });
  }

  /** A freshly initialised model: N(0, 0.02), residual projections scaled by 1/sqrt(2·nLayer). */
  static create(config: GPTConfig, seed: number, trainable = true): GPT {
    const values = paramSpecs(config).map((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (s.init === 'zeros') return new Float32Array(n);
      if (s.init === 'ones') return new Float32Array(n).fill(1);
      const std = s.init === 'normal-residual' ? 0.02 / Math.sqrt(2 * config.nLayer) : 0.02;
      return normalArray(n, std, deriveSeed(seed, i));
    });
    return new GPT(config, values, trainable);
  }

  static fromArrays(config: GPTConfig, values: Float32Array[], trainable = true): GPT {
    return new GPT(config, values, trainable);
  }

  get paramCount(): number {
    return paramCount(this.config);
  }

  p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const v = this.byName.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v as unknown as tf.Tensor<R>;
  }

  /** One pre-LN block on x [N, D] (N = B·T rows, T new columns per row). */
  private block(
    i: number,
    x: tf.Tensor2D,
    B: number,
    T: number,
    mask: tf.Tensor,
    cache?: KVCache,
  ): tf.Tensor2D {
    const { nHead: H, dModel: D } = this.config;
    const dh = D / H;
    const p = `h.${i}.`;
    const h1 = layerNorm(x, this.p(`${p}ln_1.g`), this.p(`${p}ln_1.b`));
    // q, k, v from one matMul over the whole c_attn weight (bit-identical to three column blocks, in the
    // gradient too: see linearQKV; and XNNPACK keeps its packed weights cached per weight tensor, which a
    // fresh slice never hits), then one 4-D transpose to [B, 3H, T, dh] (wasm's 5-D transpose is ~20x
    // slower) and a split, whose gradient is one concat (three slices' gradients would be three
    // full-size pads kept to the end).
    const qkv = linearQKV(h1, this.p(`${p}attn.c_attn.w`), this.p(`${p}attn.c_attn.b`));
    const parts = tf.split(tf.transpose(tf.reshape(qkv, [B, T, 3 * H, dh]), [0, 2, 1, 3]), 3, 1);
    const part = (j: number): tf.Tensor3D => tf.reshape(parts[j], [B * H, T, dh]);
    let kh = part(1);
    let vh = part(2);
    if (cache) {
      const pk = cache.k[i];
      const pv = cache.v[i];
      if (pk && pv) {
        kh = tf.concat([pk, kh], 1);
        vh = tf.concat([pv, vh], 1);
      }
      cache.k[i] = tf.keep(kh);
      cache.v[i] = tf.keep(vh);
      if (pk) pk.dispose();
      if (pv) pv.dispose();
    }
    // The 1/sqrt(dh) scale goes on q, the smallest tensor it can go on.
    const att = attend(tf.mul(part(0), 1 / Math.sqrt(dh)), kh, vh, mask, B);
    // [B·H, T, dh] -> [B·T, D]; with one new column per row (generation) that is a plain reshape.
    const y = (
      T === 1
        ? tf.reshape(att, [B, D])
        : tf.reshape(tf.transpose(tf.reshape(att, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, D])
    ) as tf.Tensor2D;
    const x1: tf.Tensor2D = tf.add(x, linear(y, this.p(`${p}attn.c_proj.w`), this.p(`${p}attn.c_proj.b`)));
    const h2 = layerNorm(x1, this.p(`${p}ln_2.g`), this.p(`${p}ln_2.b`));
    const fc = gelu(linear(h2, this.p(`${p}mlp.c_fc.w`), this.p(`${p}mlp.c_fc.b`))) as tf.Tensor2D;
    const m = linear(fc, this.p(`${p}mlp.c_proj.w`), this.p(`${p}mlp.c_proj.b`));
    return tf.add(x1, m);
  }

  /**
   * Final hidden states [B·T, D] for token ids [B, T]. Without a cache, rows start at position 0 and
   * attention is causal. With a cache, the T columns continue it (incremental decoding).
   */
  hidden(ids: tf.Tensor2D, cache?: KVCache): tf.Tensor2D {
    const [B, T] = ids.shape;
    const start = cache ? cache.length : 0;
    const pad = cache ? cache.pad : new Array<number>(B).fill(0);
    if (start + T - Math.min(...pad) > this.config.blockSize) {
      throw new Error(`sequence of ${start + T} tokens exceeds the context of ${this.config.blockSize}`);
    }
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = Math.max(0, start + t - pad[b]);
    const x0 = tf.add(
      embed(tf.reshape(ids, [B * T]) as tf.Tensor1D, this.p('wte')),
      embed(tf.tensor1d(pos, 'int32'), this.p('wpe')),
    ) as tf.Tensor2D;
    const mask = attentionMask(B, T, start, pad);
    let x = x0;
    for (let i = 0; i < this.config.nLayer; i++) x = this.block(i, x, B, T, mask, cache);
    if (cache) cache.length = start + T;
    return layerNorm(x, this.p('ln_f.g'), this.p('ln_f.b'));
  }

  /** Logits [B·T, V] for token ids [B, T]. */
  logits(ids: tf.Tensor2D, cache?: KVCache): tf.Tensor2D {
    return linear(this.hidden(ids, cache), this.p('lm_head.w'));
  }

  /**
   * Summed log-probs of the tokens where `mask` is 1, for right-padded ids [B, T]: entry b is
   * Σ_t mask[b,t] · log p(ids[b,t] | ids[b,<t]) over t ≥ 1 (the response tokens; prompt and padding masked).
   */
  sequenceLogProbs(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
    const [B, T] = ids.shape;
    const inputs = tf.slice(ids, [0, 0], [B, T - 1]) as tf.Tensor2D;
    const targets = tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [B * (T - 1)]) as tf.Tensor1D;
    const lp = tokenLogProbs(this.logits(inputs), targets);
    const m = tf.slice(mask, [0, 1], [B, T - 1]);
    return tf.sum(tf.mul(tf.reshape(lp, [B, T - 1]), m), 1) as tf.Tensor1D;
  }

  newCache(pad: number[]): KVCache {
    const L = this.config.nLayer;
    return { k: new Array(L).fill(null), v: new Array(L).fill(null), pad: [...pad], length: 0 };
  }

  /** Parameter values in spec order (copies). */
  getWeights(): Float32Array[] {
    return this.vars.map((v) => v.dataSync() as Float32Array).map((a) => new Float32Array(a));
  }

  setWeights(values: Float32Array[]): void {
    if (values.length !== this.vars.length)
      throw new Error(`expected ${this.vars.length} arrays, got ${values.length}`);
    this.vars.forEach((v, i) => {
      if (values[i].length !== v.size)
        throw new Error(`parameter ${this.specs[i].name}: wrong size ${values[i].length}`);
      tf.tidy(() => v.assign(tf.tensor(values[i], v.shape, 'float32')));
    });
  }

  /** Copies another model's weights (same config) into this one, without leaving the device. */
  copyFrom(other: GPT): void {
    this.vars.forEach((v, i) => v.assign(other.vars[i]));
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}

/** Additive mask [B, 1, T, Tk]: causal over absolute columns, and no attention to left padding. */
function attentionMask(B: number, T: number, start: number, pad: number[]): tf.Tensor4D {
  const Tk = start + T;
  const m = new Float32Array(B * T * Tk);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * Tk;
      for (let j = 0; j < Tk; j++) if (j > start + t || j < pad[b]) m[row + j] = NEG_INF;
    }
  }
  return tf.tensor4d(m, [B, 1, T, Tk]);
}

export function disposeCache(cache: KVCache): void {
  for (const t of [...cache.k, ...cache.v]) t?.dispose();
  cache.k.fill(null);
  cache.v.fill(null);
}
