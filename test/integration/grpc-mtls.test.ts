// gRPC mTLS (issue "A cluster that keeps strangers out", item 3): a node started with run
// certificates refuses plaintext clients and clients of another CA, serves Describe to any peer of
// its CA, and takes the state-changing RPCs (LoadWeights, Restore, ComputeGradients, Snapshot) only
// from the coordinator's certificate. Real `tso node` process, certificates made with openssl.
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COORDINATOR_CN, nodeCn } from '../../src/cluster/launcher/cluster-tls.js';
import { makeRunCerts, type RunCerts } from '../../src/cluster/launcher/run-certs.js';
import { GRPC_TLS_ENV } from '../../src/cluster/grpc-tls.js';
import {
  createClient,
  RpcError,
  status,
  weightChunks,
  WeightTarget,
  type TypedClient,
} from '../../src/transport/index.js';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { startTsoNode, type TsoNode } from '../helpers/tso-process.js';

let nats: NatsServerHandle;
let fx: Fixture;
let certs: RunCerts;
let other: RunCerts;
let node: TsoNode;
const clients: TypedClient<'tso.v1.ModelNode'>[] = [];

function client(files?: { ca: string; cert: string; key: string }): TypedClient<'tso.v1.ModelNode'> {
  const tls = files && { caFile: files.ca, certFile: files.cert, keyFile: files.key };
  const c = createClient('tso.v1.ModelNode', node.address, { defaultDeadlineMs: 5000, tls });
  clients.push(c);
  return c;
}

async function code(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return { code: status.OK, details: '' };
  expect(err).toBeInstanceOf(RpcError);
  return { code: (err as RpcError).grpcCode, details: (err as RpcError).details };
}

beforeAll(async () => {
  nats = await startNatsServer();
  fx = await makeFixture({ nats: nats.url, cluster: 'mtls', judge: false, policies: 1, generators: [] });
  const t0 = Date.now();
  certs = await makeRunCerts([COORDINATOR_CN, nodeCn('policy-0'), nodeCn('gen-a')]);
  other = await makeRunCerts([COORDINATOR_CN]);
  console.log(`run certificates: ${Date.now() - t0} ms`);
  const tls = { ...certs.files(nodeCn('policy-0')), coordinator: COORDINATOR_CN };
  node = await startTsoNode(fx.nodeConfig('policy-0'), nats.url, 60_000, {
    [GRPC_TLS_ENV]: JSON.stringify(tls),
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await node?.stop();
  await nats?.stop();
  certs?.remove();
  other?.remove();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

describe('a node with run certificates', () => {
  it('refuses plaintext clients and certificates of another CA', async () => {
    expect((await code(client().describe({}))).code).toBe(status.UNAVAILABLE);
    expect((await code(client(other.files(COORDINATOR_CN)).describe({}))).code).toBe(status.UNAVAILABLE);
    expect(node.child.exitCode).toBeNull();
  });

  it('serves Describe to any peer of its CA, state-changing RPCs only to the coordinator', async () => {
    const gen = client(certs.files(nodeCn('gen-a')));
    expect((await gen.describe({})).nodeId).toBe('policy-0');
    const denied = [
      await code(gen.snapshot({ runId: 'mtls', version: 'w0' })),
      await code(gen.restore({ runId: 'mtls', version: 'w0' })),
      await code(gen.computeGradients({ runId: 'mtls', step: 1, replica: 0, pairs: [] })),
      await code(
        (async () => {
          const w = gen.loadWeights();
          for (const c of weightChunks({ version: 'x', data: new Uint8Array(8), target: WeightTarget.BOTH }))
            await w.write(c);
          return w.end();
        })(),
      ),
    ];
    for (const d of denied) {
      expect(d.code, d.details).toBe(status.PERMISSION_DENIED);
      expect(d.details).toMatch(/reserved for the coordinator .* the caller's is "node-gen-a"/);
    }
    const coord = client(certs.files(COORDINATOR_CN));
    const snap = await coord.snapshot({ runId: 'mtls', version: 'w0' });
    expect(snap.version).toBe('w0');
    expect(node.output()).toMatch(/rpc refused: not authorized/);
  });

  it('the certificates are deleted with the run', () => {
    const dir = other.dir;
    other.remove();
    expect(existsSync(dir)).toBe(false);
  });
});
