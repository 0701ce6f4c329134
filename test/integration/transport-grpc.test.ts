// gRPC transport over loopback with test-only fake handlers: typed unary, server-streaming and
// client-streaming calls, deadlines, malformed bytes, error mapping, and grpc.health.v1.
import { randomBytes } from 'node:crypto';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatusError, ProtocolError, RpcError } from '../../src/transport/errors.js';
import { createClient, type TypedClient } from '../../src/transport/grpc/client.js';
import { defineService, startServer, type RunningServer } from '../../src/transport/grpc/server.js';
import { ResponseSource, Role, ServingStatus, WeightTarget } from '../../src/transport/proto/enums.js';
import type { GenerateRequest, GenerateResponse, MessageInput } from '../../src/transport/proto/types.js';
import { sha256Hex } from '../../src/transport/util/sha256.js';
import { receiveWeights, sendWeights, weightChunks } from '../../src/transport/grpc/weight-chunks.js';

let server: RunningServer;
let node: TypedClient<'tso.v1.ModelNode'>;
const slowRun = { produced: 0, ended: false };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function* fakeSamples(
  req: GenerateRequest,
  signal: AbortSignal,
  slow: boolean,
): AsyncGenerator<MessageInput<'tso.v1.GenerateResponse'>> {
  for (const p of req.prompts) {
    for (let i = 0; i < req.n && !signal.aborted; i++) {
      if (slow) {
        await sleep(50);
        slowRun.produced++;
      }
      yield {
        promptId: p.id,
        sampleIndex: i,
        text: `${p.text}#${i}`,
        tokenIds: [1, 2, i],
        logprobSum: -1.5 * (i + 1),
        lineage: { nodeId: 'fake-1', seed: (req.sampling?.seed ?? 0) + i, source: ResponseSource.GENERATOR },
      };
    }
  }
}

const fakeModelNode = defineService('tso.v1.ModelNode', {
  describe: () => ({ nodeId: 'fake-1', role: Role.GENERATOR, modelName: 'fake', tier: 2, paramCount: 1234 }),
  async *generate(req, ctx) {
    const slow = req.runId === 'slow';
    try {
      yield* fakeSamples(req, ctx.signal, slow);
    } finally {
      if (slow) slowRun.ended = true;
    }
  },
  async score(req) {
    if (req.pairs.length === 0) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'no pairs');
    if (req.pairs[0].id === 'boom') throw new Error('model exploded');
    if (req.pairs[0].id === 'slow') await sleep(2000);
    return { scores: req.pairs.map((p) => ({ id: p.id, policyLogprob: -p.response.length })) };
  },
  async loadWeights(chunks) {
    const w = await receiveWeights(chunks);
    return { version: w.version, sha256: w.sha256, bytesReceived: w.data.byteLength, target: w.target };
  },
  // computeGradients deliberately missing → UNIMPLEMENTED
});

beforeAll(async () => {
  server = await startServer({ services: [fakeModelNode] });
  node = createClient('tso.v1.ModelNode', server.address, { defaultDeadlineMs: 5000 });
});

afterAll(async () => {
  node?.close();
  await server?.shutdown();
});

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

function rawUnary(path: string, bytes: Buffer): Promise<{ code: number; details: string }> {
  const raw = new Client(server.address, credentials.createInsecure());
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      { deadline: Date.now() + 5000 },
      (err: ServiceError | null) => {
        raw.close();
        resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' });
      },
    );
  });
}

describe('gRPC transport', () => {
  it('serves Describe over loopback', async () => {
    await node.waitForReady(5000);
    const info = await node.describe({});
    expect(info).toMatchObject({ nodeId: 'fake-1', role: Role.GENERATOR, tier: 2, paramCount: 1234 });
    expect(info.tokenizer).toBeUndefined();
  });

  it('streams Generate responses', async () => {
    const got: GenerateResponse[] = [];
    const stream = node.generate({
      runId: 'r',
      prompts: [
        { id: 'p1', text: 'sort: 3 1 2' },
        { id: 'p2', text: 'rev: abc' },
      ],
      n: 3,
      sampling: { seed: 100 },
    });
    for await (const r of stream) got.push(r);
    expect(got).toHaveLength(6);
    expect(got.map((r) => `${r.promptId}/${r.sampleIndex}`)).toEqual([
      'p1/0',
      'p1/1',
      'p1/2',
      'p2/0',
      'p2/1',
      'p2/2',
    ]);
    expect(got[4]).toMatchObject({ text: 'rev: abc#1', tokenIds: [1, 2, 1], logprobSum: -3 });
    expect(got[4].lineage).toMatchObject({ nodeId: 'fake-1', seed: 101, source: ResponseSource.GENERATOR });
  });

  it('cancels a server stream when the consumer stops early', async () => {
    const stream = node.generate({ runId: 'slow', prompts: [{ id: 'p', text: 't' }], n: 100 });
    let n = 0;
    for await (const _r of stream) if (++n === 2) break;
    await sleep(300);
    expect(slowRun.ended).toBe(true);
    expect(slowRun.produced).toBeLessThan(10);
  });

  it('fails a call that exceeds its deadline with DEADLINE_EXCEEDED', async () => {
    const t0 = Date.now();
    const err = await rpcError(node.score({ pairs: [{ id: 'slow', response: 'x' }] }, { deadlineMs: 200 }));
    expect(err.grpcCode).toBe(status.DEADLINE_EXCEEDED);
    expect(err.statusName).toBe('DEADLINE_EXCEEDED');
    expect(err.method).toBe('/tso.v1.ModelNode/Score');
    expect(Date.now() - t0).toBeLessThan(1500);
    const streamErr = await rpcError(
      (async () => {
        for await (const _r of node.generate(
          { runId: 'slow', prompts: [{ id: 'p', text: 't' }], n: 50 },
          { deadlineMs: 150 },
        ));
      })(),
    );
    expect(streamErr.grpcCode).toBe(status.DEADLINE_EXCEEDED);
  });

  it('answers malformed request bytes with INVALID_ARGUMENT and keeps serving', async () => {
    const bad = await rawUnary('/tso.v1.ModelNode/Score', Buffer.from([0x0a, 0xff, 0x01]));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/malformed tso\.v1\.ScoreRequest/);
    const bad2 = await rawUnary('/tso.v1.ModelNode/Describe', Buffer.from([0x0f, 0x00]));
    expect(bad2.code).toBe(status.INVALID_ARGUMENT);
    expect((await node.describe({})).nodeId).toBe('fake-1');
  });

  it('maps handler errors to status codes', async () => {
    expect((await rpcError(node.score({ pairs: [] }))).grpcCode).toBe(status.INVALID_ARGUMENT);
    const internal = await rpcError(node.score({ pairs: [{ id: 'boom' }] }));
    expect(internal.grpcCode).toBe(status.INTERNAL);
    expect(internal.details).toBe('model exploded');
    const unimpl = await rpcError(node.computeGradients({ step: 1 }));
    expect(unimpl.grpcCode).toBe(status.UNIMPLEMENTED);
    // An invalid request is refused client-side before anything is sent.
    await expect(node.score({ pairs: [{ id: 7 as unknown as string }] })).rejects.toBeInstanceOf(
      ProtocolError,
    );
  });

  it('streams weight chunks with LoadWeights and refuses a digest mismatch', async () => {
    const blob = randomBytes(3 * 1024 * 1024);
    const sha = sha256Hex(blob);
    const send = async (digest: string): Promise<unknown> => {
      if (digest === sha)
        return sendWeights(node.loadWeights({ deadlineMs: 10_000 }), {
          version: 'v1',
          data: blob,
          target: WeightTarget.BOTH,
        });
      // Hand-made chunks announcing a wrong digest.
      const w = node.loadWeights({ deadlineMs: 10_000 });
      for (const c of weightChunks({ version: 'v1', data: blob, target: WeightTarget.BOTH }))
        await w.write({ ...c, sha256: digest });
      return w.end();
    };
    expect(await send(sha)).toMatchObject({ version: 'v1', sha256: sha, bytesReceived: blob.length });
    const err = await rpcError(send('0'.repeat(64)));
    expect(err.grpcCode).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/sha256 mismatch/);
  });

  it('serves grpc.health.v1 Check and Watch', async () => {
    const health = createClient('grpc.health.v1.Health', server.address);
    expect((await health.check({ service: '' })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: 'tso.v1.ModelNode' })).status).toBe(ServingStatus.SERVING);
    expect((await rpcError(health.check({ service: 'nope' }))).grpcCode).toBe(status.NOT_FOUND);

    const watch = health.watch({ service: 'tso.v1.ModelNode' }, { deadlineMs: 10_000 });
    const it = watch[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ status: ServingStatus.SERVING });
    server.health.setStatus('tso.v1.ModelNode', ServingStatus.NOT_SERVING);
    expect((await it.next()).value).toEqual({ status: ServingStatus.NOT_SERVING });
    server.health.setStatus('tso.v1.ModelNode', ServingStatus.SERVING);
    expect((await it.next()).value).toEqual({ status: ServingStatus.SERVING });
    watch.cancel();
    health.close();
  });
});
