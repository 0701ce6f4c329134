import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import type { GPTConfig } from '../../src/model/config.js';
import { generate } from '../../src/model/generate.js';
import { GPT } from '../../src/model/gpt.js';
import { promptIds } from '../../src/model/prompt-format.js';
import { BOS_ID, ByteTokenizer, EOS_ID, PAD_ID } from '../../src/model/tokenizer.js';
import {
  distinctN,
  evaluatePolicy,
  exactMatchRate,
  goldLogProbs,
  klEstimate,
  mean,
  meanLength,
  metricsByKind,
  metricsOnly,
  tokenSequenceLogProbs,
  winRate,
} from '../../src/tso/evaluate.js';
import { demoTask, heldoutPrompts, makeSplit } from '../../src/tasks/demo/index.js';

const TINY: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, dModel: 16 };

function tinyModel(seed: number): GPT {
  let m!: GPT;
  tf.tidy(() => {
    m = GPT.create(TINY, seed, false);
  });
  return m;
}

describe('metric helpers', () => {
  it('distinct-n counts distinct character n-grams over all responses', () => {
    expect(distinctN(['abab'], 1)).toBe(2 / 4);
    expect(distinctN(['abab'], 2)).toBe(2 / 3); // ab, ba, ab
    expect(distinctN(['ab', 'ab'], 2)).toBe(1 / 2); // n-grams never span two responses
    expect(distinctN(['a', ''], 2)).toBe(0);
    expect(distinctN(['1 2 3', '1 2 4'], 1)).toBe(5 / 10); // '1', ' ', '2', '3', '4'
    expect(() => distinctN(['a'], 0)).toThrow();
  });

  it('win rate counts ties as half', () => {
    expect(winRate([1, 0.5, 0], [0.5, 0.5, 1])).toBe(0.5);
    expect(winRate([1, 1], [0, 0])).toBe(1);
    expect(winRate([], [])).toBe(0);
    expect(() => winRate([1], [])).toThrow();
  });

  it('aggregates exact match, length, means and the KL estimate', () => {
    expect(exactMatchRate([true, false, true, true])).toBe(0.75);
    expect(exactMatchRate([])).toBe(0);
    expect(meanLength(['abc', 'é', ''])).toBe(4 / 3); // code points, not bytes
    expect(mean([1, 2, 3])).toBe(2);
    expect(klEstimate([-1, -2], [-2, -4])).toBe(1.5);
  });

  it('breaks exact match and gold reward down by kind, skipping prompts the task does not parse', () => {
    const task = demoTask();
    const by = metricsByKind(
      ['sort: 3 1 2', 'add: 1+2', 'add: 10+20', 'hello', 'rev: abc'].map((p) => task.category?.(p)),
      [true, false, true, true, false],
      [1, 0.25, 1, 1, 0],
    );
    expect(by).toEqual({
      sort: { n: 1, exact_match: 1, gold_reward: 1 },
      add: { n: 2, exact_match: 0.5, gold_reward: 0.625 },
      rev: { n: 1, exact_match: 0, gold_reward: 0 },
    });
  });
});

describe('evaluatePolicy (tiny real model)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('scores greedy responses, compares with a baseline, and leaks nothing', () => {
    const policy = tinyModel(1);
    const other = tinyModel(2);
    const heldout = makeSplit({ seed: 0, n: 9, split: 'heldout' });
    const before = tf.memory().numTensors;
    const solo = evaluatePolicy(policy, heldout, { maxNewTokens: 4, batchSize: 4, task: demoTask() });
    expect(solo.n).toBe(9);
    expect(solo.responses).toHaveLength(9);
    expect(solo.win_rate_vs_baseline).toBeUndefined();
    expect(solo.kl_to_baseline).toBeUndefined();
    expect(solo.gold_reward).toBeCloseTo(mean(solo.responses.map((r) => r.gold ?? NaN)), 12);
    expect(solo.exact_match).toBeGreaterThanOrEqual(0);
    expect(solo.mean_length).toBeLessThanOrEqual(4);
    const kinds = solo.by_kind ?? {};
    expect(Object.keys(kinds).sort()).toEqual(['add', 'rev', 'sort']);
    expect(Object.values(kinds).reduce((n, k) => n + k.n, 0)).toBe(9);
    for (const [kind, k] of Object.entries(kinds)) {
      const rows = solo.responses.filter((r) => r.prompt.startsWith(kind + ':'));
      expect(k.gold_reward).toBeCloseTo(mean(rows.map((r) => r.gold ?? NaN)), 12);
    }
    // An untrained model gives the gold answer a low likelihood, never a positive one.
    expect(solo.gold_logprob).toBeLessThan(-1);
    expect(solo.gold_logprob_per_token).toBeLessThan(0);
    expect(solo.gold_logprob ?? 0).toBeLessThan(solo.gold_logprob_per_token ?? 0);

    // Against itself: every prompt ties, and the KL estimate is exactly 0.
    const self = evaluatePolicy(policy, heldout, {
      maxNewTokens: 4,
      batchSize: 4,
      baseline: policy,
      task: demoTask(),
    });
    expect(self.win_rate_vs_baseline).toBe(0.5);
    expect(self.kl_to_baseline).toBe(0);
    const vs = evaluatePolicy(policy, heldout, {
      maxNewTokens: 4,
      batchSize: 4,
      baseline: other,
      seed: 3,
      task: demoTask(),
    });
    expect(Number.isFinite(vs.kl_to_baseline)).toBe(true);
    expect(vs.responses[0].baseline_response).toBeTypeOf('string');
    expect(Object.keys(metricsOnly(vs))).not.toContain('responses');
    expect(tf.memory().numTensors).toBe(before);
    policy.dispose();
    other.dispose();
  });

  it('scores the gold answer (+ EOS) teacher-forced: the same sum tokenSequenceLogProbs gives', () => {
    const model = tinyModel(5);
    const rows = heldoutPrompts(6).map((e) => ({ prompt: e.prompt, answer: e.answer }));
    const before = tf.memory().numTensors;
    const lp = goldLogProbs(model, rows, 4);
    expect(tf.memory().numTensors).toBe(before);
    const tok = new ByteTokenizer();
    const direct = tokenSequenceLogProbs(
      model,
      rows.map((r) => ({ prompt: promptIds(r.prompt), response: [...tok.encode(r.answer), EOS_ID] })),
      TINY.blockSize,
    );
    lp.sum.forEach((v, i) => {
      expect(v).toBeCloseTo(direct[i], 4);
      expect(lp.perToken[i]).toBeCloseTo(v / (rows[i].answer.length + 1), 5);
    });
    const ev = evaluatePolicy(model, rows, { maxNewTokens: 2 });
    expect(ev.gold_logprob).toBeCloseTo(mean(lp.sum), 4);
    model.dispose();
  });

  it('scores sampled tokens with the same log-probs generation reports', () => {
    const model = tinyModel(4);
    const prompts = makeSplit({ seed: 1, n: 5, split: 'heldout' }).map((e) => promptIds(e.prompt));
    const gens = generate(model, prompts, {
      temperature: 1,
      topK: 0,
      topP: 1,
      maxNewTokens: 6,
      seed: 5,
      eosId: EOS_ID,
      padId: PAD_ID,
      banned: [BOS_ID, PAD_ID],
    });
    const lp = tokenSequenceLogProbs(
      model,
      gens.map((g, i) => ({ prompt: prompts[i], response: g.tokens })),
      TINY.blockSize,
    );
    lp.forEach((v, i) => expect(v).toBeCloseTo(gens[i].logProb, 3));
    model.dispose();
  });
});
