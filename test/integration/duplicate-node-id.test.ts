// A duplicate node id is refused while its holder lives; a crashed holder's id is taken over once
// its record goes stale (issue "A cluster that keeps strangers out", item 4). Real nats-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buckets,
  connectNats,
  ConflictError,
  Membership,
  Role,
  type NatsConnection,
} from '../../src/transport/index.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

let nats: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'itest-dup');
});

afterAll(async () => {
  await nc?.drain().catch(() => {});
  await nats?.stop();
});

const open = () => Membership.open(nc, { bucket: buckets.nodes('dup'), ttlMs: 1500 });

describe('node ids are unique', () => {
  it('refuses a second live process with the same id', async () => {
    const a = await open();
    await a.register({ nodeId: 'gen-x', role: Role.GENERATOR, pid: 111 });
    const b = await open();
    const t0 = Date.now();
    await expect(b.register({ nodeId: 'gen-x', role: Role.GENERATOR, pid: 222 })).rejects.toThrow(
      ConflictError,
    );
    expect(Date.now() - t0).toBeLessThan(2500);
    expect((await a.get('gen-x'))?.pid).toBe(111);
    await a.deregister();
  });

  it('takes over the id of a process that stopped heartbeating', async () => {
    const a = await open();
    await a.register({ nodeId: 'gen-y', role: Role.GENERATOR, pid: 333 });
    a.stopHeartbeats(); // as if it crashed
    const b = await open();
    await b.register({ nodeId: 'gen-y', role: Role.GENERATOR, pid: 444 });
    expect((await b.get('gen-y'))?.pid).toBe(444);
    await b.deregister();
  });
});
