// The loss options and training pairs survive the wire (tso.v1.LossOptions / TrainPair) exactly,
// including the fields added later (anchor, clip_units, warmup_steps, decay_steps, reference_version) and what
// an older sender's defaults mean.
import { describe, expect, it } from 'vitest';
import { lossFromWire, lossToWire, pairFromWire, pairToWire } from '../../src/cluster/loss-wire.js';
import { adamwFromWire } from '../../src/cluster/node/replica-weights.js';
import { DEFAULT_ADAMW } from '../../src/model/adamw.js';
import type { LossConfig } from '../../src/tso/dpo-step.js';
import { metricsFromWire, metricsToWire, combineShardMetrics } from '../../src/tso/preference-metrics.js';
import { ClipUnits, LossKind } from '../../src/transport/proto/enums.js';
import { decode, encode } from '../../src/transport/proto/codec.js';

const wire = (l: LossConfig) =>
  lossFromWire(decode('tso.v1.LossOptions', encode('tso.v1.LossOptions', lossToWire(l))));

describe('loss and pairs on the wire', () => {
  it.each<LossConfig>([
    {
      name: 'dual-clip',
      beta: 0.1,
      clipChosen: 1,
      clipRejected: 1.5,
      clipUnits: 'per-token',
      sftWeight: 0.2,
    },
    {
      name: 'dual-clip',
      beta: 0.1,
      clipChosen: Infinity,
      clipRejected: 2,
      clipUnits: 'sequence',
      sftWeight: 0,
    },
    {
      name: 'sft',
      beta: 0.1,
      clipChosen: Infinity,
      clipRejected: Infinity,
      clipUnits: 'per-token',
      sftWeight: 0,
    },
    {
      name: 'dpo',
      beta: 0.25,
      clipChosen: Infinity,
      clipRejected: Infinity,
      clipUnits: 'per-token',
      sftWeight: 0,
    },
  ])('round-trips %j', (l) => {
    expect(wire(l)).toEqual(l);
  });

  it('an old sender (no clip_units) meant sequence units; unknown kinds are refused', () => {
    const old = decode(
      'tso.v1.LossOptions',
      encode('tso.v1.LossOptions', { kind: LossKind.DUAL_CLIP, beta: 0.1, clipChosen: 1, clipRejected: 1 }),
    );
    expect(old.clipUnits).toBe(ClipUnits.UNSPECIFIED);
    expect(lossFromWire(old)?.clipUnits).toBe('sequence');
    expect(lossFromWire({ ...old, kind: LossKind.UNSPECIFIED })).toBeUndefined();
    expect(lossFromWire(undefined)).toBeUndefined();
  });

  it('pairs keep weight 0 and the anchor flag', () => {
    const p = {
      prompt: 'p',
      chosen: 'a',
      rejected: 'b',
      weight: 0,
      anchor: true,
      refChosen: -3.5,
      refRejected: -7.25,
    };
    const back = pairFromWire(decode('tso.v1.TrainPair', encode('tso.v1.TrainPair', pairToWire(p, '4'))));
    expect(back).toEqual(p);
    expect(
      pairFromWire(
        decode('tso.v1.TrainPair', encode('tso.v1.TrainPair', pairToWire({ ...p, anchor: false }, '5'))),
      ).anchor,
    ).toBe(false);
  });

  it('the optimizer warm-up and the restore reference travel', () => {
    const o = decode(
      'tso.v1.OptimizerOptions',
      encode('tso.v1.OptimizerOptions', {
        lr: 1e-4,
        warmupSteps: 20,
        decaySteps: 300,
        minLrFraction: 0.1,
      }),
    );
    expect(o.warmupSteps).toBe(20);
    // A replica builds exactly the coordinator's schedule from the wire; an older sender (no decay
    // fields) means a constant rate after the warm-up.
    expect(adamwFromWire(o, DEFAULT_ADAMW)).toMatchObject({
      warmupSteps: 20,
      decaySteps: 300,
      minLrFraction: 0.1,
    });
    const old = decode('tso.v1.OptimizerOptions', encode('tso.v1.OptimizerOptions', { lr: 1e-4 }));
    expect(adamwFromWire(old, DEFAULT_ADAMW).decaySteps).toBeUndefined();
    // A floor outside [0, 1] (or NaN) is refused before the replica changes anything.
    for (const minLrFraction of [2, -0.5, NaN])
      expect(() => adamwFromWire({ ...o, minLrFraction }, DEFAULT_ADAMW)).toThrow(
        /min_lr_fraction: expected a number in \[0, 1\]/,
      );
    const r = decode(
      'tso.v1.RestoreRequest',
      encode('tso.v1.RestoreRequest', { runId: 'r', version: 'resume-x', referenceVersion: 'v0-r' }),
    );
    expect(r.referenceVersion).toBe('v0-r');
    expect(
      decode('tso.v1.RestoreRequest', encode('tso.v1.RestoreRequest', { version: 'v1' })).referenceVersion,
    ).toBe('');
  });

  it('metrics survive the wire map and combine by shard size', () => {
    const a = {
      rewardAccuracy: 1,
      margin: 2,
      chosenReward: 1,
      rejectedReward: -1,
      fractionClipped: 0.5,
      fractionChosenClipped: 0.25,
      fractionRejectedClipped: 0.25,
      pairs: 4,
    };
    const b = { ...a, fractionClipped: 0, fractionChosenClipped: 0, fractionRejectedClipped: 0, pairs: 2 };
    expect(metricsFromWire(metricsToWire(a), 4)).toEqual(a);
    const m = combineShardMetrics([a, b], [4, 2]);
    expect(m).toMatchObject({
      pairs: 6,
      fractionChosenClipped: 1 / 6,
      fractionRejectedClipped: 1 / 6,
      fractionClipped: 2 / 6,
    });
  });
});
