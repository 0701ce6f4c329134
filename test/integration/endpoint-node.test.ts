// An endpoint generator node (`backend: openai`, a real `tso node` process) pointed at a real
// `tso serve` process: Generate becomes OpenAI /v1/completions requests (n, temperature, top_p,
// max_tokens, seed) and answers like any generator, lineage naming the endpoint and model; an
// endpoint that does not serve the configured model is a clear FAILED_PRECONDITION.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deriveSeed } from '../../src/model/seeded-normal.js';
import {
  connectNats,
  createClient,
  ResponseSource,
  RpcError,
  status,
  subjects,
  subscribeMessages,
  type GenerateResponse,
  type TypedClient,
} from '../../src/transport/index.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { startTsoNode, type TsoNode } from '../helpers/tso-process.js';
import { startTsoServe, type TsoServe } from '../helpers/tso-serve.js';

const KEY = 'sk-endpoint-test';
let root: string;
let nats: NatsServerHandle;
let serve: TsoServe;
let good: TsoNode;
let wrong: TsoNode;
let client: TypedClient<'tso.v1.ModelNode'>;
let wrongClient: TypedClient<'tso.v1.ModelNode'>;

function nodeConfig(id: string, endpoint: Record<string, unknown>): string {
  const file = join(root, `${id}.yaml`);
  const cfg = {
    id,
    role: 'generator',
    tier: 2,
    backend: 'openai',
    cluster: 'byo',
    heartbeat_ttl_ms: 3000,
    endpoint,
  };
  writeFileSync(file, stringify(cfg));
  return file;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tso-endpoint-'));
  [nats, serve] = await Promise.all([
    startNatsServer(),
    startTsoServe(['--model', 'models/policy-init', '--api-key-env', 'TSO_BYO_KEY'], { TSO_BYO_KEY: KEY }),
  ]);
  const endpoint = { base_url: serve.url, model: 'policy-init', api_key_env: 'TSO_BYO_KEY', timeout_s: 30 };
  [good, wrong] = await Promise.all([
    startTsoNode(
      nodeConfig('gen-endpoint', { ...endpoint, max_concurrency: 2, logprobs: true }),
      nats.url,
      60_000,
      {
        TSO_BYO_KEY: KEY,
      },
    ),
    startTsoNode(
      nodeConfig('gen-wrong', { ...endpoint, model: 'no-such-model', max_retries: 0 }),
      nats.url,
      60_000,
      {
        TSO_BYO_KEY: KEY,
      },
    ),
  ]);
  client = createClient('tso.v1.ModelNode', good.address, { defaultDeadlineMs: 30_000 });
  wrongClient = createClient('tso.v1.ModelNode', wrong.address, { defaultDeadlineMs: 30_000 });
}, 120_000);

afterAll(async () => {
  client?.close();
  wrongClient?.close();
  await Promise.all([good?.stop(), wrong?.stop(), serve?.stop()]);
  await nats?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<GenerateResponse>): Promise<GenerateResponse[]> {
  const out: GenerateResponse[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

const prompts = [
  { id: 'p0', text: 'sort: 4 1 3 9' },
  { id: 'p1', text: 'rev: abcdef' },
  { id: 'p2', text: 'add: 2+3' },
];

describe('endpoint generator node', () => {
  it('describes itself as an openai-backed generator', async () => {
    const info = await client.describe({});
    expect(info).toMatchObject({
      nodeId: 'gen-endpoint',
      modelName: 'policy-init',
      tier: 2,
      backend: 'openai',
    });
    expect(info.weightVersion).toBe(`openai:policy-init@${serve.url}`);
  });

  it('answers Generate through the endpoint, with lineage naming the endpoint and model', async () => {
    const sampling = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 12, seed: 9 };
    const got = await collect(client.generate({ prompts, n: 2, sampling }));
    expect(got).toHaveLength(6);
    const p0 = got.filter((r) => r.promptId === 'p0');
    expect(p0.map((r) => r.sampleIndex).sort()).toEqual([0, 1]);
    expect(p0.map((r) => r.text)).toEqual(['1 3 4 9', '1 3 4 9']); // the shipped policy's greedy answer
    for (const r of got) {
      expect(r.finishReason).toMatch(/^(eos|length)$/);
      expect(r.logprobSum).toBeLessThan(0);
      expect(r.tokenIds).toEqual([]);
      expect(r.lineage).toMatchObject({
        nodeId: 'gen-endpoint',
        modelName: 'policy-init',
        weightVersion: `openai:policy-init@${serve.url}`,
        tier: 2,
        source: ResponseSource.GENERATOR,
      });
    }
    expect(p0[0].lineage?.seed).toBe(deriveSeed(9, 0));
  });

  it('publishes its responses on NATS like any generator (the data plane copy matches the answer)', async () => {
    const nc = await connectNats(nats.url, 'itest-endpoint');
    try {
      const subject = subjects.responses('byo', 1, 'gen-endpoint');
      const sub = await subscribeMessages(nc, subject, 'tso.v1.ResponseBatch');
      const sampling = { temperature: 0.8, topK: 0, topP: 1, maxNewTokens: 6, seed: 4 };
      const got = await collect(
        client.generate({ runId: 'byo', iteration: 1, prompts, n: 1, sampling, publishSubject: subject }),
      );
      const batches = await sub.collect({ count: 1, timeoutMs: 10_000 });
      sub.stop();
      expect(batches.timedOut).toBe(false);
      const copy = batches.items[0].message;
      expect(copy).toMatchObject({ runId: 'byo', iteration: 1, nodeId: 'gen-endpoint' });
      expect(copy.responses.map((r) => [r.promptId, r.text])).toEqual(got.map((r) => [r.promptId, r.text]));
    } finally {
      await nc.drain().catch(() => {});
    }
  });

  it('passes n, temperature, top_p, max_tokens and the derived seed: same samples as asking tso serve', async () => {
    const sampling = { temperature: 1.3, topK: 0, topP: 0.95, maxNewTokens: 6, seed: 21 };
    const got = await collect(client.generate({ prompts, n: 3, sampling }));
    const viaNode = got.filter((r) => r.promptId === 'p1').sort((a, b) => a.sampleIndex - b.sampleIndex);
    const res = await fetch(`${serve.url}/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'policy-init',
        prompt: 'rev: abcdef',
        n: 3,
        temperature: 1.3,
        top_p: 0.95,
        max_tokens: 6,
        seed: deriveSeed(21, 1),
      }),
    });
    const direct = (await res.json()) as { choices: { text: string }[] };
    expect(viaNode.map((r) => r.text)).toEqual(direct.choices.map((c) => c.text));
    expect(viaNode.every((r) => [...r.text].length <= 6)).toBe(true);
    expect(viaNode[0].lineage?.sampling).toMatchObject({
      temperature: 1.3,
      topP: 0.95,
      maxNewTokens: 6,
      topK: 0,
    });
  });

  it('fails clearly when the endpoint does not serve the model, and has no weights to score', async () => {
    const sampling = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 4, seed: 1 };
    const err: unknown = await collect(wrongClient.generate({ prompts, n: 1, sampling })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).grpcCode).toBe(status.FAILED_PRECONDITION);
    expect((err as RpcError).details).toMatch(/HTTP 404 .*no-such-model.*is not served here/);
    const score: unknown = await client
      .score({ pairs: [{ id: 'a', prompt: 'x', response: 'y' }], includeReference: false })
      .catch((e: unknown) => e);
    expect((score as RpcError).grpcCode).toBe(status.UNIMPLEMENTED);
    expect(good.child.exitCode).toBeNull();
  });
});
