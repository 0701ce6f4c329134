// Transport against a real nats-server: KV membership, object store weights, chunked pub/sub.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from 'nats';
import { connectNats } from '../../src/transport/nats/connect.js';
import { Membership } from '../../src/transport/nats/membership.js';
import type { MembershipEvent } from '../../src/transport/nats/membership-watch.js';
import { WeightStore } from '../../src/transport/nats/weight-store.js';
import { publishChunked, publishMessage, subscribeMessages } from '../../src/transport/nats/chunked.js';
import { buckets, subjects } from '../../src/transport/nats/subjects.js';
import { ConflictError, IntegrityError, NotFoundError } from '../../src/transport/errors.js';
import { Role } from '../../src/transport/proto/enums.js';
import { sha256Hex } from '../../src/transport/util/sha256.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

let nats: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'transport-test');
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function nextEvent(it: AsyncIterator<MembershipEvent>, timeoutMs = 10_000): Promise<MembershipEvent> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event')), timeoutMs));
  const r = await Promise.race([it.next(), timer]);
  if (r.done) throw new Error('watch ended');
  return r.value;
}

describe('KV membership', () => {
  it('registers, heartbeats past the TTL, expires without heartbeats, deregisters', async () => {
    const bucket = buckets.nodes('memtest');
    const opts = { bucket, ttlMs: 1500, heartbeatMs: 300 };
    const observer = await Membership.open(nc, opts);
    const watch = await observer.watch({ sweepMs: 200 });
    const events = watch[Symbol.asyncIterator]();

    const a = await Membership.open(nc, opts);
    const b = await Membership.open(nc, opts);
    const rec = await a.register({
      nodeId: 'gen-a',
      role: Role.GENERATOR,
      modelName: 'm1',
      address: '127.0.0.1:1',
    });
    expect(rec.pid).toBe(process.pid);
    expect(rec.startedAtMs).toBeGreaterThan(0);
    await b.register({ nodeId: 'policy-0', role: Role.POLICY, replica: 0, address: '127.0.0.1:2' });

    const joins = [await nextEvent(events), await nextEvent(events)];
    expect(joins.map((e) => `${e.type}:${e.nodeId}`).sort()).toEqual(['join:gen-a', 'join:policy-0']);

    // Heartbeats keep both alive well past the TTL.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await observer.list()).map((m) => m.nodeId)).toEqual(['gen-a', 'policy-0']);

    // A changed record is reported as an update; plain heartbeats are not.
    await a.update({ weightVersion: 'v2' });
    const upd = await nextEvent(events);
    expect(upd).toMatchObject({ type: 'update', nodeId: 'gen-a' });
    if (upd.type === 'update') expect(upd.record.weightVersion).toBe('v2');

    // policy-0 "dies": no more heartbeats → it expires after the TTL.
    b.stopHeartbeats();
    const t0 = Date.now();
    const left = await nextEvent(events, 10_000);
    expect(left).toMatchObject({ type: 'leave', nodeId: 'policy-0', reason: 'expired' });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await observer.list()).map((m) => m.nodeId)).toEqual(['gen-a']);

    // A clean shutdown deregisters at once.
    await a.deregister();
    expect(await nextEvent(events)).toMatchObject({ type: 'leave', nodeId: 'gen-a', reason: 'deregistered' });
    expect(await observer.list()).toEqual([]);
    watch.stop();
  });

  it('list() returns every live key once, also while records expire and heartbeats land', async () => {
    // kv.keys() (which list() used before) waits for a message with nothing pending: a record
    // expiring mid-listing made it wait forever, and a heartbeat mid-listing listed a key twice.
    const opts = { bucket: buckets.nodes('listrace'), ttlMs: 300, heartbeatMs: 20 };
    const busy = await Membership.open(nc, opts);
    await busy.register({ nodeId: 'busy', role: Role.GENERATOR });
    const expiring = await Membership.open(nc, opts);
    for (let round = 0; round < 15; round++) {
      await expiring.register({ nodeId: `gone-${round}`, role: Role.JUDGE });
      expiring.stopHeartbeats();
      const lists = await Promise.all(
        Array.from({ length: 4 }, () =>
          Promise.race([
            busy.list(),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error('list() hung')), 5000)),
          ]),
        ),
      );
      for (const l of lists) {
        const ids = l.map((r) => r.nodeId);
        expect(new Set(ids).size, ids.join(',')).toBe(ids.length);
        expect(ids).toContain('busy');
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    await busy.deregister();
  });

  it('skips malformed records in list()', async () => {
    const m = await Membership.open(nc, { bucket: buckets.nodes('badrec'), ttlMs: 5000 });
    await m.kv.put('junk', Uint8Array.from([0x0a, 0xff]));
    await m.register({ nodeId: 'ok-node', role: Role.JUDGE });
    expect((await m.list()).map((r) => r.nodeId)).toEqual(['ok-node']);
    await m.deregister();
  });
});

describe('object store weights', () => {
  it('round-trips ~5 MB with SHA-256, refuses overwrites, tracks latest', async () => {
    const store = await WeightStore.open(nc, {
      bucket: buckets.weights('wtest'),
      stateBucket: buckets.state('wtest'),
      runId: 'wtest',
    });
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const params = [{ name: 'w', shape: [1024, 1280] }];
    const ann = await store.putVersion('v1', data, { params, step: 10 });
    expect(ann).toMatchObject({ version: 'v1', sha256: sha256Hex(data), bytes: data.byteLength, step: 10 });
    expect(ann.params).toEqual(params);

    const got = await store.getVersion('v1');
    expect(Buffer.from(got.data).equals(data)).toBe(true);
    expect(got.announce.sha256).toBe(ann.sha256);

    // Identical bytes: idempotent. Different bytes: refused, original intact.
    expect((await store.putVersion('v1', data)).sha256).toBe(ann.sha256);
    const other = randomBytes(1000);
    await expect(store.putVersion('v1', other)).rejects.toBeInstanceOf(ConflictError);
    expect(Buffer.from((await store.getVersion('v1')).data).equals(data)).toBe(true);

    // A wrong announced digest is refused before anything is written.
    await expect(store.putVersion('v2', other, { sha256: 'a'.repeat(64) })).rejects.toBeInstanceOf(
      IntegrityError,
    );
    await expect(store.getVersion('v2')).rejects.toBeInstanceOf(NotFoundError);

    expect(await store.latest()).toBeNull();
    await store.putVersion('v2', other);
    await store.setLatest('v2');
    expect((await store.latest())?.version).toBe('v2');
    expect(await store.versions()).toEqual(['v1', 'v2']);
    await expect(store.setLatest('v9')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('detects stored data whose digest does not match its metadata', async () => {
    const store = await WeightStore.open(nc, {
      bucket: buckets.weights('wbad'),
      stateBucket: buckets.state('wbad'),
    });
    // Written by a foreign client with a wrong sha256 in its metadata.
    await store.os.putBlob({ name: 'v1', metadata: { sha256: 'b'.repeat(64) } }, randomBytes(2000));
    await expect(store.getVersion('v1')).rejects.toThrow(/sha256 mismatch/);
  });
});

describe('chunked publish / collect', () => {
  it('moves 3 MB gradient shards across per-replica subjects and rejects junk', async () => {
    expect(nc.info?.max_payload).toBe(1024 * 1024);
    const sub = await subscribeMessages(nc, subjects.gradAll('ctest', 1), 'tso.v1.GradientShard');
    const grads = [randomBytes(3 * 1024 * 1024), randomBytes(3 * 1024 * 1024 + 17)];
    nc.publish(subjects.grad('ctest', 1, 9), Uint8Array.from([0x0a, 0xff, 0x01])); // malformed
    const sent = await Promise.all(
      grads.map((grad, replica) =>
        publishMessage(nc, subjects.grad('ctest', 1, replica), 'tso.v1.GradientShard', {
          runId: 'ctest',
          step: 1,
          replica,
          grad,
          checksum: sha256Hex(grad),
        }),
      ),
    );
    expect(sent.every((s) => s.chunks === 4)).toBe(true);
    const { items, timedOut } = await sub.collect({ count: 2, timeoutMs: 20_000 });
    expect(timedOut).toBe(false);
    const byReplica = new Map(items.map((i) => [i.message.replica, i]));
    for (const [replica, grad] of grads.entries()) {
      const got = byReplica.get(replica);
      expect(got?.subject).toBe(subjects.grad('ctest', 1, replica));
      expect(got?.message.checksum).toBe(sha256Hex(grad));
      expect(Buffer.from(got?.message.grad ?? []).equals(grad)).toBe(true);
    }
    expect(sub.stats.rejected).toBe(1);

    // A payload of another type on the same subject is rejected, not delivered.
    await publishChunked(nc, subjects.grad('ctest', 1, 5), randomBytes(10), { contentType: 'tso.v1.Update' });
    const more = await sub.collect({ count: 1, timeoutMs: 500 });
    expect(more).toEqual({ items: [], timedOut: true });
    expect(sub.stats.rejected).toBe(2);
    sub.stop();
  });
});
