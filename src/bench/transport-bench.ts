// `tso bench --transport`: what moving a model's bytes costs on this machine, against the wire. For each
// model size: a gradient through the project's chunked publish/reassembly (what a replica sends every
// step) against raw NATS publishes of the same bytes, and a reference refresh (object-store put, then
// N concurrent readers, SHA-256 checked) against a raw loopback TCP copy of the same bytes to N readers.
// It starts its own password-protected nats-server on a free port and stops it at the end.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { startNats } from '../cluster/launcher/nats-process.js';
import { connectNats, type NatsConnection } from '../transport/nats/connect.js';
import { publishChunked, subscribeChunked } from '../transport/nats/chunked.js';
import { WeightStore } from '../transport/nats/weight-store.js';
import { buckets } from '../transport/nats/subjects.js';
import { median } from './compare.js';

export interface TransportBenchOptions {
  /** Model sizes in parameters (float32: 4 bytes each). */
  params: number[];
  /** Reader counts for the reference refresh. */
  subscribers: number[];
  /** Repetitions per figure; the median is reported. */
  reps: number;
  log?: (line: string) => void;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mbPerS = (bytes: number, ms: number) => round(bytes / 2 ** 20 / (ms / 1000));

async function timed(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** Raw publishes of `data` in max-payload pieces, until a subscriber on another connection has all. */
async function rawPublish(pub: NatsConnection, sub: NatsConnection, subject: string, data: Uint8Array) {
  const per = (pub.info?.max_payload ?? 1 << 20) - 1024;
  let got = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const s = sub.subscribe(subject, {
    callback: (_e, m) => {
      got += m.data.byteLength;
      if (got >= data.byteLength) done();
    },
  });
  await sub.flush();
  const ms = await timed(async () => {
    for (let o = 0; o < data.byteLength; o += per) pub.publish(subject, data.subarray(o, o + per));
    await pub.flush();
    await all;
  });
  s.unsubscribe();
  return ms;
}

/** The project's path: chunk framing + reassembly (with its SHA-256 check) on the receiving side. */
async function chunkedPublish(pub: NatsConnection, sub: NatsConnection, subject: string, data: Uint8Array) {
  const s = await subscribeChunked(sub, subject, { maxBytes: data.byteLength + 65536 });
  const it = s[Symbol.asyncIterator]();
  const ms = await timed(async () => {
    await publishChunked(pub, subject, data);
    const r = await it.next();
    if (r.done || r.value.data.byteLength !== data.byteLength) throw new Error('gradient not reassembled');
  });
  s.stop();
  return ms;
}

/** One writer, n readers on loopback TCP, each reading every byte: the floor for a refresh. */
async function rawLoopbackCopy(data: Uint8Array, n: number): Promise<number> {
  const server = createServer((sock) => sock.end(data));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const readOne = () =>
    new Promise<void>((resolve, reject) => {
      let got = 0;
      const c = createConnection(port, '127.0.0.1');
      c.on('data', (d: Buffer) => (got += d.byteLength));
      c.on('end', () => (got === data.byteLength ? resolve() : reject(new Error(`short read ${got}`))));
      c.on('error', reject);
    });
  const ms = await timed(async () => {
    await Promise.all(Array.from({ length: n }, readOne));
  });
  await new Promise((r) => server.close(r));
  return ms;
}

export async function runTransportBench(o: TransportBenchOptions) {
  const log = o.log ?? (() => {});
  const password = randomBytes(18).toString('base64url');
  const nats = await startNats(log, {
    config: (port, jsDir) =>
      JSON.stringify({
        host: '127.0.0.1',
        port,
        max_payload: 1 << 20,
        jetstream: { store_dir: jsDir, max_file_store: 8 * 2 ** 30 },
        authorization: { user: 'bench', password },
      }),
    probe: { user: 'bench', pass: password },
  });
  const readers = Math.max(...o.subscribers);
  const conns: NatsConnection[] = [];
  try {
    for (let i = 0; i < readers + 1; i++)
      conns.push(await connectNats(nats.url, `bench-${i}`, { extra: { user: 'bench', pass: password } }));
    const [writer, ...others] = conns;
    const rows = [];
    for (const params of o.params) {
      const data = new Uint8Array(randomBytes(params * 4));
      const rep = async (f: (r: number) => Promise<number>) => {
        const ms: number[] = [];
        for (let r = 0; r < o.reps; r++) ms.push(await f(r));
        return median(ms);
      };
      log(`bench: ${params} parameters (${round(data.byteLength / 2 ** 20, 2)} MiB): gradient exchange`);
      const raw = await rep((r) => rawPublish(writer, others[0], `bench.raw.${params}.${r}`, data));
      const chunked = await rep((r) => chunkedPublish(writer, others[0], `bench.grad.${params}.${r}`, data));
      const refresh = [];
      for (const n of o.subscribers) {
        log(`bench: ${params} parameters: reference refresh to ${n} reader(s)`);
        const loopback = await rep(() => rawLoopbackCopy(data, n));
        const store = await WeightStore.open(writer, {
          bucket: buckets.weights(`bench${params}n${n}`),
          stateBucket: buckets.state(`bench${params}n${n}`),
          runId: `bench${params}n${n}`,
        });
        const stores = await Promise.all(
          others.slice(0, n).map((c) =>
            WeightStore.open(c, {
              bucket: buckets.weights(`bench${params}n${n}`),
              stateBucket: buckets.state(`bench${params}n${n}`),
              runId: `bench${params}n${n}`,
            }),
          ),
        );
        const viaStore = await rep((r) =>
          timed(async () => {
            await store.putVersion(`v${r}`, data);
            await Promise.all(stores.map((s) => s.getVersion(`v${r}`)));
          }),
        );
        refresh.push({
          readers: n,
          object_store_ms: round(viaStore),
          raw_loopback_ms: round(loopback),
          vs_loopback: round(viaStore / loopback, 2),
        });
      }
      rows.push({
        params,
        bytes: data.byteLength,
        gradient_raw_nats_ms: round(raw),
        gradient_raw_nats_mb_per_s: mbPerS(data.byteLength, raw),
        gradient_chunked_ms: round(chunked),
        gradient_chunked_mb_per_s: mbPerS(data.byteLength, chunked),
        gradient_vs_raw: round(chunked / raw, 2),
        refresh,
      });
    }
    return { reps: o.reps, nats_max_payload: writer.info?.max_payload ?? null, sizes: rows };
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
    await nats.stop();
  }
}
