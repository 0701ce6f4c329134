// The shared OpenAI-style HTTP client against a deliberately misbehaving local node:http server:
// 429 with Retry-After (seconds and HTTP date), 500s, a slow drip, a 50 MB body, non-JSON, a server that
// never answers (caller abort), Retry-After beyond the budget. Checks the errors say what happened,
// memory stays bounded and the total budget ends the call (time bounds are loose: shared CPUs).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIClient, type OpenAIClientOptions } from '../../src/http/openai-client.js';
import { OpenAIHttpError } from '../../src/http/openai-errors.js';

let server: Server;
let baseUrl: string;
const hits = new Map<string, number>();
/** Per path: did the server see the client drop the connection before it finished? */
const dropped = new Set<string>();

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const routes: Record<string, (req: IncomingMessage, res: ServerResponse, n: number) => void> = {
  '/429-seconds': (_q, res, n) =>
    n === 1 ? json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, { ok: n }),
  '/503-date': (_q, res, n) =>
    n === 1
      ? json(res, 503, { error: 'later' }, { 'retry-after': new Date(Date.now() + 1000).toUTCString() })
      : json(res, 200, { ok: n }),
  '/500': (_q, res) => json(res, 500, { error: { message: 'internal boom' } }),
  '/400': (_q, res) => json(res, 400, { error: { message: 'bad field top_k', param: 'top_k' } }),
  '/429-long': (_q, res) => json(res, 429, { error: 'quota' }, { 'retry-after': '30' }),
  '/html': (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Welcome to the web UI</body></html>');
  },
  '/drip': (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"choices": [');
    const t = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(t));
  },
  '/silent': () => {},
  '/50mb': (_q, res) => {
    // 50 MB in 1 MB writes, no Content-Length: only reading stops it.
    res.writeHead(200, { 'content-type': 'application/json' });
    const mb = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    const more = () => {
      while (sent < 50 && !res.destroyed) {
        sent++;
        if (!res.write(mb)) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => (sent = 50));
    more();
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/v1/, '');
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    res.on('close', () => {
      if (!res.writableFinished) dropped.add(path);
    });
    req.resume();
    req.on('end', () => (routes[path] ?? ((_q, r) => json(r, 404, { error: 'no route' })))(req, res, n));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const client = (o: Partial<OpenAIClientOptions> = {}) =>
  new OpenAIClient({ baseUrl, label: 'test client', backoffMs: 10, maxRetries: 3, timeoutMs: 5000, ...o });

async function failure(p: Promise<unknown>): Promise<OpenAIHttpError> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(OpenAIHttpError);
  return e as OpenAIHttpError;
}

describe('openai client: retries', () => {
  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const t0 = Date.now();
    const a = await client().post('/429-seconds', { x: 1 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(a).toEqual({ body: { ok: 2 }, status: 200, attempts: 2 });
    const b = await client().post('/503-date', {});
    expect(b.attempts).toBe(2);
  });

  it('gives up on 500s after maxRetries and says so', async () => {
    const e = await failure(client({ maxRetries: 2 }).post('/500', {}));
    expect(e).toMatchObject({ kind: 'http', status: 500, attempts: 3 });
    expect(e.message).toMatch(/test client: POST http:\/\/127\.0\.0\.1:\d+\/v1\/500 failed after 3 attempts/);
    expect(e.message).toMatch(/HTTP 500 Internal Server Error: .*internal boom/);
  });

  it('does not retry a 400, and adds the caller hint', async () => {
    const before = hits.get('/400') ?? 0;
    const e = await failure(client().post('/400', {}, { hint: (s) => ` (hint for ${s})` }));
    expect(e).toMatchObject({ kind: 'http', status: 400, attempts: 1 });
    expect(e.message).toMatch(
      /failed: HTTP 400 Bad Request: .*bad field top_k.* \(hint for 400\); not retried/,
    );
    expect(hits.get('/400')).toBe(before + 1);
  });
});

describe('openai client: budgets and bad answers', () => {
  it('a slow drip ends at the per-attempt timeout, and at the total budget with retries', async () => {
    const e = await failure(client({ timeoutMs: 400, maxRetries: 0 }).post('/drip', {}));
    expect(e).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(e.message).toMatch(/timed out after 400 ms/);

    const t0 = Date.now();
    const b = await failure(
      client({ timeoutMs: 60_000, totalBudgetMs: 700, maxRetries: 10 }).post('/drip', {}),
    );
    const ms = Date.now() - t0;
    expect(b.kind).toBe('budget');
    expect(b.message).toMatch(/gave up after 1 attempt: the total budget of 700 ms/);
    expect(ms).toBeGreaterThanOrEqual(650);
    expect(ms).toBeLessThan(10_000); // the drip goes on forever; only the budget can end it
    console.log(`slow drip: budget 700 ms, call ended after ${ms} ms`);
  });

  it('does not start a Retry-After wait that would pass the budget', async () => {
    const t0 = Date.now();
    const e = await failure(client({ totalBudgetMs: 3000, maxBackoffMs: 60_000 }).post('/429-long', {}));
    expect(e).toMatchObject({ kind: 'budget', status: 429, attempts: 1 });
    expect(e.message).toMatch(/would run out during the next wait of 30000 ms; last: HTTP 429/);
    expect(Date.now() - t0).toBeLessThan(15_000); // not the 30 s wait (loose: shared CPUs)
    // the call's own budget (e.g. an RPC deadline) applies as well
    const f = await failure(client({ maxBackoffMs: 60_000 }).post('/429-long', {}, { budgetMs: 2000 }));
    expect(f.kind).toBe('budget');
  });

  it('stops reading a 50 MB answer at the cap, with bounded memory', async () => {
    const m0 = process.memoryUsage();
    const e = await failure(client({ maxResponseBytes: 1024 * 1024 }).post('/50mb', {}));
    const m1 = process.memoryUsage();
    const growth = m1.rss - m0.rss + (m1.arrayBuffers - m0.arrayBuffers);
    console.log(
      `50 MB answer refused: rss ${((m1.rss - m0.rss) / 1e6).toFixed(1)} MB, arrayBuffers ${((m1.arrayBuffers - m0.arrayBuffers) / 1e6).toFixed(1)} MB`,
    );
    expect(e).toMatchObject({ kind: 'too-large', status: 200, attempts: 1 });
    expect(e.message).toMatch(/answer cut off: response body exceeds 1048576 bytes.*not retried/);
    expect(growth).toBeLessThan(40 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 100));
    expect(dropped.has('/50mb')).toBe(true);
  });

  it('a 2xx answer that is not JSON is a clear error, not retried', async () => {
    const e = await failure(client().post('/html', {}));
    expect(e).toMatchObject({ kind: 'not-json', status: 200, attempts: 1 });
    expect(e.message).toMatch(/not JSON \(is the base URL the API root.*<html><body>Welcome/);
  });

  it('the caller aborting cancels the request in flight', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('rpc cancelled')), 200);
    const e = await failure(client({ timeoutMs: 60_000 }).post('/silent', {}, { signal: ac.signal }));
    expect(e).toMatchObject({ kind: 'aborted', attempts: 1 });
    expect(e.message).toMatch(/cancelled by the caller/);
    await new Promise((r) => setTimeout(r, 100));
    expect(dropped.has('/silent')).toBe(true);
    // an already-aborted signal sends nothing
    const before = hits.get('/500') ?? 0;
    await failure(client().post('/500', {}, { signal: AbortSignal.abort() }));
    expect(hits.get('/500') ?? 0).toBe(before);
  });

  it('refuses bad settings at construction', () => {
    expect(() => client({ baseUrl: 'localhost:8000' })).toThrow(/test client: base URL must be an http/);
    expect(() => client({ maxResponseBytes: 10 })).toThrow(/maxResponseBytes/);
    expect(() => client({ totalBudgetMs: 0 })).toThrow(/totalBudgetMs must be > 0/);
  });
});
