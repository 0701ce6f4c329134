// Exact resume: a run interrupted after a checkpoint and resumed ends with the same weights, pairs and
// step logs as the same run done in one go.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeJudge } from '../../src/judges/make-judge.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { LocalPort } from '../../src/tso/local-port.js';
import type { TrainingPort } from '../../src/tso/loop/port.js';
import { RunConfigSchema, type RunConfig } from '../../src/tso/loop/run-config.js';
import { RunDir } from '../../src/tso/loop/run-dir.js';
import { runTso } from '../../src/tso/loop/run-loop.js';
import { humanSource, modelHooks, prepareData } from '../../src/tso/loop/session.js';
import { optimizerOptionsOf } from '../../src/tso/loop/train-pairs.js';
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
// A fixed reference must stay the initial policy across the resume (not become the checkpointed
// policy); warm-up and a fixed step count ride along, since both depend on the global step.
const fixedCfg = RunConfigSchema.parse({
  ...cfg,
  run_id: 'resume-fixed',
  reference: 'fixed',
  steps_per_minibatch: 2,
  optimizer: { ...cfg.optimizer, warmup_steps: 4 },
});

// Replayed pairs of earlier mini-batches live in the checkpoint: a resumed run must train on the same
// pool, and the cosine schedule must continue at the same step.
const replayCfg = RunConfigSchema.parse({
  ...cfg,
  run_id: 'resume-replay',
  steps_per_minibatch: 3,
  pairs: { ...cfg.pairs, replay: 2 },
  optimizer: { ...cfg.optimizer, warmup_steps: 2, schedule: 'cosine' },
});

async function makePort(cfg: RunConfig): Promise<{ port: LocalPort; dispose(): void }> {
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
    gradShards: 2,
    optimizer: optimizerOptionsOf(cfg),
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

async function run(dirName: string, resume: boolean, crashAt?: number, cfgIn: RunConfig = cfg) {
  const cfg = cfgIn;
  const dir = new RunDir(join(f.root, dirName));
  const data = await prepareData(cfg, dir);
  const hooks = await modelHooks(cfg, data, f.models.policy);
  const { port, dispose } = await makePort(cfg);
  try {
    const p = crashAt === undefined ? port : crashing(port, crashAt);
    return await runTso(
      p,
      cfg,
      data,
      dir,
      { ...hooks, human: humanSource(cfg, dir, data.task).human },
      { resume },
    );
  } finally {
    hooks.dispose();
    dispose();
  }
}

describe('tso resume', () => {
  beforeAll(async () => {
    f = await makeFixture({ cluster: 'resume' });
  });

  it.each([
    ['iterative', cfg],
    ['fixed', fixedCfg],
    ['replay', replayCfg],
  ])(
    'continues an interrupted %s-reference run from its last checkpoint and ends bit-identical to an uninterrupted run',
    async (mode, c) => {
      await run(`straight-${mode}`, false, undefined, c);
      await expect(run(`interrupted-${mode}`, false, 2, c)).rejects.toThrow('simulated crash');
      const ckpt = join(f.root, `interrupted-${mode}/checkpoint`);
      const latest = readFileSync(join(ckpt, 'LATEST'), 'utf8').trim();
      const state = JSON.parse(readFileSync(join(ckpt, latest, 'state.json'), 'utf8')) as {
        minibatches_done: number;
      };
      expect(state.minibatches_done).toBe(2);
      if (mode === 'replay') {
        const history = JSON.parse(readFileSync(join(ckpt, latest, 'history.json'), 'utf8')) as {
          replay: { prompt: string }[][];
        };
        expect(history.replay).toHaveLength(2);
        expect(history.replay.every((mb) => mb.length > 0)).toBe(true);
      }
      const before = tf.memory().numTensors;
      const resumed = await run(`interrupted-${mode}`, true, undefined, c);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
      expect(resumed.iterations).toHaveLength(3);
      const sha = (d: string) =>
        (JSON.parse(readFileSync(join(f.root, d, 'policy/manifest.json'), 'utf8')) as { sha256: string })
          .sha256;
      expect(sha(`interrupted-${mode}`)).toBe(sha(`straight-${mode}`));
      for (const file of ['pairs.jsonl', 'steps.jsonl']) {
        expect(readFileSync(join(f.root, `interrupted-${mode}`, file), 'utf8')).toBe(
          readFileSync(join(f.root, `straight-${mode}`, file), 'utf8'),
        );
      }
      if (mode === 'fixed') {
        const steps = readFileSync(join(f.root, 'straight-fixed/steps.jsonl'), 'utf8').trim().split('\n');
        expect(steps).toHaveLength(6); // steps_per_minibatch 2 × 3 mini-batches
      }
    },
    300_000,
  );
});
