// The coordinator's NodeDirectory: a lost node stays lost while its old registration is still listed
// (until its TTL lapses); only a restarted process of the same id (a new registration) comes back.
import { describe, expect, it } from 'vitest';
import { NodeDirectory } from '../../src/cluster/coordinator/node-directory.js';
import { Role, type Membership, type MemberRecord } from '../../src/transport/index.js';
import { logger } from '../../src/util/log.js';

function member(nodeId: string, startedAtMs: number): MemberRecord {
  return {
    nodeId,
    role: Role.GENERATOR,
    modelName: nodeId,
    tier: 1,
    backend: 'wasm',
    address: '127.0.0.1:1',
    replica: 0,
    weightVersion: 'initial',
    startedAtMs,
    pid: 1,
    heartbeatAtMs: startedAtMs,
    hostname: 'h',
  };
}

describe('NodeDirectory', () => {
  it('keeps a lost node lost until a restarted process registers', async () => {
    let listed = [member('gen-a', 1000), member('gen-b', 1000)];
    const membership = { list: async () => listed } as unknown as Membership;
    const dir = new NodeDirectory(membership, logger('test'), 1000);
    await dir.refresh();
    dir.markLost('gen-b', 'Generate failed');
    // Killed: its registration is still listed until the TTL lapses. It must not come back.
    await dir.refresh();
    expect(dir.isLost('gen-b')).toBe(true);
    expect(dir.live().map((m) => m.nodeId)).toEqual(['gen-a']);
    listed = [member('gen-a', 1000)]; // the TTL lapsed
    await dir.refresh();
    expect(dir.isLost('gen-b')).toBe(true);
    listed = [member('gen-a', 1000), member('gen-b', 5000)]; // restarted: a new registration
    await dir.refresh();
    expect(dir.isLost('gen-b')).toBe(false);
    expect(dir.events.filter((e) => e.kind === 'lost').map((e) => e.node)).toEqual(['gen-b']);
    dir.close();
  });
});
