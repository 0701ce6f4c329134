import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { weightsChecksum } from '../../src/model/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { encodePairsForScoring } from '../../src/model/prompt-format.js';
import { EpochSampler, responseTokenCount, sftLearningRate, sftLoss, trainSft } from '../../src/tso/sft.js';
import { makeSplit } from '../../src/tasks/demo/index.js';

// A context of 48 holds the longest task sequence (a 9-digit sort: 43 tokens), so nothing is cut.
const TINY: GPTConfig = { vocabSize: 259, blockSize: 48, nLayer: 1, nHead: 2, dModel: 16 };
const examples = makeSplit({ seed: 3, n: 120 }).map((e) => ({ prompt: e.prompt, response: e.answer }));

/** GPT.create inside tidy: the constructor leaves its initial-value tensors behind otherwise. */
function tinyModel(seed = 1): GPT {
  let m!: GPT;
  tf.tidy(() => {
    m = GPT.create(TINY, seed);
  });
  return m;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('sft loss', () => {
  it('is the mean negative log-likelihood per response token', () => {
    const model = tinyModel();
    const rows = examples.slice(0, 4);
    const batch = encodePairsForScoring(rows, TINY.blockSize);
    const tokens = responseTokenCount(batch);
    // Response bytes + EOS per row.
    expect(tokens).toBe(rows.reduce((n, r) => n + r.response.length + 1, 0));
    const [loss, sum] = tf.tidy(() => {
      const lp = model.sequenceLogProbs(
        tf.tensor2d(batch.ids, [batch.rows, batch.seqLen], 'int32'),
        tf.tensor2d(batch.mask, [batch.rows, batch.seqLen], 'float32'),
      );
      return [sftLoss(model, batch).dataSync()[0], tf.sum(lp).dataSync()[0]];
    }) as unknown as [number, number];
    expect(loss).toBeCloseTo(-sum / tokens, 5);
    // An untrained model is close to uniform over the 259-token vocabulary.
    expect(Math.abs(loss - Math.log(259))).toBeLessThan(0.5);
    model.dispose();
  });
});

describe('trainSft', () => {
  it('lowers the loss over 30 steps, leaks no tensors, and is deterministic by seed', () => {
    const opts = { steps: 30, batchSize: 16, lr: 1e-2, seed: 7, warmupSteps: 3 };
    const a = tinyModel();
    const before = tf.memory().numTensors;
    const ra = trainSft(a, examples, opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(ra.losses).toHaveLength(30);
    const head = ra.losses.slice(0, 3).reduce((x, y) => x + y) / 3;
    const tail = ra.losses.slice(-3).reduce((x, y) => x + y) / 3;
    expect(tail).toBeLessThan(head - 1);

    const b = tinyModel();
    const rb = trainSft(b, examples, opts);
    expect(rb.losses).toEqual(ra.losses);
    expect(weightsChecksum(b)).toBe(weightsChecksum(a));

    // Another batch-order seed gives other weights.
    const c = tinyModel();
    trainSft(c, examples, { ...opts, steps: 5, seed: 8 });
    const d = tinyModel();
    trainSft(d, examples, { ...opts, steps: 5 });
    expect(weightsChecksum(c)).not.toBe(weightsChecksum(d));
    for (const m of [a, b, c, d]) m.dispose();
  });

  it('reports progress and rejects bad options', () => {
    const m = tinyModel();
    const seen: number[] = [];
    trainSft(m, examples, {
      steps: 5,
      batchSize: 4,
      lr: 1e-3,
      seed: 0,
      progressEvery: 2,
      onProgress: (p) => seen.push(p.step),
    });
    expect(seen).toEqual([2, 4, 5]);
    expect(() => trainSft(m, examples, { steps: 1, batchSize: 0, lr: 1e-3, seed: 0 })).toThrow(/batchSize/);
    expect(() => trainSft(m, [], { steps: 1, batchSize: 2, lr: 1e-3, seed: 0 })).toThrow(/example/);
    m.dispose();
  });
});

describe('schedule and sampler', () => {
  it('warms up linearly, then decays by cosine to lr · minLrFraction', () => {
    const o = { steps: 110, lr: 1, warmupSteps: 10, minLrFraction: 0.1 };
    expect(sftLearningRate(1, o)).toBeCloseTo(0.1);
    expect(sftLearningRate(10, o)).toBeCloseTo(1);
    expect(sftLearningRate(60, o)).toBeCloseTo(0.55);
    expect(sftLearningRate(110, o)).toBeCloseTo(0.1);
  });

  it('draws every example once per epoch, in a seeded order', () => {
    const s = new EpochSampler(10, 'x');
    const epoch = [...s.next(4), ...s.next(6)];
    expect([...epoch].sort((u, v) => u - v)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = new EpochSampler(10, 'x');
    expect([...again.next(4), ...again.next(6)]).toEqual(epoch);
  });
});
