// Transport resilience: NATS reconnect across a server restart, and gRPC over TLS / mTLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/transport/grpc/client.js';
import { defineService, startServer } from '../../src/transport/grpc/server.js';
import { RpcError } from '../../src/transport/errors.js';
import { connectNats } from '../../src/transport/nats/connect.js';
import { publishChunked, subscribeChunked } from '../../src/transport/nats/chunked.js';
import { Membership } from '../../src/transport/nats/membership.js';
import { WeightStore } from '../../src/transport/nats/weight-store.js';
import { buckets } from '../../src/transport/nats/subjects.js';
import { Role } from '../../src/transport/proto/enums.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

describe('NATS reconnect', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectNats(nats.url, 'reconnect-test', { reconnectTimeWaitMs: 200 });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('survives a server restart: subscriptions, KV and heartbeats resume', async () => {
    const m = await Membership.open(nc, { bucket: buckets.nodes('rc'), ttlMs: 10_000, heartbeatMs: 200 });
    await m.register({ nodeId: 'n1', role: Role.GENERATOR });
    const sub = await subscribeChunked(nc, 'tso.rc.test');

    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return true;
      return false;
    })();
    await nats.restart();
    expect(await reconnected).toBe(true);

    await publishChunked(nc, 'tso.rc.test', new Uint8Array([1, 2, 3]));
    const got = await sub.collect({ count: 1, timeoutMs: 5000 });
    expect(got.timedOut).toBe(false);
    expect(Array.from(got.items[0].data)).toEqual([1, 2, 3]);

    const before = (await m.get('n1'))?.heartbeatAtMs ?? 0;
    await new Promise((r) => setTimeout(r, 600));
    expect((await m.get('n1'))?.heartbeatAtMs ?? 0).toBeGreaterThan(before);
    await m.deregister();
    sub.stop();
  });

  it('a publish and a weight-store write made while the server is down complete once it is back', async () => {
    const store = await WeightStore.open(nc, { bucket: 'rc_weights', stateBucket: 'rc_state', runId: 'rc' });
    const sub = await subscribeChunked(nc, 'tso.rc.down');
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    // Down for 1.5 s: both calls start while there is no server and must not fail.
    const restart = nats.restart({ downMs: 1500 });
    await new Promise((r) => setTimeout(r, 300));
    const [put] = await Promise.all([
      store.putVersion('v-down', data),
      publishChunked(nc, 'tso.rc.down', new Uint8Array([7, 8, 9])),
      restart,
    ]);
    expect(put.bytes).toBe(data.byteLength);
    const back = await store.getVersion('v-down');
    expect(back.data).toEqual(data);
    // The publish is repeated after the reconnect; our re-subscribed subscription sees it (maybe twice).
    const got = await sub.collect({ count: 1, timeoutMs: 5000 });
    expect(got.timedOut).toBe(false);
    expect(Array.from(got.items[0].data)).toEqual([7, 8, 9]);
    sub.stop();
  }, 60_000);

  it('a member re-creates the membership bucket when the server comes back without its store', async () => {
    const m = await Membership.open(nc, { bucket: buckets.nodes('rcwipe'), ttlMs: 10_000, heartbeatMs: 200 });
    await m.register({ nodeId: 'n2', role: Role.GENERATOR });
    await nats.restart({ wipeStore: true });
    let listed: string[] = [];
    for (let i = 0; i < 50 && !listed.includes('n2'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      listed = (await m.list().catch(() => [])).map((r) => r.nodeId);
    }
    expect(listed).toEqual(['n2']);
    await m.deregister();
  }, 60_000);
});

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway CA, a server cert for 127.0.0.1 and a client cert, all signed by the CA. */
function makePki(dir: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=tso-test-ca',
    ],
    dir,
  );
  for (const name of ['server', 'client']) {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      ],
      dir,
    );
    const ext =
      name === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost' : 'extendedKeyUsage=clientAuth';
    execFileSync(
      'bash',
      [
        '-c',
        `openssl x509 -req -in ${name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ${name}.pem -days 1 -extfile <(printf '${ext}')`,
      ],
      { cwd: dir, stdio: 'ignore' },
    );
  }
}

describe.skipIf(!hasOpenssl())('gRPC over TLS', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tso-pki-'));
    makePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const judge = defineService('tso.v1.Judge', {
    compare: (req) => ({ verdict: 1, confidence: 0.9, raw: req.prompt }),
  });

  it('serves with mTLS and refuses clients without a certificate', async () => {
    const f = (n: string): string => join(dir, n);
    const server = await startServer({
      services: [judge],
      tls: {
        certFile: f('server.pem'),
        keyFile: f('server.key'),
        caFile: f('ca.pem'),
        requireClientCert: true,
      },
    });
    // Connect by name: the certificate's DNS SAN (TLS SNI may not carry an IP address).
    const addr = `localhost:${server.port}`;
    const ok = createClient('tso.v1.Judge', addr, {
      tls: { caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client.key') },
    });
    expect(await ok.compare({ prompt: 'hi' })).toMatchObject({ verdict: 1, raw: 'hi' });
    const noCert = createClient('tso.v1.Judge', addr, {
      tls: { caFile: f('ca.pem') },
      defaultDeadlineMs: 2000,
    });
    await expect(noCert.compare({ prompt: 'x' })).rejects.toBeInstanceOf(RpcError);
    const plain = createClient('tso.v1.Judge', addr, { defaultDeadlineMs: 2000 });
    await expect(plain.compare({ prompt: 'x' })).rejects.toBeInstanceOf(RpcError);
    for (const c of [ok, noCert, plain]) c.close();
    await server.shutdown();
  });
});
