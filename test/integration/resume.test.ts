// Exact resume: a run interrupted after a checkpoint and resumed ends with the same weights, pairs and
// step logs as the same run done in one go.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeJudge } from '../../src/judges/make-judge.js';
import { DEFAULT_ADAMW } from '../../src/model/adamw.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { LocalPort } from '../../src/tso/local-port.js';
import type { TrainingPort } from '../../src/tso/loop/port.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';
import { RunDir } from '../../src/tso/loop/run-dir.js';
import { runTso } from '../../src/tso/loop/run-loop.js';
import { humanSource, modelHooks, prepareData } from '../../src/tso/loop/session.js';
import { makeFixture, SMALL_RUN, type Fixture } from '../helpers/cluster-fixture.js';

let f: Fixture;
const cfg = RunConfigSchema.parse({
  ...SMALL_RUN,
  run_id: 'resume',
  minibatches: 3,
  minibatch_prompts: 6,
  epochs: 1,
  train_batch_pairs: 6,
});

async function makePort(): Promise<{ port: LocalPort; dispose(): void }> {
  const gens = await Promise.all(
    ['gen-a', 'gen-b', 'gen-c'].map(async (name, i) => ({
      name,
      tier: i + 1,
      model: (await loadModel(f.models[name], false)).model,
    })),
  );
  const policy = (await loadModel(f.models.policy, true)).model;
  const reference = (await loadModel(f.models.policy, false)).model;
  const port = new LocalPort({
    policy,
    reference,
    generators: gens,
    judge: await makeJudge({ type: 'heuristic', seed: 5 }),
    replicas: 2,
    optimizer: {
      ...DEFAULT_ADAMW,
      lr: cfg.optimizer.lr,
      weightDecay: cfg.optimizer.weight_decay,
      clipNorm: cfg.optimizer.clip_norm,
    },
  });
  return {
    port,
    dispose: () => {
      port.dispose();
      for (const m of [policy, reference, ...gens.map((g) => g.model)]) m.dispose();
    },
  };
}

/** Fails the first train step of mini-batch `at` (after earlier checkpoints were written). */
function crashing(port: TrainingPort, at: number): TrainingPort {
  let generations = 0;
  return new Proxy(port, {
    get(target, prop, receiver) {
      if (prop === 'generate')
        return async (...a: Parameters<TrainingPort['generate']>) =>
          generations++ === at ? Promise.reject(new Error('simulated crash')) : target.generate(...a);
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function run(dirName: string, resume: boolean, crashAt?: number) {
  const dir = new RunDir(join(f.root, dirName));
  const data = await prepareData(cfg, dir);
  const hooks = await modelHooks(cfg, data, f.models.policy);
  const { port, dispose } = await makePort();
  try {
    const p = crashAt === undefined ? port : crashing(port, crashAt);
    return await runTso(p, cfg, data, dir, { ...hooks, human: humanSource(cfg, dir).human }, { resume });
  } finally {
    hooks.dispose();
    dispose();
  }
}

describe('tso resume', () => {
  beforeAll(async () => {
    f = await makeFixture({ cluster: 'resume' });
  });

  it('continues an interrupted run from its last checkpoint and ends bit-identical to an uninterrupted run', async () => {
    await run('straight', false);
    await expect(run('interrupted', false, 2)).rejects.toThrow('simulated crash');
    const ckpt = join(f.root, 'interrupted/checkpoint');
    const latest = readFileSync(join(ckpt, 'LATEST'), 'utf8').trim();
    const state = JSON.parse(readFileSync(join(ckpt, latest, 'state.json'), 'utf8')) as {
      minibatches_done: number;
    };
    expect(state.minibatches_done).toBe(2);
    const before = tf.memory().numTensors;
    const resumed = await run('interrupted', true);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    expect(resumed.iterations).toHaveLength(3);
    const sha = (d: string) =>
      (JSON.parse(readFileSync(join(f.root, d, 'policy/manifest.json'), 'utf8')) as { sha256: string })
        .sha256;
    expect(sha('interrupted')).toBe(sha('straight'));
    for (const file of ['pairs.jsonl', 'steps.jsonl']) {
      expect(readFileSync(join(f.root, 'interrupted', file), 'utf8')).toBe(
        readFileSync(join(f.root, 'straight', file), 'utf8'),
      );
    }
  }, 180_000);
});
