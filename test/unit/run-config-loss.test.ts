// The loss, optimizer and schedule keys of the run config: defaults, and errors that name the key.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';
import { lossConfigOf, optimizerOptionsOf } from '../../src/tso/loop/train-pairs.js';

describe('run config: loss, optimizer and schedule keys', () => {
  it('defaults: per-token clips that bind, no warm-up, epochs schedule', () => {
    const c = RunConfigSchema.parse({});
    expect(c.loss).toMatchObject({
      clip_units: 'per-token',
      clip_chosen: 1,
      clip_rejected: 1.5,
      sft_weight: 0,
    });
    expect(c.optimizer.warmup_steps).toBe(0);
    expect(c.steps_per_minibatch).toBeUndefined();
    expect(lossConfigOf(c)).toMatchObject({ name: 'dual-clip', clipUnits: 'per-token' });
    expect(optimizerOptionsOf(RunConfigSchema.parse({ optimizer: { warmup_steps: 10 } }))).toMatchObject({
      warmupSteps: 10,
      lr: 3e-4,
    });
    expect(RunConfigSchema.parse({ loss: { name: 'sft' } }).loss.name).toBe('sft');
    expect(c.optimizer.schedule).toBe('constant');
    expect(optimizerOptionsOf(c).decaySteps).toBeUndefined();
  });

  it('schedule: cosine decays over the run (minibatches × steps_per_minibatch)', () => {
    const c = RunConfigSchema.parse({
      minibatches: 6,
      steps_per_minibatch: 40,
      optimizer: { lr: 1e-3, warmup_steps: 16, schedule: 'cosine', min_lr_fraction: 0.05 },
    });
    expect(optimizerOptionsOf(c)).toMatchObject({
      lr: 1e-3,
      warmupSteps: 16,
      decaySteps: 240,
      minLrFraction: 0.05,
    });
    expect(() => parseConfig({ optimizer: { schedule: 'cosine' } }, RunConfigSchema, 'run.yaml')).toThrow(
      /optimizer\.schedule.*steps_per_minibatch/,
    );
  });

  it.each([
    [{ loss: { clip_units: 'tokens' } }, /loss\.clip_units/],
    [{ loss: { clip_chosen: 0 } }, /loss\.clip_chosen/],
    [{ loss: { name: 'kto' } }, /loss\.name/],
    [{ optimizer: { warmup_steps: -1 } }, /optimizer\.warmup_steps/],
    [{ optimizer: { warmup_steps: 1.5 } }, /optimizer\.warmup_steps/],
    [{ steps_per_minibatch: 0 }, /steps_per_minibatch/],
    [{ optimizer: { schedule: 'linear' } }, /optimizer\.schedule/],
    [{ optimizer: { min_lr_fraction: 2 } }, /optimizer\.min_lr_fraction/],
  ])('rejects %j naming the key', (obj, msg) => {
    expect(() => parseConfig(obj, RunConfigSchema, 'run.yaml')).toThrow(msg);
  });
});
