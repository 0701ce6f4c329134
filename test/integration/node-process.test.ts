// One `tso node` process at a time, poked from outside (issue 3, items 7 and "done when"): malformed
// gRPC requests get INVALID_ARGUMENT and the node stays up; weights with a wrong SHA-256 are refused;
// a policy replica refuses a NaN/Inf update (no weight changes, an empty checksum, the refusal logged);
// and a Python grpcio client built from proto/ alone calls Describe and Generate.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { findPython, generatePythonStubs } from '../helpers/python-grpc.js';
import { promisify } from 'node:util';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../../src/model/gpt.js';
import { concatParams, decodeWeights, encodeWeights, sha256Hex } from '../../src/model/weights-codec.js';
import {
  buckets,
  connectNats,
  createClient,
  Membership,
  protoDir,
  publishMessage,
  Role,
  RpcError,
  subjects,
  subscribeMessages,
  WeightStore,
  WeightTarget,
  weightChunks,
  type NatsConnection,
  type TypedClient,
} from '../../src/transport/index.js';
import { makeFixture, TINY, type Fixture } from '../helpers/cluster-fixture.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { startTsoNode, type TsoNode } from '../helpers/tso-process.js';

let nats: NatsServerHandle;
let fx: Fixture;
let nc: NatsConnection;
let gen: TsoNode;
let policy: TsoNode;
let genClient: TypedClient<'tso.v1.ModelNode'>;
let policyClient: TypedClient<'tso.v1.ModelNode'>;

beforeAll(async () => {
  nats = await startNatsServer();
  fx = await makeFixture({
    nats: nats.url,
    cluster: 'nodeproc',
    judge: false,
    policies: 1,
    generators: [{ id: 'gen-a', tier: 1, seed: 11 }],
  });
  [gen, policy] = await Promise.all([
    startTsoNode(fx.nodeConfig('gen-a'), nats.url),
    startTsoNode(fx.nodeConfig('policy-0'), nats.url),
  ]);
  genClient = createClient('tso.v1.ModelNode', gen.address, { defaultDeadlineMs: 20_000 });
  policyClient = createClient('tso.v1.ModelNode', policy.address, { defaultDeadlineMs: 20_000 });
  nc = await connectNats(nats.url, 'itest-node-process');
}, 120_000);

afterAll(async () => {
  genClient?.close();
  policyClient?.close();
  await Promise.all([gen?.stop(), policy?.stop()]);
  await nc?.drain().catch(() => {});
  await nats?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

/** A raw call with identity serializers: the bytes go on the wire as they are. */
function rawCall(address: string, path: string, bytes: Buffer, stream: boolean) {
  const raw = new Client(address, credentials.createInsecure());
  const id = (b: Buffer) => b;
  const opts = { deadline: Date.now() + 20_000 };
  return new Promise<{ code: number; details: string }>((resolve) => {
    let settled = false;
    const done = (code: number, details: string) => {
      if (settled) return;
      settled = true;
      raw.close();
      resolve({ code, details });
    };
    if (stream) {
      const call = raw.makeServerStreamRequest(path, id, id, bytes, new Metadata(), opts);
      call.on('data', () => {});
      call.on('error', (e: ServiceError) => done(e.code, e.details));
      call.on('status', (s: { code: number; details: string }) => done(s.code, s.details));
    } else {
      raw.makeUnaryRequest(path, id, id, bytes, new Metadata(), opts, (err: ServiceError | null) =>
        done(err ? err.code : status.OK, err?.details ?? ''),
      );
    }
  });
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream) out.push(x);
  return out;
}

const GARBAGE = [Buffer.from([0x0a, 0xff, 0x01]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])];

describe('tso node: bad input', () => {
  it('answers garbage bytes with INVALID_ARGUMENT and keeps serving', async () => {
    for (const bytes of GARBAGE) {
      const g = await rawCall(gen.address, '/tso.v1.ModelNode/Generate', bytes, true);
      expect(g.code, g.details).toBe(status.INVALID_ARGUMENT);
      const s = await rawCall(gen.address, '/tso.v1.ModelNode/Score', bytes, false);
      expect(s.code, s.details).toBe(status.INVALID_ARGUMENT);
    }
    expect(gen.output()).toMatch(/malformed request rejected/);
    const info = await genClient.describe({});
    expect(info).toMatchObject({ nodeId: 'gen-a', role: Role.GENERATOR, tier: 1, modelName: 'gen-a' });
    expect(gen.child.exitCode).toBeNull();
  });

  it('refuses an over-long prompt or no prompts with INVALID_ARGUMENT, then still generates', async () => {
    const sampling = { temperature: 1, topP: 1, maxNewTokens: 4, seed: 7 };
    const long = await rpcError(
      drain(
        genClient.generate({ prompts: [{ id: 'long', text: 'sort: ' + '9 '.repeat(100) }], n: 1, sampling }),
      ),
    );
    expect(long.grpcCode).toBe(status.INVALID_ARGUMENT);
    expect(long.details).toMatch(/long.*does not fit the context of 40/);
    const none = await rpcError(drain(genClient.generate({ prompts: [], n: 1, sampling })));
    expect(none.grpcCode).toBe(status.INVALID_ARGUMENT);
    const ok = await drain(
      genClient.generate({ prompts: [{ id: 'p1', text: 'sort: 3 1 2' }], n: 2, sampling }),
    );
    expect(ok.map((r) => `${r.promptId}#${r.sampleIndex}`)).toEqual(['p1#0', 'p1#1']);
    expect(ok[0].lineage?.nodeId).toBe('gen-a');
    expect((await genClient.describe({})).nodeId).toBe('gen-a');
  });

  it('refuses weights whose SHA-256 does not match and keeps the old ones', async () => {
    const before = await genClient.describe({});
    const m = GPT.create(TINY, 99);
    const data = encodeWeights(m.config, m.getWeights(), 'other');
    m.dispose();
    const w = genClient.loadWeights({ deadlineMs: 20_000 });
    for (const c of weightChunks({ version: 'other', data, target: WeightTarget.BOTH }))
      await w.write({ ...c, sha256: '0'.repeat(64) });
    const err = await rpcError(w.end());
    expect(err.grpcCode).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/sha256/i);
    expect((await genClient.describe({})).weightVersion).toBe(before.weightVersion);
  });

  it('a policy replica refuses a NaN or Inf update, a replayed or out-of-order one: no weights change, an empty checksum', async () => {
    const runId = 'badupdate';
    const info = await policyClient.describe({});
    expect(info.role).toBe(Role.POLICY);
    // Coordinator-free: store the replica's weights as w0 and restore them, which binds it to the run.
    await policyClient.snapshot({ runId, version: 'w0' });
    await policyClient.restore({ runId, version: 'w0' });
    const store = await WeightStore.open(nc, {
      bucket: buckets.weights(runId),
      stateBucket: buckets.state(runId),
      runId,
    });
    const params = async (version: string) => {
      await policyClient.snapshot({ runId, version });
      return sha256Hex(concatParams(decodeWeights((await store.getVersion(version)).data).values));
    };
    const w0 = await params('w0b');
    let base = w0; // the weights the next update applies to
    const update = async (step: number, poison: number | undefined) => {
      const grad = new Float32Array(info.paramCount).fill(1e-3);
      if (poison !== undefined) grad[123] = poison;
      const bytes = new Uint8Array(grad.buffer);
      const sums = await subscribeMessages(nc, subjects.checksum(runId, step, 'policy-0'), 'tso.v1.Checksum');
      try {
        await publishMessage(nc, subjects.update(runId, step), 'tso.v1.Update', {
          runId,
          step,
          grad: bytes,
          contributors: [0],
          checksum: sha256Hex(bytes),
          baseWeightVersion: 'w0',
          baseWeightsSha256: base,
        });
        const got = await sums.collect({ count: 1, timeoutMs: 20_000 });
        expect(got.timedOut).toBe(false);
        return got.items[0].message;
      } finally {
        sums.stop();
      }
    };
    // Both poisoned updates are for step 0, the replica's next step: refused for their values.
    for (const [step, bad] of [
      [0, NaN],
      [0, Infinity],
    ] as const) {
      const c = await update(step, bad);
      expect(c).toMatchObject({ nodeId: 'policy-0', step, sha256: '' });
      expect(await params(`after-${step}-${bad}`)).toBe(w0);
    }
    // Undecodable bytes on the update subject: rejected (logged), nothing else happens.
    nc.publish(subjects.update(runId, 3), new Uint8Array([1, 2, 3, 4]));
    await nc.flush();
    // A finite update is applied: the refusals above were about the values, not the plumbing.
    const good = await update(0, undefined);
    expect(good.sha256).toMatch(/^[0-9a-f]{64}$/);
    const w1 = await params('after-0');
    expect(w1).not.toBe(w0);
    expect(good.sha256).toBe(w1);
    base = w1;
    // The same update sent again (as the coordinator does when an answer was lost): answered with the
    // weights it produced, not applied twice.
    const again = await update(0, undefined);
    expect(again.sha256).toBe(w1);
    expect(await params('again-0')).toBe(w1);
    // Fenced: another update for the applied step, or one that skips a step, moves nothing.
    for (const [step, other] of [
      [0, 5e-3],
      [5, undefined],
    ] as const) {
      const replay = await update(step, other);
      expect(replay.sha256).toBe('');
      expect(await params(`replay-${step}`)).toBe(w1);
    }
    expect(policy.output()).toMatch(/update refused: update for step 0, but this replica's next step is 1/);
    expect((await update(1, undefined)).sha256).toMatch(/^[0-9a-f]{64}$/);
    // Logged and counted; the undecodable message was logged as a rejection.
    expect(policy.output()).toMatch(/"refused":2,.*update refused: gradient is not finite/);
    expect(policy.output()).toMatch(/tso\.badupdate\.update\.3.*rejected/);
    expect((await policyClient.describe({})).nodeId).toBe('policy-0');
    expect(policy.child.exitCode).toBeNull();
  });
});

describe('membership bucket', () => {
  it('opens when processes with different TTLs create it at the same time', async () => {
    // Nodes and the coordinator start together; the bucket's creator wins, the others bind to it.
    for (let i = 0; i < 5; i++) {
      const bucket = `tso_race${i}_nodes`;
      const ms = await Promise.all(
        [3000, 6000, 15_000].map((ttlMs) => Membership.open(nc, { bucket, ttlMs })),
      );
      expect(ms).toHaveLength(3);
    }
  });
});

const python = findPython();

// Needs python3 with grpcio and grpc_tools (Debian: apt-get install python3-grpcio python3-grpc-tools).
describe.skipIf(!python)('tso node: a Python grpcio client generated from proto/ alone', () => {
  it('calls Describe and Generate', async () => {
    const gen_ = generatePythonStubs(python as string);
    const dir = protoDir();
    try {
      const r = await promisify(execFile)(
        python as string,
        [join(dir, 'examples', 'python_client.py'), gen.address],
        {
          encoding: 'utf8',
          env: { ...process.env, PYTHONPATH: gen_, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION: 'python' },
          timeout: 60_000,
        },
      );
      expect(r.stdout).toContain('node gen-a: role=ROLE_GENERATOR model=gen-a tier=1 backend=wasm');
      expect(r.stdout).toMatch(/^p1#0: '.*' logprob=-\d+\.\d{3} seed=\d+ node=gen-a$/m);
      expect(r.stdout).toMatch(/^p1#1: '.*' logprob=-\d+\.\d{3} seed=\d+ node=gen-a$/m);
    } finally {
      rmSync(gen_, { recursive: true, force: true });
    }
  });
});
