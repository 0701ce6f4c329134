// Token choice (greedy, temperature, top-k, top-p, banned tokens) and batched generation with a KV cache.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import type { GPTConfig } from '../../src/model/config.js';
import { generate, type GenerateOptions } from '../../src/model/generate.js';
import { GPT } from '../../src/model/gpt.js';
import {
  argmax,
  GREEDY,
  logSoftmax,
  sampleToken,
  validateSampling,
  type SamplingParams,
} from '../../src/model/sampling.js';
import { mulberry32 } from '../../src/model/seeded-normal.js';
import { BOS_ID, EOS_ID, PAD_ID } from '../../src/model/tokenizer.js';

const ROW = [2, 1, 0, -1, 0.5, -3, 1.5];
const softmax = (row: number[], T = 1): number[] => Array.from(logSoftmax(row.map((x) => x / T)), Math.exp);

/** Counts of n draws from `row`. */
function draws(row: number[], p: SamplingParams, n: number, seed: number, banned: number[] = []): number[] {
  const rand = mulberry32(seed);
  const counts = new Array<number>(row.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(row, p, rand, banned)]++;
  return counts;
}

const sampling = (temperature: number, topK = 0, topP = 1): SamplingParams => ({ temperature, topK, topP });

describe('sampleToken', () => {
  it('greedy is the argmax, whatever the random numbers', () => {
    expect(argmax(ROW)).toBe(0);
    expect(argmax([1, 5, 5, 2])).toBe(1); // ties go to the lowest id
    const rand = mulberry32(1);
    for (let i = 0; i < 20; i++) expect(sampleToken(ROW, GREEDY, rand)).toBe(0);
    expect(sampleToken([-1, -2, 3.5, 3.4], GREEDY, () => 0.99)).toBe(2);
  });

  it('temperature sampling is deterministic for a seed and differs across seeds', () => {
    const seq = (seed: number) => {
      const rand = mulberry32(seed);
      return Array.from({ length: 40 }, () => sampleToken(ROW, sampling(1), rand));
    };
    expect(seq(5)).toEqual(seq(5));
    expect(seq(6)).not.toEqual(seq(5));
    expect(new Set(seq(5)).size).toBeGreaterThan(3);
  });

  it.each([1, 0.7, 2])('5000 draws at temperature %s follow softmax(logits / T)', (T) => {
    const n = 5000;
    const counts = draws(ROW, sampling(T), n, 17);
    const p = softmax(ROW, T);
    counts.forEach((c, i) => {
      // 4.5 standard deviations of a binomial proportion, at least 0.005.
      const sd = Math.sqrt((p[i] * (1 - p[i])) / n);
      expect(Math.abs(c / n - p[i])).toBeLessThanOrEqual(Math.max(4.5 * sd, 0.005));
    });
  });

  it('top-k never picks outside the k most likely tokens, and uses all of them', () => {
    for (const k of [1, 2, 3]) {
      const counts = draws(ROW, sampling(1.5, k), 3000, 3);
      const top = [0, 6, 1].slice(0, k); // ROW sorted: 2 (id 0), 1.5 (id 6), 1 (id 1)
      counts.forEach((c, i) => expect(c > 0).toBe(top.includes(i)));
    }
    // Renormalised over the kept tokens: ids 0 and 6 in the ratio e^2 : e^1.5.
    const two = draws(ROW, sampling(1, 2), 5000, 4);
    expect(two[0] / (two[0] + two[6])).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 1);
  });

  it('top-p keeps the minimal nucleus reaching p', () => {
    const probs = [0.5, 0.25, 0.15, 0.1];
    const row = probs.map(Math.log);
    const used = (topP: number) =>
      draws(row, sampling(1, 0, topP), 4000, 8)
        .map((c, i) => (c > 0 ? i : -1))
        .filter((i) => i >= 0);
    expect(used(0.3)).toEqual([0]); // 0.5 ≥ 0.3 already
    expect(used(0.7)).toEqual([0, 1]); // 0.5 < 0.7 ≤ 0.75
    expect(used(0.8)).toEqual([0, 1, 2]); // 0.75 < 0.8 ≤ 0.9
    expect(used(0.95)).toEqual([0, 1, 2, 3]);
    expect(used(1)).toEqual([0, 1, 2, 3]);
    // Within the nucleus {0, 1}: 2 : 1.
    const c = draws(row, sampling(1, 0, 0.7), 6000, 9);
    expect(c[0] / (c[0] + c[1])).toBeCloseTo(2 / 3, 1);
    // top-k and top-p together: the tighter one wins.
    expect(draws(row, sampling(1, 3, 0.7), 2000, 10).slice(2)).toEqual([0, 0]);
  });

  it('top-p after top-k is a nucleus of the renormalised top-k distribution', () => {
    const probs = [0.4, 0.2, 0.2, 0.1, 0.1];
    const row = probs.map(Math.log);
    const used = (topK: number, topP: number) =>
      draws(row, sampling(1, topK, topP), 4000, 11)
        .map((c, i) => (c > 0 ? i : -1))
        .filter((i) => i >= 0);
    // top-k = 2 keeps {0, 1}, renormalised to 2/3, 1/3. p = 0.7 needs both (2/3 < 0.7); p = 0.6 is
    // token 0 alone (2/3 ≥ 0.6), where the unrenormalised mass 0.4 < 0.6 would have added token 1.
    expect(used(2, 0.7)).toEqual([0, 1]);
    expect(used(2, 0.6)).toEqual([0]);
    // top-k = 3 keeps {0, 1, 2} at 0.5, 0.25, 0.25: p = 0.5 is token 0 alone, p = 0.8 all three.
    expect(used(3, 0.5)).toEqual([0]);
    expect(used(3, 0.74)).toEqual([0, 1]);
    expect(used(3, 0.8)).toEqual([0, 1, 2]);
  });

  it('banned tokens are never sampled, even when they are the most likely', () => {
    const banned = [0, 6];
    for (const p of [GREEDY, sampling(1), sampling(3), sampling(1, 2), sampling(1, 0, 0.5)]) {
      const counts = draws(ROW, p, 2000, 21, banned);
      expect(counts[0] + counts[6]).toBe(0);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(2000);
    }
    expect(sampleToken(ROW, GREEDY, Math.random, banned)).toBe(1);
    expect(draws(ROW, sampling(1, 1), 50, 2, banned)[1]).toBe(50);
  });

  it.each([
    ['negative temperature', sampling(-0.1), /temperature must be >= 0/],
    ['NaN temperature', sampling(NaN), /temperature/],
    ['infinite temperature', sampling(Infinity), /temperature/],
    ['fractional top_k', sampling(1, 1.5), /top_k must be an integer >= 0/],
    ['negative top_k', sampling(1, -1), /top_k/],
    ['top_p of 0', sampling(1, 0, 0), /top_p must be in \(0, 1\]/],
    ['top_p above 1', sampling(1, 0, 1.01), /top_p/],
    ['NaN top_p', sampling(1, 0, NaN), /top_p/],
  ])('rejects %s', (_name, p, msg) => {
    expect(() => validateSampling(p)).toThrow(msg);
  });
});

describe('generate', () => {
  const C: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 2, nHead: 2, dModel: 32 };
  let model: GPT;
  const base: GenerateOptions = {
    ...sampling(1),
    maxNewTokens: 10,
    seed: 123,
    eosId: EOS_ID,
    padId: PAD_ID,
    banned: [BOS_ID, PAD_ID],
  };
  const prompts = [
    [BOS_ID, 104, 105, 10],
    [BOS_ID, 10],
    [BOS_ID, 97, 98, 99, 100, 101, 102, 10],
  ];

  beforeAll(async () => {
    await initBackend('wasm');
    model = GPT.create(C, 77);
  });
  afterAll(() => model.dispose());

  /** Σ log-softmax of the generated tokens from one unbatched, uncached forward pass over prompt + tokens. */
  function manualLogProb(m: GPT, prompt: number[], tokens: number[]): number {
    const ids = [...prompt, ...tokens];
    const l = tf.tidy(() => m.logits(tf.tensor2d([ids], [1, ids.length], 'int32')).dataSync());
    const V = C.vocabSize;
    let s = 0;
    tokens.forEach((tok, i) => {
      const t = prompt.length + i - 1;
      s += logSoftmax(l.subarray(t * V, (t + 1) * V))[tok];
    });
    return s;
  }

  it('is deterministic for a seed and differs across seeds', () => {
    const a = generate(model, prompts, base);
    const b = generate(model, prompts, base);
    expect(b).toEqual(a);
    a.forEach((g) => expect(g.tokens.length).toBeGreaterThan(0));
    const c = generate(model, prompts, { ...base, seed: 124 });
    expect(c.map((g) => g.tokens)).not.toEqual(a.map((g) => g.tokens));
    // A row's stream depends on (seed, rowOffset + row), not on the rest of the batch.
    const alone = generate(model, [prompts[2]], { ...base, rowOffset: 2 });
    expect(alone[0].tokens).toEqual(a[2].tokens);
  });

  it('greedy generation of a left-padded batch equals each prompt generated alone', () => {
    const batch = generate(model, prompts, { ...base, ...GREEDY });
    prompts.forEach((p, i) => {
      const alone = generate(model, [p], { ...base, ...GREEDY })[0];
      expect(batch[i].tokens).toEqual(alone.tokens);
      expect(batch[i].logProb).toBeCloseTo(alone.logProb, 3);
    });
  });

  it('logProb is the sum of log-softmax (temperature 1) of the chosen tokens', () => {
    for (const p of [sampling(1), sampling(0.6, 20), sampling(1.4, 0, 0.9), GREEDY]) {
      const gens = generate(model, prompts, { ...base, ...p, maxNewTokens: 8 });
      gens.forEach((g, i) => {
        expect(g.tokens.length).toBe(8);
        const want = manualLogProb(model, prompts[i], g.tokens);
        expect(want).toBeLessThan(-1);
        expect(Math.abs(g.logProb - want)).toBeLessThanOrEqual(1e-4 * Math.abs(want));
      });
    }
  });

  it('respects maxNewTokens and the end of the context; banned tokens never appear', () => {
    const gens = generate(model, prompts, { ...base, maxNewTokens: 5, banned: [BOS_ID, PAD_ID, EOS_ID] });
    gens.forEach((g) => {
      expect(g.tokens.length).toBe(5);
      expect(g.finished).toBe(false);
      expect(g.tokens.some((t) => t === BOS_ID || t === PAD_ID || t === EOS_ID)).toBe(false);
    });
    // The widest prompt (8 tokens) leaves 32 − 8 = 24 columns: no row gets more.
    const long = generate(model, prompts, { ...base, maxNewTokens: 100, banned: [EOS_ID] });
    long.forEach((g) => expect(g.tokens.length).toBe(24));
    const full = generate(model, [new Array<number>(32).fill(97)], base);
    expect(full).toEqual([{ tokens: [], logProb: 0, finished: false }]);
    expect(() => generate(model, [new Array<number>(33).fill(97)], base)).toThrow(
      /33 tokens does not fit the context of 32/,
    );
    expect(() => generate(model, [[]], base)).toThrow(/at least one token/);
    expect(() => generate(model, prompts, { ...base, topP: 0 })).toThrow(/top_p/);
    expect(generate(model, [], base)).toEqual([]);
  });

  it('stops a row at EOS and keeps the others going', () => {
    // Make EOS likely: ln_f.b = 1 and an lm_head column giving EOS a logit of 3.5 (p ≈ 0.12 per step).
    const eosModel = GPT.fromArrays(C, model.getWeights());
    try {
      const w = eosModel.getWeights();
      const head = w[w.length - 1]; // lm_head.w [D, V]
      const lnB = w[w.length - 2]; // ln_f.b [D]
      for (let d = 0; d < C.dModel; d++) {
        lnB[d] = 1;
        head[d * C.vocabSize + EOS_ID] = 3.5 / C.dModel;
      }
      eosModel.setWeights(w);
      const many = Array.from({ length: 16 }, (_, i) => [BOS_ID, 97 + i, 10]);
      const gens = generate(eosModel, many, { ...base, maxNewTokens: 12 });
      const finished = gens.filter((g) => g.finished);
      expect(finished.length).toBeGreaterThan(2);
      expect(finished.length).toBeLessThan(gens.length);
      for (const g of gens) {
        const eos = g.tokens.indexOf(EOS_ID);
        if (g.finished) expect(eos).toBe(g.tokens.length - 1);
        else expect([eos, g.tokens.length]).toEqual([-1, 12]);
      }
      expect(finished.some((g) => g.tokens.length > 1)).toBe(true);
      // Finished rows do not perturb the others: each matches its own single-row run.
      gens.forEach((g, i) => {
        const alone = generate(eosModel, [many[i]], { ...base, maxNewTokens: 12, rowOffset: i })[0];
        expect(alone.tokens).toEqual(g.tokens);
        expect(g.logProb).toBeCloseTo(manualLogProb(eosModel, many[i], g.tokens), 3);
      });
      // Once every row has finished, no further forward pass runs.
      const one = gens.findIndex((g) => g.finished);
      const spy = vi.spyOn(eosModel, 'logits');
      const only = generate(eosModel, [many[one]], { ...base, maxNewTokens: 12, rowOffset: one })[0];
      expect(only.finished).toBe(true);
      expect(spy).toHaveBeenCalledTimes(only.tokens.length);
      spy.mockRestore();
    } finally {
      eosModel.dispose();
    }
  });
});
