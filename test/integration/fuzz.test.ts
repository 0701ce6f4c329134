// Fuzzing a node's inputs (issue "A cluster that keeps strangers out"): truncated, oversized and random
// protobuf bytes on every gRPC method of a policy replica and a judge, and on every NATS subject a
// replica listens on. Every call ends with a status, every rejection is logged (one line each), and
// the nodes still answer Describe and health afterwards — the replica still applies a genuine Update.
// Real nats-server, real `tso node` processes; a seeded generator, so a failure reproduces.
import { rmSync } from 'node:fs';
import { Client, credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/model/weights-codec.js';
import {
  buildService,
  connectNats,
  createClient,
  encode,
  publishMessage,
  ServingStatus,
  subjects,
  subscribeMessages,
  type NatsConnection,
} from '../../src/transport/index.js';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { frame, oversized, randomBytes, rawCall, truncations } from '../helpers/fuzz-inputs.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { startTsoNode, type TsoNode } from '../helpers/tso-process.js';

const RANDOM_PER_TARGET = 40;
let nats: NatsServerHandle;
let nc: NatsConnection;
let fx: Fixture;
let policy: TsoNode;
let judge: TsoNode;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'itest-fuzz');
  fx = await makeFixture({ nats: nats.url, cluster: 'fuzz', policies: 1, generators: [] });
  [policy, judge] = await Promise.all(
    ['policy-0', 'judge'].map((id) => startTsoNode(fx.nodeConfig(id), nats.url)),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([policy?.stop(), judge?.stop()]);
  await nc?.drain().catch(() => {});
  await nats?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

const REJECTION_LINE =
  /malformed request rejected|rpc rejected|rpc failed|rpc refused|request stream cut off/g;
const lines = (n: TsoNode, re: RegExp) => n.output().match(re)?.length ?? 0;

interface Tally {
  calls: number;
  byCode: Record<string, number>;
}

/** Every method of `services` on `node`, with every fuzz input; returns the statuses seen. */
async function fuzzNode(
  node: TsoNode,
  services: ('tso.v1.ModelNode' | 'tso.v1.Judge' | 'grpc.health.v1.Health')[],
) {
  const client = new Client(node.address, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  const tally: Tally = { calls: 0, byCode: {} };
  const methods: string[] = [];
  try {
    for (const svc of services) {
      for (const m of buildService(svc).methods) {
        methods.push(m.path);
        const inputs = [...truncations(m.requestType), ...oversized()];
        for (let i = 0; i < RANDOM_PER_TARGET; i++) inputs.push(randomBytes(i < 30 ? 64 : 4096));
        for (const bytes of inputs) {
          const code = await rawCall(client, m, bytes);
          const name = Object.entries(status).find(([, v]) => v === code)?.[0] ?? String(code);
          tally.byCode[name] = (tally.byCode[name] ?? 0) + 1;
          tally.calls++;
          // Transport-level failure would mean the node (or its connection) went down.
          expect(code, `${m.path} (${bytes.length} bytes)`).not.toBe(status.UNAVAILABLE);
        }
      }
    }
  } finally {
    client.close();
  }
  return { tally, methods };
}

/** The node process is alive and answers health and a real call of its own service. */
async function stillServes(node: TsoNode, id: string): Promise<void> {
  expect(node.child.exitCode, node.output().slice(-2000)).toBeNull();
  const h = createClient('grpc.health.v1.Health', node.address, { defaultDeadlineMs: 20_000 });
  const c = createClient('tso.v1.ModelNode', node.address, { defaultDeadlineMs: 20_000 });
  const j = createClient('tso.v1.Judge', node.address, { defaultDeadlineMs: 20_000 });
  try {
    expect((await h.check({ service: '' })).status).toBe(ServingStatus.SERVING);
    // A judge serves Judge (+ health) only; a model node serves ModelNode.
    if (id === 'judge')
      expect(
        (await j.compare({ prompt: 'sort: 2 1', responseA: '1 2', responseB: '2 1' })).verdict,
      ).toBeGreaterThan(0);
    else expect((await c.describe({})).nodeId).toBe(id);
  } finally {
    h.close();
    c.close();
    j.close();
  }
}

describe('gRPC fuzz', () => {
  it('every method of a policy replica and a judge: a status for every call, a log line for every rejection, no crash', async () => {
    const t0 = Date.now();
    const before = { 'policy-0': lines(policy, REJECTION_LINE), judge: lines(judge, REJECTION_LINE) };
    const p = await fuzzNode(policy, ['tso.v1.ModelNode', 'grpc.health.v1.Health']);
    const j = await fuzzNode(judge, ['tso.v1.Judge', 'grpc.health.v1.Health']);
    await stillServes(policy, 'policy-0');
    await stillServes(judge, 'judge');
    for (const [name, node, r] of [
      ['policy-0', policy, p],
      ['judge', judge, j],
    ] as const) {
      // Rejected in our handlers: everything but OK, the transport's own size refusal (RESOURCE_EXHAUSTED
      // before any handler runs), UNIMPLEMENTED methods of another role, and Watch streams we cancelled.
      const handled = Object.entries(r.tally.byCode)
        .filter(([k]) => !['OK', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED', 'CANCELLED'].includes(k))
        .reduce((a, [, v]) => a + v, 0);
      // The node's log lines travel through a pipe, not with the answers: let the last ones arrive.
      for (let i = 0; i < 100 && lines(node, REJECTION_LINE) - before[name] < handled; i++)
        await new Promise((res) => setTimeout(res, 100));
      const logged = lines(node, REJECTION_LINE) - before[name];
      // A client stream cut off by the size limit is also logged (its handler had started).
      const cut = r.tally.byCode.RESOURCE_EXHAUSTED ?? 0;
      expect(logged, `${name}: ${JSON.stringify(r.tally.byCode)}`).toBeGreaterThanOrEqual(handled);
      expect(logged, `${name}: ${JSON.stringify(r.tally.byCode)}`).toBeLessThanOrEqual(handled + cut);
      console.log(
        `gRPC fuzz ${name}: ${r.tally.calls} calls on ${r.methods.length} methods -> ${JSON.stringify(r.tally.byCode)}; ${logged} rejection lines; 0 crashes`,
      );
    }
    console.log(`gRPC fuzz: ${Date.now() - t0} ms`);
  }, 240_000);
});

const NATS_LINE =
  /chunk rejected|payload rejected|payload of unexpected type rejected|update ignored|update refused|announcement ignored|announcement refused/g;

describe('NATS fuzz', () => {
  it('every subject a replica listens on: a log line per bad message, no crash, the next genuine Update applied', async () => {
    const t0 = Date.now();
    const run = 'fuzzbus';
    const c = createClient('tso.v1.ModelNode', policy.address, { defaultDeadlineMs: 30_000 });
    try {
      await c.snapshot({ runId: run, version: 'w0' });
      const { checksum } = await c.restore({ runId: run, version: 'w0', runEpoch: 1 });
      const targets = [
        { subject: subjects.update(run, 0), type: 'tso.v1.Update' },
        { subject: subjects.ref(run), type: 'tso.v1.WeightsAnnounce' },
      ];
      const before = lines(policy, NATS_LINE);
      let sent = 0;
      const counts: Record<string, number> = {};
      const send = (kind: string, subject: string, bytes: Uint8Array) => {
        nc.publish(subject, bytes);
        counts[kind] = (counts[kind] ?? 0) + 1;
        sent++;
      };
      for (const t of targets) {
        const real = frame(encode('tso.v1.Update', { runId: run, step: 0 }), t.type, 'a'.repeat(32));
        for (const n of [1, 3, 8, 20, real.length - 1]) send('truncated', t.subject, real.subarray(0, n));
        // Oversized: a chunk announcing 1 TiB; a 900 KiB message of junk (just under max_payload).
        send(
          'oversized',
          t.subject,
          encode('tso.v1.Chunk', {
            streamId: 'big',
            index: 0,
            count: 2,
            totalBytes: 2 ** 40,
            sha256: 'b'.repeat(64),
            data: new Uint8Array(8),
            contentType: t.type,
          }),
        );
        send('oversized', t.subject, Buffer.alloc(900 * 1024, 0x0a));
        for (let i = 0; i < RANDOM_PER_TARGET; i++)
          send('random', t.subject, randomBytes(i < 30 ? 64 : 4096));
        // Well framed, but the payload is random bytes of the right type or a message of the wrong type.
        for (let i = 0; i < 10; i++)
          send('random payload', t.subject, frame(randomBytes(256), t.type, `r${i}`.padEnd(32, '0')));
        send(
          'wrong type',
          t.subject,
          frame(encode('tso.v1.Ack', { nodeId: 'x' }), 'tso.v1.Ack', 'c'.repeat(32)),
        );
      }
      await nc.flush();
      for (let i = 0; i < 200 && lines(policy, NATS_LINE) - before < sent; i++)
        await new Promise((r) => setTimeout(r, 100));
      const logged = lines(policy, NATS_LINE) - before;
      expect(logged, policy.output().slice(-3000)).toBe(sent);
      // Still alive, still subscribed: the genuine update of its epoch, on its weights, is applied.
      const sums = await subscribeMessages(nc, subjects.checksumAll(run, 0), 'tso.v1.Checksum');
      const grad = new Uint8Array(new Float32Array((await c.describe({})).paramCount).fill(1e-3).buffer);
      await publishMessage(nc, subjects.update(run, 0), 'tso.v1.Update', {
        runId: run,
        step: 0,
        grad,
        checksum: sha256Hex(grad),
        runEpoch: 1,
        baseWeightsSha256: checksum,
      });
      const got = await sums.collect({ count: 1, timeoutMs: 30_000 });
      sums.stop();
      expect(got.items[0]?.message.sha256, policy.output().slice(-2000)).toMatch(/^[0-9a-f]{64}$/);
      await stillServes(policy, 'policy-0');
      console.log(
        `NATS fuzz: ${sent} messages on ${targets.length} subjects ${JSON.stringify(counts)} -> ${logged} rejection lines; 0 crashes; ${Date.now() - t0} ms`,
      );
    } finally {
      c.close();
    }
  }, 120_000);
});
