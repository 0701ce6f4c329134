// An endpoint generator node (a real `tso node` process) against a local node:http server speaking
// the chat-completions API, to see what the node sends and how it behaves: split_n (one request per
// sample, each with its own derived seed), max_concurrency honoured, a 503 retried, and a slow server
// cut off by the node itself before the Generate RPC's deadline (the HTTP request is dropped).
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deriveSeed } from '../../src/model/seeded-normal.js';
import {
  createClient,
  RpcError,
  status,
  type GenerateResponse,
  type TypedClient,
} from '../../src/transport/index.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { startTsoNode, type TsoNode } from '../helpers/tso-process.js';

interface Seen {
  body: { n: number; seed: number; messages: { role: string; content: string }[]; max_tokens: number };
  closedEarly: boolean;
}

let root: string;
let nats: NatsServerHandle;
let server: Server;
let node: TsoNode;
let client: TypedClient<'tso.v1.ModelNode'>;
let seen: Seen[] = [];
let inFlight = 0;
let maxInFlight = 0;
let mode: 'ok' | 'slow' = 'ok';

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tso-endpoint-http-'));
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const s: Seen = { body: JSON.parse(data) as Seen['body'], closedEarly: false };
      seen.push(s);
      res.on('close', () => {
        inFlight--;
        if (!res.writableFinished) s.closedEarly = true;
      });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (mode === 'slow') return; // never answers: only the node's own budget ends the request
      if (seen.length === 1) return reply(res, 503, { error: { message: 'warming up' } });
      const content = `${s.body.messages[0].content}#${s.body.seed}`;
      setTimeout(
        () =>
          reply(res, 200, {
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          }),
        150,
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base_url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  nats = await startNatsServer();
  const file = join(root, 'gen-chat.yaml');
  writeFileSync(
    file,
    stringify({
      id: 'gen-chat',
      role: 'generator',
      tier: 1,
      backend: 'openai',
      cluster: 'byo-http',
      endpoint: { base_url, model: 'm', api: 'chat', split_n: true, max_concurrency: 2, timeout_s: 60 },
    }),
  );
  node = await startTsoNode(file, nats.url);
  client = createClient('tso.v1.ModelNode', node.address, { defaultDeadlineMs: 30_000 });
}, 120_000);

afterAll(async () => {
  client?.close();
  await node?.stop();
  await nats?.stop();
  server?.closeAllConnections();
  server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<GenerateResponse>): Promise<GenerateResponse[]> {
  const out: GenerateResponse[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

const prompts = [
  { id: 'a', text: 'sort: 2 1' },
  { id: 'b', text: 'rev: xy' },
  { id: 'c', text: 'add: 1+1' },
];

describe('endpoint generator node against a local chat server', () => {
  it('sends one request per sample with its own seed, at most max_concurrency at once, retrying a 503', async () => {
    const sampling = { temperature: 0.5, topK: 5, topP: 1, maxNewTokens: 7, seed: 3 };
    const got = await collect(client.generate({ prompts, n: 2, sampling }));
    expect(got).toHaveLength(6);
    expect(seen).toHaveLength(7); // 6 samples + the 503 retried
    expect(maxInFlight).toBe(2);
    for (const s of seen) expect(s.body).toMatchObject({ n: 1, max_tokens: 7 });
    for (const [k, sample] of [0, 1].entries())
      for (const [i, p] of prompts.entries()) {
        const seed = deriveSeed(3, k * prompts.length + i);
        const r = got.find((x) => x.promptId === p.id && x.sampleIndex === sample);
        expect(r?.text).toBe(`${p.text}#${seed}`); // the chat message is the prompt; the seed is per sample
        expect(r?.lineage?.seed).toBe(seed);
        expect(r?.lineage?.sampling).toMatchObject({ temperature: 0.5, topK: 0, maxNewTokens: 7 });
      }
  });

  it('gives up before the RPC deadline and drops the HTTP request', async () => {
    mode = 'slow';
    seen = [];
    const t0 = Date.now();
    const err: unknown = await collect(
      client.generate(
        {
          prompts: prompts.slice(0, 1),
          n: 1,
          sampling: { temperature: 0, topK: 0, topP: 1, maxNewTokens: 4, seed: 1 },
        },
        { deadlineMs: 2000 },
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).grpcCode).toBe(status.DEADLINE_EXCEEDED);
    // the HTTP request is dropped: by the node's budget (250 ms before the deadline) or the cancelled RPC
    const deadline = Date.now() + 10_000;
    while (!(seen[0]?.closedEarly ?? false) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(seen[0]?.closedEarly).toBe(true);
    console.log(`slow endpoint: Generate with a 2 s deadline failed after ${Date.now() - t0} ms`);
    expect(node.child.exitCode).toBeNull();
  });
});
