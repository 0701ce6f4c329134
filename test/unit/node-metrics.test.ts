// A node's metrics: every served handler is timed whatever its shape (value, promise, stream), errors
// are counted per method, `this` is kept, and the endpoint serves /metrics only.
import { afterAll, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../src/metrics/metrics-server.js';
import { NodeMetrics } from '../../src/metrics/node-metrics.js';
import type { ServiceRegistration } from '../../src/transport/index.js';

const m = new NodeMetrics({ node: 'gen-a', role: 'generator', model: 'large', backend: 'wasm' });
const impl = {
  factor: 2,
  double(x: number) {
    return x * this.factor;
  },
  async later(x: number) {
    return x + 1;
  },
  async broken() {
    throw new Error('no');
  },
  async *stream() {
    yield 1;
    yield 2;
  },
};
const svc = m.timed({ name: 'tso.v1.Judge', impl } as unknown as ServiceRegistration).impl as typeof impl;
let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
afterAll(async () => server?.close());

const count = (text: string, method: string) =>
  Number(
    new RegExp(
      `^tso_node_rpc_duration_seconds_count\\{[^}]*method="tso.v1.Judge/${method}"[^}]*\\} (\\d+)`,
      'm',
    ).exec(text)?.[1] ?? 0,
  );

describe('node metrics', () => {
  it('times values, promises and streams, and counts errors', async () => {
    expect(svc.double(3)).toBe(6);
    expect(await svc.later(1)).toBe(2);
    await expect(svc.broken()).rejects.toThrow('no');
    const got: number[] = [];
    for await (const v of svc.stream()) got.push(v);
    expect(got).toEqual([1, 2]);
    const text = await m.registry.metrics();
    for (const method of ['double', 'later', 'broken', 'stream']) expect(count(text, method), method).toBe(1);
    expect(text).toMatch(/^tso_node_rpc_errors_total\{[^}]*method="tso.v1.Judge\/broken"[^}]*\} 1$/m);
    expect(text).toMatch(/^tso_node_info\{[^}]*role="generator"[^}]*\} 1$/m);
  });

  it('serves GET /metrics and nothing else', async () => {
    server = await serveMetrics(m.registry, '127.0.0.1', 0);
    const r = await fetch(server.url);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('tso_node_rpc_duration_seconds_bucket');
    expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
  });
});
