// What a policy replica accepts from the data plane (src/cluster/node/replica-fence.ts): the run and
// epoch it is bound to, its next step, its model's size, the update's own checksum, its base weights,
// and a weight layout equal to its model's. One reason per refusal.
import { describe, expect, it } from 'vitest';
import {
  foreignReason,
  isRepeatOfLast,
  layoutMismatch,
  updateRefusal,
} from '../../src/cluster/node/replica-fence.js';
import { sha256Hex } from '../../src/model/weights-codec.js';
import type { Update, WeightsAnnounce } from '../../src/transport/index.js';

const grad = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
const good: Update = {
  runId: 'r',
  step: 4,
  grad,
  contributors: [0],
  checksum: sha256Hex(grad),
  baseWeightVersion: 'v0',
  runEpoch: 2,
  baseWeightsSha256: 'b'.repeat(64),
};
const state = { nextStep: 4, paramCount: 3, weightsSha256: () => 'b'.repeat(64) };

describe('replica fence', () => {
  it('answers a repeat of the last applied update (same step, same bytes) and nothing else', () => {
    const last = { step: 4, updateSha256: good.checksum, weightsSha256: 'c'.repeat(64) };
    expect(isRepeatOfLast(good, last)).toBe(true);
    expect(isRepeatOfLast(good, undefined)).toBe(false);
    expect(isRepeatOfLast({ ...good, step: 3 }, last)).toBe(false);
    expect(isRepeatOfLast({ ...good, checksum: 'd'.repeat(64) }, last)).toBe(false);
    // Not a repeat: the fence still refuses it as a replay of an applied step.
    expect(updateRefusal(good, { ...state, nextStep: 5 }, sha256Hex)).toMatch(/next step is 5/);
  });

  it('takes only the bound run and epoch', () => {
    const b = { runId: 'r', epoch: 2 };
    expect(foreignReason(good, b)).toBeUndefined();
    expect(foreignReason({ ...good, runEpoch: 1 }, b)).toMatch(
      /run epoch 1, but this replica is bound to epoch 2 of run r/,
    );
    expect(foreignReason({ ...good, runId: 'x' }, b)).toMatch(/run x, but this replica is bound to run r/);
    expect(foreignReason(good, undefined)).toMatch(/not bound/);
  });

  it('applies an update only for the next step, of the right size and checksum, on its base', () => {
    expect(updateRefusal(good, state, sha256Hex)).toBeUndefined();
    expect(updateRefusal({ ...good, step: 3 }, state, sha256Hex)).toMatch(
      /step 3, but this replica's next step is 4/,
    );
    expect(updateRefusal({ ...good, step: 5 }, state, sha256Hex)).toMatch(/next step is 4/);
    expect(updateRefusal(good, { ...state, paramCount: 4 }, sha256Hex)).toMatch(
      /12 bytes, but the model has 4/,
    );
    expect(updateRefusal({ ...good, checksum: 'c'.repeat(64) }, state, sha256Hex)).toMatch(
      /checksum mismatch/,
    );
    expect(updateRefusal({ ...good, baseWeightsSha256: '' }, state, sha256Hex)).toMatch(
      /applies to weights \(none\)/,
    );
    expect(updateRefusal(good, { ...state, weightsSha256: () => 'a'.repeat(64) }, sha256Hex)).toMatch(
      /applies to weights bbbbbbbbbbbb, this replica holds aaaaaaaaaaaa/,
    );
  });

  it('loads only its own layout', () => {
    const specs = [
      { name: 'wte', shape: [10, 4] },
      { name: 'wpe', shape: [8, 4] },
    ];
    const a = { version: 'v1', params: specs } as WeightsAnnounce;
    expect(layoutMismatch(a, specs)).toBeUndefined();
    expect(layoutMismatch({ ...a, params: specs.slice(0, 1) }, specs)).toMatch(
      /announces 1 parameter arrays, the model has 2/,
    );
    expect(layoutMismatch({ ...a, params: [specs[0], { name: 'wpe', shape: [9, 4] }] }, specs)).toMatch(
      /parameter 1 is wpe \[9,4\], the model has wpe \[8,4\]/,
    );
    expect(layoutMismatch({ ...a, params: [specs[1], specs[0]] }, specs)).toMatch(/parameter 0 is wpe/);
  });
});
