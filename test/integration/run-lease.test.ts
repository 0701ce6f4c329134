// The coordinator's lease on a run (issue "A cluster that keeps strangers out"): a second holder is
// refused while the first renews, a crashed holder is waited out, a holder whose lease was taken stops;
// a second `tso coordinator` of a running run exits non-zero naming the run and the holder while the
// first finishes; and ResponseBatch copies forged on the bus during that run never reach pairs.jsonl.
// Real nats-server, real `tso` processes.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseHeldError, LeaseLostError } from '../../src/cluster/coordinator/errors.js';
import { RunLease } from '../../src/cluster/coordinator/run-lease.js';
import type { PreferencePair } from '../../src/data/formats.js';
import {
  buckets,
  connectNats,
  encode,
  LEASE_KEY,
  publishMessage,
  subscribeMessages,
  type NatsConnection,
} from '../../src/transport/index.js';
import { logger } from '../../src/util/log.js';
import { DEFAULT_GENERATORS, makeFixture } from '../helpers/cluster-fixture.js';
import { readJson, readJsonl, type ReportJson } from '../helpers/cluster-run.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { spawnTso, startTsoNode, waitExit, type TsoNode } from '../helpers/tso-process.js';

let nats: NatsServerHandle;
let nc: NatsConnection;
const log = logger('lease-test');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'itest-lease');
});

afterAll(async () => {
  await nc?.drain().catch(() => {});
  await nats?.stop();
});

const acquire = (runId: string, instance: string, ttlMs = 1500) =>
  RunLease.acquire(nc, { runId, runInstance: instance, ttlMs, log });

describe('the run lease', () => {
  it('refuses a second holder while the first renews; the first keeps it', async () => {
    const a = await acquire('lease-a', 'lease-a-1');
    const t0 = Date.now();
    const second = await acquire('lease-a', 'lease-a-2').catch((e: unknown) => e);
    const ms = Date.now() - t0;
    expect(second).toBeInstanceOf(LeaseHeldError);
    expect(String(second)).toMatch(
      /run lease-a is already driven by another coordinator \(coordinator pid \d+ on .*run instance lease-a-1/,
    );
    expect(ms).toBeLessThan(20_000); // a live holder is told from a dead one within a TTL (1.5 s) or so
    await sleep(2000); // more than a TTL: the first renewed meanwhile and still holds the lease
    expect(() => a.check()).not.toThrow();
    await a.release();
    // Released: the next holder takes it at once, with a larger epoch.
    const c = await acquire('lease-a', 'lease-a-3');
    expect(c.epoch).toBeGreaterThan(a.epoch);
    await c.release();
    console.log(`second holder refused in ${ms} ms`);
  }, 60_000);

  it('takes over the lease of a holder that crashed (stopped renewing)', async () => {
    const kv = await nc.jetstream().views.kv(buckets.lease('lease-b'), { ttl: 1500, history: 1 });
    const crashed = await kv.create(
      LEASE_KEY,
      encode('tso.v1.CoordinatorLease', { runId: 'lease-b', holder: 'coordinator pid 1 on gone' }),
    );
    const t0 = Date.now();
    const b = await acquire('lease-b', 'lease-b-2');
    console.log(`crashed holder's lease taken over after ${Date.now() - t0} ms`);
    expect(b.epoch).toBeGreaterThan(crashed);
    await b.release();
  }, 60_000);

  it('a holder whose lease passed to another stops with LeaseLostError', async () => {
    const a = await acquire('lease-c', 'lease-c-1', 1200);
    const kv = await nc.jetstream().views.kv(buckets.lease('lease-c'), { ttl: 1200, history: 1 });
    // As if a successor took the lease while this holder was cut off for longer than the TTL.
    await kv.put(LEASE_KEY, encode('tso.v1.CoordinatorLease', { runId: 'lease-c', holder: 'successor' }));
    for (let i = 0; i < 100 && !a.lost; i++) await sleep(100);
    expect(() => a.check()).toThrow(LeaseLostError);
    expect(() => a.check()).toThrow(/lost the lease on run lease-c: now held by successor/);
    await a.release(); // a lost lease is not deleted: the successor's record stays
    expect((await kv.get(LEASE_KEY))?.operation).toBe('PUT');
  }, 60_000);
});

describe('a coordinator whose lease passes to another', () => {
  it('stops with an error naming the run and the new holder', async () => {
    const fx = await makeFixture({
      nats: nats.url,
      cluster: 'leaselost',
      judge: false,
      policies: 1,
      generators: [],
      run: { run_id: 'lease-lost' },
      clusterExtra: { lease_ttl_ms: 3000 },
    });
    try {
      // No node ever comes: the coordinator holds the lease and waits for its quorum.
      const c = spawnTso(['coordinator', '--config', fx.clusterConfig, '--nats', nats.url]);
      const exit = waitExit(c.child);
      for (let i = 0; i < 600 && !/waiting for quorum/.test(c.output()); i++) await sleep(100);
      expect(c.output()).toMatch(/waiting for quorum/);
      // As if it had been cut off for longer than its lease and a successor had taken the run.
      const kv = await nc.jetstream().views.kv(buckets.lease('lease-lost'));
      await kv.put(
        LEASE_KEY,
        encode('tso.v1.CoordinatorLease', { runId: 'lease-lost', holder: 'coordinator pid 99 on successor' }),
      );
      const t0 = Date.now();
      const { code } = await exit;
      expect(code, c.output()).toBe(1);
      expect(c.output()).toMatch(
        /lost the lease on run lease-lost: now held by coordinator pid 99 on successor.*; this coordinator stops/,
      );
      console.log(`coordinator stopped ${Date.now() - t0} ms after its lease was taken`);
    } finally {
      rmSync(fx.root, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('a second coordinator of a running run', () => {
  it('exits non-zero naming the run and the holder; the first finishes; forged responses stay out of pairs.jsonl', async () => {
    const fx = await makeFixture({
      nats: nats.url,
      cluster: 'leasec',
      judge: false,
      policies: 1,
      generators: DEFAULT_GENERATORS.slice(0, 1),
      run: { run_id: 'lease-run', minibatches: 2, minibatch_prompts: 6, epochs: 1, train_batch_pairs: 6 },
      // Renewed every second: the second coordinator tells a live holder quickly.
      clusterExtra: { lease_ttl_ms: 3000 },
    });
    // The forger reads the bus (open here) and re-publishes every response batch with other texts.
    const forger = await connectNats(nats.url, 'itest-forger');
    const watch = await subscribeMessages(forger, 'tso.*.*.responses.*', 'tso.v1.ResponseBatch');
    let forged = 0;
    void (async () => {
      for await (const m of watch) {
        const b = m.message;
        if (!b.runId.startsWith('lease-run-') || b.responses.some((r) => r.text.startsWith('FORGED')))
          continue;
        const responses = b.responses.map((r) => ({ ...r, text: `FORGED ${r.text}`, tokenIds: [70, 79] }));
        await publishMessage(forger, m.subject, 'tso.v1.ResponseBatch', {
          ...b,
          responses,
          seq: b.seq + 1000,
        });
        forged += responses.length;
      }
    })();
    const nodes: TsoNode[] = [];
    try {
      // The first coordinator holds the lease from its start; it waits for its nodes meanwhile.
      const first = spawnTso(['coordinator', '--config', fx.clusterConfig, '--nats', nats.url]);
      const firstExit = waitExit(first.child);
      for (let i = 0; i < 600 && !/waiting for quorum/.test(first.output()); i++) await sleep(100);
      expect(first.output()).toMatch(/waiting for quorum/);
      const t0 = Date.now();
      const args = ['coordinator', '--config', fx.clusterConfig, '--nats', nats.url];
      const second = spawnTso([...args, '--run-dir', join(fx.root, 'second')]);
      const { code } = await waitExit(second.child);
      const refusedMs = Date.now() - t0;
      expect(code, second.output()).toBe(1);
      expect(second.output()).toMatch(
        new RegExp(
          `run lease-run is already driven by another coordinator \\(coordinator pid ${first.child.pid} on `,
        ),
      );
      expect(second.output()).not.toMatch(/waiting for quorum/); // refused before anything else
      // The first coordinator was unaffected: its nodes come up and it runs every mini-batch.
      nodes.push(
        ...(await Promise.all(['policy-0', 'gen-a'].map((id) => startTsoNode(fx.nodeConfig(id), nats.url)))),
      );
      const done = await firstExit;
      const out = first.output();
      expect(done.code, out.slice(-4000)).toBe(0);
      expect(readJson<ReportJson>(fx.runDir, 'report.json').iterations).toBe(2);
      expect(out).not.toMatch(/lost the lease/);
      // The forged copies reached the coordinator (it says the NATS copies differ) but no pair.
      expect(forged).toBeGreaterThan(0);
      expect(out).toMatch(/responses on NATS differ from the gRPC answers/);
      const pairs = readJsonl<PreferencePair>(fx.runDir, 'pairs.jsonl');
      expect(pairs.length).toBeGreaterThan(0);
      expect(JSON.stringify(pairs)).not.toMatch(/FORGED/);
      console.log(
        `second coordinator refused in ${refusedMs} ms; ${forged} forged responses, none in ${pairs.length} pairs`,
      );
    } finally {
      for (const n of nodes) await n.stop();
      watch.stop();
      await forger.drain().catch(() => {});
      rmSync(fx.root, { recursive: true, force: true });
    }
  }, 180_000);
});
