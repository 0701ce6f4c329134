// What the coordinator takes for a lost node: only UNAVAILABLE and DEADLINE_EXCEEDED; any other answer
// is an error event and the node keeps serving. A lost node whose record heartbeats again (or a new
// process under its id) is live again; a dead one, whose record only waits for its TTL, is not.
import { describe, expect, it } from 'vitest';
import { NodeDirectory } from '../../src/cluster/coordinator/node-directory.js';
import {
  decode,
  encode,
  isNodeFailure,
  Role,
  RpcError,
  status,
  type Membership,
  type MemberRecord,
} from '../../src/transport/index.js';
import { logger } from '../../src/util/log.js';

const rpc = (code: number) => new RpcError('/tso.v1.ModelNode/ComputeGradients', code, String(code), 'x');

function record(nodeId: string, heartbeatAtMs: number, startedAtMs = 1): MemberRecord {
  const rec = { nodeId, role: Role.POLICY, address: '127.0.0.1:1', startedAtMs, heartbeatAtMs };
  return decode('tso.v1.MemberRecord', encode('tso.v1.MemberRecord', rec));
}

function directory() {
  let now: MemberRecord[] = [];
  const membership = { list: () => Promise.resolve(now) } as unknown as Membership;
  const dir = new NodeDirectory(membership, logger('test'), 1000);
  return { dir, set: (r: MemberRecord[]) => (now = r) };
}

describe('node failures', () => {
  it('only UNAVAILABLE and DEADLINE_EXCEEDED are a lost node', () => {
    expect(isNodeFailure(rpc(status.UNAVAILABLE))).toBe(true);
    expect(isNodeFailure(rpc(status.DEADLINE_EXCEEDED))).toBe(true);
    for (const c of [
      status.INVALID_ARGUMENT,
      status.RESOURCE_EXHAUSTED,
      status.FAILED_PRECONDITION,
      status.INTERNAL,
      status.PERMISSION_DENIED,
    ])
      expect(isNodeFailure(rpc(c)), String(c)).toBe(false);
    expect(isNodeFailure(new Error('UNAVAILABLE'))).toBe(false);
  });

  it('records a data error as an event and keeps the node; loses it on UNAVAILABLE', async () => {
    const { dir, set } = directory();
    set([record('p0', 10)]);
    await dir.refresh();
    expect(dir.callFailed('p0', 'ComputeGradients', rpc(status.RESOURCE_EXHAUSTED))).toBe('error');
    expect(dir.isLost('p0')).toBe(false);
    expect(dir.callFailed('p0', 'ComputeGradients', rpc(status.UNAVAILABLE))).toBe('lost');
    expect(dir.isLost('p0')).toBe(true);
    expect(dir.drainEvents().map((e) => e.kind)).toEqual(['error', 'lost']);
  });

  it('re-admits a lost node that heartbeats again, not one whose record is only waiting to expire', async () => {
    const { dir, set } = directory();
    set([record('alive', 10), record('dead', 10)]);
    await dir.refresh();
    dir.markLost('alive', 'deadline exceeded');
    dir.markLost('dead', 'connection refused');
    // The first look after the loss: both records as they were (the mark), nobody back yet.
    set([record('alive', 20), record('dead', 15)]);
    await dir.refresh();
    expect(dir.live()).toEqual([]);
    // 'alive' heartbeats again; the dead process's record does not change until it expires.
    set([record('alive', 30), record('dead', 15)]);
    await dir.refresh();
    expect(dir.live().map((m) => m.nodeId)).toEqual(['alive']);
    expect(dir.isLost('dead')).toBe(true);
    const back = dir.drainEvents().filter((e) => e.kind === 'joined');
    expect(back.map((e) => e.node)).toEqual(['alive']);
    expect(back[0].detail).toMatch(/heartbeating again/);
  });

  it('re-admits a restarted node at once, and one whose expired record reappears', async () => {
    const { dir, set } = directory();
    set([record('r', 10), record('e', 10)]);
    await dir.refresh();
    dir.markLost('r', 'killed');
    set([record('e', 10)]);
    await dir.refresh();
    expect(dir.isLost('e')).toBe(false);
    set([]); // e's record expired: it left the membership
    await dir.refresh();
    expect(dir.isLost('e')).toBe(true);
    set([record('r', 12, 99), record('e', 40)]); // r restarted (new startedAtMs); e put its record again
    await dir.refresh();
    expect(dir.live().map((m) => m.nodeId)).toEqual(['r', 'e']);
  });
});
