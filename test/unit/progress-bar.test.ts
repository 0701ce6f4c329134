// The launcher's terminal bar: which log lines move it, and where (pure parsing; the bar itself is
// drawn only on an interactive terminal).
import { describe, expect, it } from 'vitest';
import { progressOf, terminalProgress } from '../../src/cli/progress-bar.js';

describe('launcher progress', () => {
  it('reads mini-batch, phase and position from the coordinator progress lines', () => {
    expect(progressOf('[coordinator] [tso    0s] mini-batch 1/4 evaluate')).toEqual({
      minibatch: 1,
      of: 4,
      phase: 'evaluate',
      value: 0,
      total: 28,
    });
    const train = progressOf(
      '[coordinator] [tso   12s] mini-batch 2/4 train step 7 epoch 2 loss 12.1372 reward-acc 0.69 replicas 2',
    );
    expect(train).toMatchObject({ minibatch: 2, phase: 'train', value: 7 + 4 });
    expect(progressOf('[coordinator] [tso  120s] mini-batch 4/4 checkpoint')!.value).toBe(27);
  });

  it('ignores every other line, and impossible positions', () => {
    for (const line of [
      '[policy-0] node serving at 127.0.0.1:46601',
      '[cluster] started nats-server at nats://127.0.0.1:36847',
      '[gen-a] [tso    3s] mini-batch 1/4 generate', // not the coordinator
      '[coordinator] [tso    3s] mini-batch 5/4 generate',
      '[coordinator] [tso    3s] mini-batch 1/4 dancing',
    ])
      expect(progressOf(line), line).toBeUndefined();
  });

  it('draws no bar when the output is not an interactive terminal', () => {
    const piped = { isTTY: false } as NodeJS.WriteStream;
    expect(terminalProgress(piped)).toBeUndefined();
  });
});
