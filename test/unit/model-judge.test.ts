// The `model` judge: with an untrained tiny GPT (nothing is trained), its verdicts must agree with
// the length-normalised log-likelihoods computed directly with sequenceLogProbs; concurrent calls
// share batches, both orders cost one scoring, no tensors leak, and config building works.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { compareBothOrders } from '../../src/judges/both-orders.js';
import { JudgeConfigSchema, makeJudge } from '../../src/judges/make-judge.js';
import { ModelJudge } from '../../src/judges/model-judge.js';
import { saveModel } from '../../src/model/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { encodePairsForScoring } from '../../src/model/prompt-format.js';
import { sequenceLogProbs } from '../../src/tso/dpo-step.js';

const TINY: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 2, nHead: 2, dModel: 32 };
let model: GPT;
let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  model = GPT.create(TINY, 5, false);
  dir = await mkdtemp(path.join(tmpdir(), 'tso-model-judge-'));
});
afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Mean log-prob per response token (EOS included), computed independently of the judge. */
function directScore(prompt: string, response: string): number {
  const enc = encodePairsForScoring([{ prompt, response }], TINY.blockSize);
  const lp = sequenceLogProbs(model, enc)[0];
  return lp / (Buffer.byteLength(response, 'utf8') + 1);
}

const PROMPT = 'sort: 4 1 3';
const RESPONSES = ['1 3 4', '4 3 1', '1 3', '134', 'zzz', '', '1 1 1 1 1', 'abc'];

describe('ModelJudge', () => {
  it('prefers the response with the higher length-normalised log-likelihood', async () => {
    const judge = new ModelJudge(model, { epsilon: 0, scale: 0.05 });
    let decisive = 0;
    for (const a of RESPONSES) {
      for (const b of RESPONSES) {
        if (a === b) continue;
        const sa = directScore(PROMPT, a);
        const sb = directScore(PROMPT, b);
        const v = await judge.compare(PROMPT, a, b);
        expect(v.winner).toBe(sa > sb ? 'a' : sb > sa ? 'b' : 'tie');
        const expected = 0.5 + 0.5 * Math.min(1, Math.abs(sa - sb) / 0.05);
        expect(v.confidence).toBeCloseTo(expected, 3);
        expect(v.raw).toMatch(/mean logp\/token/);
        if (v.winner !== 'tie') decisive++;
      }
    }
    expect(decisive).toBeGreaterThan(40);
  });

  it('scores exactly what sequenceLogProbs gives, EOS counted', async () => {
    const judge = new ModelJudge(model);
    const s = await judge.score(PROMPT, '1 3 4');
    const enc = encodePairsForScoring([{ prompt: PROMPT, response: '1 3 4' }], TINY.blockSize);
    const lp = sequenceLogProbs(model, enc)[0];
    expect(s?.tokens).toBe(6);
    expect(s?.logProb).toBeCloseTo(lp, 4);
    expect(s?.normalized).toBeCloseTo(lp / 6, 5);
    expect(s?.truncated).toBe(false);
  });

  it('is consistent across orders: both orders agree and cost one scoring', async () => {
    const judge = new ModelJudge(model, { epsilon: 0 });
    const both = await compareBothOrders(judge, PROMPT, '1 3 4', 'zzz');
    expect(both.consistent).toBe(true);
    expect(both.winner).not.toBe('tie');
    expect(both.confidence).toBeCloseTo(both.forward.confidence, 6);
    expect(judge.stats.rows).toBe(2);
    expect(judge.stats.memoHits).toBe(2);
  });

  it('ties below epsilon with confidence 0.5', async () => {
    const judge = new ModelJudge(model, { epsilon: 100 });
    const v = await judge.compare(PROMPT, '1 3 4', 'zzz');
    expect(v).toMatchObject({ winner: 'tie', confidence: 0.5 });
    const rule = new ModelJudge(model, { epsilon: 0.01, scale: 1 });
    expect(rule.decide(-1, -1.5)).toEqual({ winner: 'a', confidence: 0.75 });
    expect(rule.decide(-3, -1)).toEqual({ winner: 'b', confidence: 1 });
    expect(rule.decide(-1, -1.005)).toEqual({ winner: 'tie', confidence: 0.5 });
  });

  it('batches concurrent calls and leaks no tensors', async () => {
    const judge = new ModelJudge(model, { epsilon: 0, batchSize: 4 });
    await judge.compare(PROMPT, 'warm', 'up'); // first call may allocate backend state
    const before = tf.memory().numTensors;
    const pairs = RESPONSES.slice(0, 6).map((r, i) => [r, RESPONSES[(i + 1) % 6]] as const);
    const verdicts = await Promise.all(pairs.map(([a, b]) => judge.compare(PROMPT, a, b)));
    expect(verdicts).toHaveLength(6);
    // 6 distinct responses, scored together in ceil(6 / 4) = 2 forward passes
    expect(judge.stats.rows).toBe(2 + 6);
    expect(judge.stats.batches).toBe(1 + 2);
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, [a, b]] of pairs.entries()) {
      const sa = directScore(PROMPT, a);
      const sb = directScore(PROMPT, b);
      expect(verdicts[i].winner).toBe(sa > sb ? 'a' : 'b');
    }
  });

  it('handles a response cut by the context and a prompt that does not fit', async () => {
    const judge = new ModelJudge(model);
    const long = 'x'.repeat(100);
    const s = await judge.score(PROMPT, long);
    // BOS + 11 prompt bytes + "\n" = 13 tokens; 32 - 13 = 19 response tokens fit, no EOS
    expect(s).toMatchObject({ tokens: 19, truncated: true });
    const v = await judge.compare('p'.repeat(40), 'a', 'b');
    expect(v).toMatchObject({ winner: 'tie', confidence: 0 });
  });

  it('loads a model dir through makeJudge and frees it on dispose', async () => {
    const mdir = path.join(dir, 'judge-model');
    await saveModel(model, mdir);
    const judge = await makeJudge({ type: 'model', model_dir: 'judge-model', epsilon: 0 }, { baseDir: dir });
    expect(judge).toBeInstanceOf(ModelJudge);
    const loaded = (judge as ModelJudge).model;
    expect(judge.name).toBe('model');
    const v = await judge.compare(PROMPT, '1 3 4', 'zzz');
    const direct = await new ModelJudge(model, { epsilon: 0 }).compare(PROMPT, '1 3 4', 'zzz');
    expect(v.winner).toBe(direct.winner);
    expect(v.confidence).toBeCloseTo(direct.confidence, 5);
    judge.dispose?.();
    // GPT construction leaves its initial-value tensors allocated (src/model/gpt.ts), so only the
    // model's variables are checked here.
    expect(loaded.vars.every((x) => x.isDisposed)).toBe(true);
    await expect(judge.compare(PROMPT, 'a', 'b')).rejects.toThrow(/after dispose/);
  });

  it('validates judge configs strictly', async () => {
    expect(JudgeConfigSchema.safeParse({ type: 'model', model_dir: 'x', typo: 1 }).success).toBe(false);
    expect(JudgeConfigSchema.safeParse({ type: 'heuristic', error_rate: 2 }).success).toBe(false);
    expect(JudgeConfigSchema.safeParse({ type: 'nope' }).success).toBe(false);
    const h = await makeJudge({ type: 'heuristic', seed: 3, error_rate: 0 });
    expect(h.name).toBe('heuristic');
    expect((await h.compare('add: 2+3', '5', '6')).winner).toBe('a');
    await expect(makeJudge({ type: 'model' })).rejects.toThrow(/model_dir/);
  });
});
