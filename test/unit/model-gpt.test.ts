// The GPT: seeded initialisation, parameter count, KV-cached decoding (token by token and with a
// left-padded batch) against a full forward pass, masked sequence log-probs, and the context limit.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { DEFAULT_GPT_CONFIG, paramCount, paramSpecs, type GPTConfig } from '../../src/model/config.js';
import { weightsChecksum } from '../../src/model/checkpoint.js';
import { disposeCache, GPT, type KVCache } from '../../src/model/gpt.js';
import { encodePairsForScoring } from '../../src/model/prompt-format.js';
import { logSoftmax } from '../../src/model/sampling.js';
import { mulberry32 } from '../../src/model/seeded-normal.js';
import { PAD_ID } from '../../src/model/tokenizer.js';
import { sequenceLogProbs } from '../../src/tso/dpo-step.js';

const TINY: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 2, nHead: 2, dModel: 32 };
// dh = 32 and up to 63 columns: a full forward pass takes attention.ts's per-head loop on wasm
// (T·T·dh ≥ 16384 from T = 23 on), single-token decoding steps take the batched path.
const LOOP: GPTConfig = { vocabSize: 259, blockSize: 64, nLayer: 1, nHead: 2, dModel: 64 };

const models = new Map<GPTConfig, GPT>();
const model = (c: GPTConfig): GPT => models.get(c) as GPT;

/** Init weights ×10 (std 0.2): attention is then far from uniform, so cache or mask errors show. */
function sharp(c: GPTConfig, seed: number): GPT {
  const m = GPT.create(c, seed);
  m.setWeights(
    m.getWeights().map((w, i) => (m.specs[i].init.startsWith('normal') ? w.map((x) => 10 * x) : w)),
  );
  return m;
}

beforeAll(async () => {
  await initBackend('wasm');
  models.set(TINY, sharp(TINY, 11));
  models.set(LOOP, sharp(LOOP, 12));
});
afterAll(() => models.forEach((m) => m.dispose()));

function randomTokens(n: number, seed: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Logits [B·T·V] of rows of ids (all of one length), with an optional cache. */
function logitsOf(m: GPT, rows: number[][], cache?: KVCache): Float32Array {
  return tf.tidy(() => {
    const ids = tf.tensor2d(rows.flat(), [rows.length, rows[0].length], 'int32');
    return m.logits(ids, cache).dataSync() as Float32Array;
  });
}

/** Row i (one position) of a [N, V] logits array. */
const row = (l: Float32Array, i: number, V: number): Float32Array => l.subarray(i * V, (i + 1) * V);

function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(scale).toBeGreaterThan(1e-3);
  expect(diff).toBeLessThanOrEqual(tol * Math.max(1, scale));
}

describe('initialisation and size', () => {
  it('same seed gives the same weights, a different seed different ones, on every backend', async () => {
    const a = GPT.create(TINY, 42);
    const b = GPT.create(TINY, 42);
    const c = GPT.create(TINY, 43);
    await tf.setBackend('cpu');
    const onCpu = GPT.create(TINY, 42);
    const cpuSum = weightsChecksum(onCpu);
    onCpu.dispose();
    await tf.setBackend('wasm');
    try {
      expect(weightsChecksum(a)).toMatch(/^[0-9a-f]{64}$/);
      expect(weightsChecksum(b)).toBe(weightsChecksum(a));
      expect(cpuSum).toBe(weightsChecksum(a));
      expect(weightsChecksum(c)).not.toBe(weightsChecksum(a));
      // Every normal-initialised parameter differs between seeds, not just one of them.
      const [wa, wc] = [a.getWeights(), c.getWeights()];
      a.specs.forEach((s, i) => {
        if (s.init.startsWith('normal')) expect(wa[i]).not.toEqual(wc[i]);
        else expect(wa[i]).toEqual(wc[i]);
      });
    } finally {
      [a, b, c].forEach((m) => m.dispose());
    }
  });

  it('initialises norms to 1/0, biases to 0, weights N(0, 0.02) and residual projections scaled', () => {
    const m = GPT.create(TINY, 11);
    const w = m.getWeights();
    m.dispose();
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    m.specs.forEach((s, i) => {
      if (s.init === 'ones') expect(w[i].every((v) => v === 1)).toBe(true);
      if (s.init === 'zeros') expect(w[i].every((v) => v === 0)).toBe(true);
      // Within 10% of the target std (the smallest matrix here has 1024 entries).
      if (s.init === 'normal') expect(Math.abs(std(w[i]) / 0.02 - 1)).toBeLessThan(0.1);
      if (s.init === 'normal-residual') expect(Math.abs(std(w[i]) / (0.02 / 2) - 1)).toBeLessThan(0.1);
    });
  });

  it('parameter count matches paramCount() and the PyTorch reference formula', () => {
    // nanoGPT with biases and an untied head: V·D + ctx·D + L·(12D² + 13D) + 2D + D·V.
    const torch = (c: GPTConfig) => {
      const D = c.dModel;
      return 2 * c.vocabSize * D + c.blockSize * D + c.nLayer * (12 * D * D + 13 * D) + 2 * D;
    };
    expect(DEFAULT_GPT_CONFIG).toEqual({ vocabSize: 259, blockSize: 64, nLayer: 4, nHead: 4, dModel: 128 });
    expect(paramCount(DEFAULT_GPT_CONFIG)).toBe(867_840);
    expect(torch(DEFAULT_GPT_CONFIG)).toBe(867_840);
    const m = GPT.create(DEFAULT_GPT_CONFIG, 1);
    expect(m.vars.reduce((n, v) => n + v.size, 0)).toBe(867_840);
    expect(m.paramCount).toBe(867_840);
    m.dispose();
    for (const c of [TINY, LOOP, { ...TINY, nLayer: 3, dModel: 48, nHead: 4 }])
      expect(paramCount(c)).toBe(torch(c));
    const names = paramSpecs(TINY).map((s) => s.name);
    expect([names[0], names[1], names[names.length - 1]]).toEqual(['wte', 'wpe', 'lm_head.w']);
  });
});

describe.each([
  ['tiny config', TINY],
  ['loop-attention config', LOOP],
])('KV-cached decoding, %s', (_name, c) => {
  const V = c.vocabSize;

  it('token by token (after a prefill) equals the full forward pass', () => {
    const m = model(c);
    const ids = randomTokens(c.blockSize - 1, 5);
    const full = logitsOf(m, [ids]);
    for (const prefill of [1, Math.floor(c.blockSize * 0.7)]) {
      const cache = m.newCache([0]);
      try {
        const first = logitsOf(m, [ids.slice(0, prefill)], cache);
        expectClose(first, full.subarray(0, prefill * V));
        for (let t = prefill; t < ids.length; t++) {
          const step = logitsOf(m, [[ids[t]]], cache);
          expect(cache.length).toBe(t + 1);
          expectClose(step, row(full, t, V));
        }
      } finally {
        disposeCache(cache);
      }
    }
  });

  it('a left-padded batch gives each row the logits of its own unpadded prompt', () => {
    const m = model(c);
    const lens = [5, Math.floor(c.blockSize * 0.75), 1];
    const prompts = lens.map((n, i) => randomTokens(n, 100 + i));
    const width = Math.max(...lens);
    const pad = lens.map((n) => width - n);
    const appended = [
      [7, 8, 9],
      [200, 3, 44],
      [255, 0, 12],
    ];
    const columns = [0, 1, 2].map((s) => appended.map((a) => [a[s]]));
    const run = (padToken: number) => {
      const cache = m.newCache(pad);
      try {
        const rows = prompts.map((p, b) => [...new Array<number>(pad[b]).fill(padToken), ...p]);
        const steps = [logitsOf(m, rows, cache)];
        for (const s of [0, 1, 2]) steps.push(logitsOf(m, columns[s], cache));
        return steps;
      } finally {
        disposeCache(cache);
      }
    };
    const [prefill, ...decoded] = run(PAD_ID);
    prompts.forEach((p, b) => {
      const own = logitsOf(m, [[...p, ...appended[b]]]);
      for (let t = 0; t < p.length; t++) expectClose(row(prefill, b * width + pad[b] + t, V), row(own, t, V));
      decoded.forEach((step, s) => expectClose(row(step, b, V), row(own, p.length + s, V)));
    });
    // The pad token's value is never attended to.
    const [prefill2, ...decoded2] = run(65);
    prompts.forEach((p, b) => {
      for (let t = 0; t < p.length; t++) {
        const i = b * width + pad[b] + t;
        expectClose(row(prefill2, i, V), row(prefill, i, V), 1e-6);
      }
    });
    decoded2.forEach((s, i) => expectClose(s, decoded[i], 1e-6));
  });
});

describe('sequenceLogProbs', () => {
  const m = () => model(TINY);
  const batch = () =>
    encodePairsForScoring(
      [
        { prompt: 'sort 3 1 2', response: '1 2 3' },
        { prompt: 'hi', response: 'héllo wörld' },
        { prompt: 'x', response: '' },
      ],
      TINY.blockSize,
      30,
    );

  /** Σ over t ≥ 1 with mask 1 of log-softmax(logits[t−1])[ids[t]], in float64 from a full forward pass. */
  function manual(ids: Int32Array, mask: Float32Array, rows: number, T: number): number[] {
    const V = TINY.vocabSize;
    const out: number[] = [];
    for (let b = 0; b < rows; b++) {
      const r = Array.from(ids.subarray(b * T, (b + 1) * T));
      const l = logitsOf(m(), [r]);
      let s = 0;
      for (let t = 1; t < T; t++) if (mask[b * T + t] === 1) s += logSoftmax(row(l, t - 1, V))[r[t]];
      out.push(s);
    }
    return out;
  }

  const score = (ids: Int32Array, mask: Float32Array, rows: number, T: number) =>
    sequenceLogProbs(m(), { ids, mask, rows, seqLen: T, truncated: 0 });

  it('equals a manual sum of log-softmax over the response tokens', () => {
    const e = batch();
    expect(e.seqLen).toBe(30);
    const got = score(e.ids, e.mask, e.rows, e.seqLen);
    const want = manual(e.ids, e.mask, e.rows, e.seqLen);
    want.forEach((w, b) => {
      expect(w).toBeLessThan(-1);
      expect(Math.abs(got[b] - w)).toBeLessThanOrEqual(1e-4 * Math.abs(w));
    });
    // The GPT method directly gives the same as the dpo-step wrapper.
    const [ids, mask] = [tf.tensor2d(e.ids, [3, 30], 'int32'), tf.tensor2d(e.mask, [3, 30])];
    const direct = tf.tidy(() => m().sequenceLogProbs(ids, mask).dataSync());
    tf.dispose([ids, mask]);
    expect(Array.from(direct)).toEqual(Array.from(got));
  });

  it('does not depend on the padding tokens', () => {
    const e = batch();
    const base = score(e.ids, e.mask, e.rows, e.seqLen);
    const ids = e.ids.slice();
    const r = mulberry32(9);
    let changed = 0;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === PAD_ID) {
        ids[i] = Math.floor(r() * 256);
        changed++;
      }
    }
    expect(changed).toBeGreaterThan(20);
    expect(Array.from(score(ids, e.mask, e.rows, e.seqLen))).toEqual(Array.from(base));
  });

  it('the mask selects exactly the positions it marks (column 0 has no target and is ignored)', () => {
    const e = batch();
    const T = e.seqLen;
    const ids = e.ids.subarray(0, T);
    const l = logitsOf(m(), [Array.from(ids)]);
    const onlyAt = (t: number) => Float32Array.from({ length: T }, (_, i) => (i === t ? 1 : 0));
    for (const t of [1, 4, 13, 29]) {
      expect(score(ids, onlyAt(t), 1, T)[0]).toBeCloseTo(
        logSoftmax(row(l, t - 1, TINY.vocabSize))[ids[t]],
        4,
      );
    }
    expect(score(ids, onlyAt(0), 1, T)[0]).toBe(0);
    const withCol0 = e.mask.slice(0, T);
    withCol0[0] = 1;
    expect(score(ids, withCol0, 1, T)[0]).toBe(score(ids, e.mask.subarray(0, T), 1, T)[0]);
  });
});

describe('context limit', () => {
  it('a sequence longer than the context throws a clear error, with or without a cache', () => {
    const m = model(TINY);
    const before = tf.memory().numTensors;
    expect(() => logitsOf(m, [randomTokens(33, 1)])).toThrow(
      'sequence of 33 tokens exceeds the context of 32',
    );
    expect(logitsOf(m, [randomTokens(32, 1)]).length).toBe(32 * 259);
    const cache = m.newCache([0]);
    logitsOf(m, [randomTokens(30, 2)], cache);
    expect(() => logitsOf(m, [randomTokens(3, 3)], cache)).toThrow(/33 tokens exceeds the context of 32/);
    expect(cache.length).toBe(30);
    logitsOf(m, [randomTokens(2, 3)], cache);
    expect(cache.length).toBe(32);
    expect(() => logitsOf(m, [[1]], cache)).toThrow(/exceeds the context of 32/);
    disposeCache(cache);
    expect(tf.memory().numTensors).toBe(before);
  });
});
