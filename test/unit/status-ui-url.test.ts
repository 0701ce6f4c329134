// Coordinator.Status carries the dashboard's address (never its token), so `tso status --coordinator`
// can show where the UI is.
import { describe, expect, it } from 'vitest';
import type { NodeDirectory } from '../../src/cluster/coordinator/node-directory.js';
import { statusService, type StatusState } from '../../src/cluster/coordinator/status-service.js';
import { Phase } from '../../src/transport/index.js';

const dir = { live: () => [], lostNodes: () => new Map<string, string>() } as unknown as NodeDirectory;
const state: StatusState = {
  runId: 'r',
  iteration: 0,
  total: 2,
  phase: Phase.GENERATING,
  step: 0,
  startedAtMs: 1,
  message: '',
};
const status = () => (statusService(state, dir).impl as { status: () => { uiUrl: string } }).status();

describe('Coordinator.Status ui_url', () => {
  it('is empty without a UI and the bare address with one', () => {
    expect(status().uiUrl).toBe('');
    state.uiUrl = 'http://127.0.0.1:4100/';
    expect(status().uiUrl).toBe('http://127.0.0.1:4100/');
  });
});
