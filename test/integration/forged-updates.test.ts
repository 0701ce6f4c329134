// Run-epoch and base-weight fencing (issue "A cluster that keeps strangers out"): two real policy
// replicas bound to epoch 7 of a run by Restore. Forged Updates (another epoch, another run, another
// base, a replay under a new stream id, a skipped step) and forged weight announcements (another
// epoch, another layout, another model config) leave every replica's weights unchanged; the genuine
// update and announcement (positive controls) are applied. Real nats-server, real `tso node`s.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../../src/model/gpt.js';
import { concatParams, decodeWeights, encodeWeights, sha256Hex } from '../../src/model/weights-codec.js';
import {
  buckets,
  connectNats,
  createClient,
  LossKind,
  publishMessage,
  RpcError,
  status,
  subjects,
  subscribeMessages,
  WeightStore,
  type Ack,
  type Checksum,
  type NatsConnection,
  type TypedClient,
  type WeightsAnnounce,
} from '../../src/transport/index.js';
import { makeFixture, TINY, type Fixture } from '../helpers/cluster-fixture.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { startTsoNode, type TsoNode } from '../helpers/tso-process.js';

const RUN = 'fenced-1';
const EPOCH = 7;
const IDS = ['policy-0', 'policy-1'];
let nats: NatsServerHandle;
let nc: NatsConnection;
let fx: Fixture;
let store: WeightStore;
const nodes: TsoNode[] = [];
const clients: TypedClient<'tso.v1.ModelNode'>[] = [];
let paramCount = 0;
let version = 0;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'itest-forger');
  fx = await makeFixture({ nats: nats.url, cluster: 'fenced', judge: false, policies: 2, generators: [] });
  nodes.push(...(await Promise.all(IDS.map((id) => startTsoNode(fx.nodeConfig(id), nats.url)))));
  for (const n of nodes)
    clients.push(createClient('tso.v1.ModelNode', n.address, { defaultDeadlineMs: 30_000 }));
  store = await WeightStore.open(nc, {
    bucket: buckets.weights(RUN),
    stateBucket: buckets.state(RUN),
    runId: RUN,
  });
  // As the coordinator does: replica 0's weights become w0, every replica restores them at epoch 7.
  await clients[0].snapshot({ runId: RUN, version: 'w0' });
  for (const c of clients) await c.restore({ runId: RUN, version: 'w0', runEpoch: EPOCH });
  paramCount = (await clients[0].describe({})).paramCount;
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await nc?.drain().catch(() => {});
  await nats?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

/** SHA-256 of each replica's flat policy weights (snapshotted into the store and read back). */
async function weights(): Promise<string[]> {
  return Promise.all(
    clients.map(async (c) => {
      const v = `probe-${version++}`;
      await c.snapshot({ runId: RUN, version: v });
      return sha256Hex(concatParams(decodeWeights((await store.getVersion(v)).data).values));
    }),
  );
}

/** Each replica's reference log-prob of one fixed pair (moves only when the reference is replaced). */
async function references(): Promise<number[]> {
  const pair = { id: 'r', prompt: 'sort: 3 1 2', response: '1 2 3' };
  return Promise.all(
    clients.map(
      async (c) => (await c.score({ pairs: [pair], includeReference: true })).scores[0].referenceLogprob,
    ),
  );
}

/** A full-size, finite gradient. */
function grad(value = 1e-3): Uint8Array {
  const g = new Float32Array(paramCount).fill(value);
  return new Uint8Array(g.buffer);
}

/** Publishes an Update and returns the checksum answers that arrive within waitMs. */
async function update(
  fields: { step: number; runId?: string; runEpoch?: number; base: string; bytes?: Uint8Array },
  waitMs: number,
): Promise<Checksum[]> {
  const bytes = fields.bytes ?? grad();
  const runId = fields.runId ?? RUN;
  const sums = await subscribeMessages(nc, subjects.checksumAll(RUN, fields.step), 'tso.v1.Checksum');
  try {
    await publishMessage(nc, subjects.update(RUN, fields.step), 'tso.v1.Update', {
      runId,
      step: fields.step,
      grad: bytes,
      contributors: [0, 1],
      checksum: sha256Hex(bytes),
      runEpoch: fields.runEpoch ?? EPOCH,
      baseWeightsSha256: fields.base,
    });
    const got = await sums.collect({ count: IDS.length, timeoutMs: waitMs });
    return got.items.map((x) => x.message);
  } finally {
    sums.stop();
  }
}

/** Publishes a weight announcement and returns the acks that arrive within waitMs. */
async function announce(a: Partial<WeightsAnnounce> & { version: string }, waitMs: number): Promise<Ack[]> {
  const acks = await subscribeMessages(nc, subjects.ackAll(RUN, a.version), 'tso.v1.Ack');
  try {
    await publishMessage(nc, subjects.ref(RUN), 'tso.v1.WeightsAnnounce', {
      runId: RUN,
      runEpoch: EPOCH,
      ...a,
    });
    return (await acks.collect({ count: IDS.length, timeoutMs: waitMs })).items.map((x) => x.message);
  } finally {
    acks.stop();
  }
}

const count = (re: RegExp) => nodes.reduce((n, node) => n + (node.output().match(re)?.length ?? 0), 0);

/** The nodes' log lines travel through a pipe, not the bus: give the last ones time to arrive. */
async function settledCount(re: RegExp, expected: number): Promise<number> {
  for (let i = 0; i < 100 && count(re) < expected; i++) await new Promise((r) => setTimeout(r, 100));
  return count(re);
}

describe('forged updates', () => {
  it('leave every replica unchanged; only the genuine update of the bound epoch moves the weights', async () => {
    const w0 = await weights();
    expect(w0[0]).toBe(w0[1]);
    const base = w0[0];
    // Another epoch (a superseded or a future coordinator) or another run: ignored, not even answered.
    for (const runEpoch of [EPOCH - 1, EPOCH + 1, 0])
      expect(await update({ step: 0, runEpoch, base }, 1500)).toEqual([]);
    expect(await update({ step: 0, runId: 'other-run', base }, 1500)).toEqual([]);
    // The bound epoch, but not on the weights the replicas hold: refused, with the reason.
    const wrongBase = await update({ step: 0, base: 'f'.repeat(64) }, 20_000);
    expect(wrongBase.map((c) => [c.sha256, c.nodeId]).sort()).toEqual(IDS.map((id) => ['', id]));
    expect(wrongBase[0].error).toMatch(/update applies to weights ffffffffffff, this replica holds/);
    // A wrong-size gradient: refused before it could be applied.
    const short = await update({ step: 0, base, bytes: new Uint8Array(16) }, 20_000);
    expect(short.every((c) => c.sha256 === '' && /float32 parameters/.test(c.error))).toBe(true);
    expect(await weights()).toEqual(w0);

    // Positive control: the genuine update is applied by both, identically.
    const genuine = grad();
    const ok = await update({ step: 0, base, bytes: genuine }, 20_000);
    expect(ok).toHaveLength(2);
    expect(ok[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ok[1].sha256).toBe(ok[0].sha256);
    expect(ok[0].runEpoch).toBe(EPOCH);
    expect(ok[0].updateSha256).toBe(sha256Hex(genuine));
    const w1 = await weights();
    expect(w1).toEqual([ok[0].sha256, ok[0].sha256]);

    // The same update sent again (a new stream id: publishMessage picks one per message; the
    // coordinator does this when an answer was lost in a NATS restart): answered again with the
    // weights it produced, not applied twice.
    const again = await update({ step: 0, base, bytes: genuine }, 20_000);
    expect(again.map((c) => [c.sha256, c.error])).toEqual([
      [w1[0], ''],
      [w1[0], ''],
    ]);
    expect(await weights()).toEqual(w1);
    // Another update for the applied step, a step skipped ahead, or the old base at the right step:
    // refused, weights stay.
    const replay = await update({ step: 0, base, bytes: grad(2e-3) }, 20_000);
    expect(replay.every((c) => c.sha256 === '' && /next step is 1/.test(c.error))).toBe(true);
    const skip = await update({ step: 5, base: w1[0] }, 20_000);
    expect(skip.every((c) => c.sha256 === '')).toBe(true);
    const oldBase = await update({ step: 1, base }, 20_000);
    expect(oldBase.every((c) => c.sha256 === '' && /applies to weights/.test(c.error))).toBe(true);
    expect(await weights()).toEqual(w1);

    const ignored = await settledCount(/update ignored: /g, 8);
    const refused = await settledCount(/update refused: /g, 10);
    expect(ignored).toBe(8); // 4 forged × 2 replicas, one line each
    expect(refused).toBe(10); // 5 forged × 2 replicas
    console.log(
      `forged updates: ${ignored} ignored (other epoch/run), ${refused} refused, weights unchanged`,
    );
  }, 120_000);

  it('a superseded coordinator (lower epoch) cannot Restore or hand out shards', async () => {
    const restore = await clients[0]
      .restore({ runId: RUN, version: 'w0', runEpoch: EPOCH - 1 })
      .catch((e: unknown) => e);
    expect(restore).toBeInstanceOf(RpcError);
    expect((restore as RpcError).grpcCode).toBe(status.FAILED_PRECONDITION);
    expect((restore as RpcError).details).toMatch(/superseded coordinator/);
    const pair = { id: '0', prompt: 'sort: 2 1', chosen: '1 2', rejected: '2 1', weight: 1 };
    const shard = await clients[1]
      .computeGradients({
        runId: RUN,
        step: 1,
        runEpoch: EPOCH - 1,
        pairs: [pair],
        loss: { kind: LossKind.SFT },
        totalPairs: 1,
      })
      .catch((e: unknown) => e);
    expect((shard as RpcError).grpcCode, String(shard)).toBe(status.FAILED_PRECONDITION);
    expect((shard as RpcError).details).toMatch(/bound to epoch 7/);
  }, 60_000);
});

describe('forged weight announcements', () => {
  it("are not loaded; the coordinator's announcement of the bound epoch is", async () => {
    const w = await weights();
    const ref0 = await references();
    const before = await Promise.all(clients.map((c) => c.describe({})));
    // A version of this run's store with a real layout: what the coordinator would announce.
    await clients[0].snapshot({ runId: RUN, version: 'v1' });
    const real = { ...(await store.info('v1'))!, runEpoch: EPOCH };
    expect(real.params.length).toBeGreaterThan(0);
    // Another epoch: ignored without an ack.
    expect(await announce({ ...real, runEpoch: EPOCH + 1 }, 1500)).toEqual([]);
    // The bound epoch, but a layout that is not this model's (one more layer).
    const deeper = GPT.create({ ...TINY, nLayer: 2 }, 5);
    const wrongLayout = await announce(
      { ...real, version: 'deeper', params: deeper.specs.map((p) => ({ name: p.name, shape: p.shape })) },
      20_000,
    );
    deeper.dispose();
    expect(wrongLayout.map((a) => a.ok)).toEqual([false, false]);
    expect(wrongLayout[0].error).toMatch(/announces \d+ parameter arrays, the model has/);
    // The same layout, but weights made for another model config (4 heads): refused after reading it.
    const other = GPT.create({ ...TINY, nHead: 4 }, 6);
    const bytes = encodeWeights(other.config, other.getWeights(), 'heads4');
    other.dispose();
    const stored = await store.putVersion('heads4', bytes, { params: real.params });
    const wrongConfig = await announce({ ...stored, runEpoch: EPOCH }, 20_000);
    expect(wrongConfig.map((a) => a.ok)).toEqual([false, false]);
    expect(wrongConfig[0].error).toMatch(/different model config/);
    // Not in the store at all.
    const missing = await announce({ ...real, version: 'nowhere', sha256: 'a'.repeat(64) }, 20_000);
    expect(missing.map((a) => a.ok)).toEqual([false, false]);
    expect(await weights()).toEqual(w);
    expect(await references()).toEqual(ref0);
    const after = await Promise.all(clients.map((c) => c.describe({})));
    expect(after.map((i) => i.referenceVersion)).toEqual(before.map((i) => i.referenceVersion));

    // Positive control: the real announcement of the bound epoch is loaded by both.
    const good = await announce({ ...real, runEpoch: EPOCH }, 20_000);
    expect(good.map((a) => [a.ok, a.runEpoch])).toEqual([
      [true, EPOCH],
      [true, EPOCH],
    ]);
    expect((await Promise.all(clients.map((c) => c.describe({})))).map((i) => i.referenceVersion)).toEqual([
      'v1',
      'v1',
    ]);
    const ignored = await settledCount(/announcement ignored: /g, 2);
    const refused = await settledCount(/announcement refused, weights kept: /g, 6);
    expect(ignored).toBe(2);
    expect(refused).toBe(6);
    console.log(
      `forged announcements: ${ignored} ignored (other epoch), ${refused} refused, weights unchanged`,
    );
  }, 120_000);
});
