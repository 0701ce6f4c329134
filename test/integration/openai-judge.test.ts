// The `openai` judge against a local OpenAI-compatible server (node:http on 127.0.0.1, port chosen by
// the OS): answer parsing, unparsable answers, logprob confidence, retries (5xx, 429 + Retry-After,
// network errors, timeouts), no retry on 4xx, the verdict cache (memory and file), and position-bias
// cancellation through compareBothOrders.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareBothOrders } from '../../src/judges/both-orders.js';
import { makeJudge } from '../../src/judges/make-judge.js';
import {
  confidenceFromLogprobs,
  OpenAIJudge,
  OpenAIJudgeError,
  parseJudgeAnswer,
  retryAfterMs,
  type OpenAIJudgeOptions,
} from '../../src/judges/openai-judge.js';
import { freePort } from '../helpers/free-port.js';

interface Seen {
  url: string;
  auth: string | undefined;
  body: {
    model: string;
    messages: { role: string; content: string }[];
    temperature: number;
    logprobs?: boolean;
  };
}

type Handler = (req: Seen, n: number, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
let seen: Seen[] = [];
let dir: string;

const completion = (content: string | null, logprobs?: unknown) => ({
  id: 'x',
  object: 'chat.completion',
  choices: [
    { index: 0, message: { role: 'assistant', content }, logprobs: logprobs ?? null, finish_reason: 'stop' },
  ],
});

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The prompt and the two responses, read back out of the default template. */
function question(s: Seen): { prompt: string; a: string; b: string } {
  const text = s.body.messages[s.body.messages.length - 1].content;
  const grab = (start: string, end: string) =>
    text.slice(text.indexOf(start) + start.length, text.indexOf(end));
  return {
    prompt: grab('[Instruction]\n', '\n[End of instruction]'),
    a: grab('[Response A]\n', '\n[End of response A]'),
    b: grab('[Response B]\n', '\n[End of response B]'),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tso-openai-judge-'));
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => {
      const s: Seen = {
        url: req.url ?? '',
        auth: req.headers.authorization,
        body: JSON.parse(data) as Seen['body'],
      };
      seen.push(s);
      handler(s, seen.length, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  seen = [];
});

const judge = (opts: Partial<OpenAIJudgeOptions> = {}) =>
  new OpenAIJudge({
    baseUrl,
    model: 'judge-model',
    apiKeyEnv: 'TSO_TEST_KEY',
    env: { TSO_TEST_KEY: 'sk-test' },
    backoffMs: 10,
    maxRetries: 3,
    timeoutMs: 5000,
    ...opts,
  });

describe('openai judge: requests and answers', () => {
  it('sends a chat-completions request and reads varied answers', async () => {
    const answers: [string, 'a' | 'b' | 'tie' | undefined][] = [
      ['A', 'a'],
      ['a', 'a'],
      ['**A**', 'a'],
      ['Answer: B', 'b'],
      ['Response B is better', 'b'],
      ['tie', 'tie'],
      ['TIE', 'tie'],
      ['{"winner":"A"}', 'a'],
      ['```json\n{"winner": "B"}\n```', 'b'],
      ['The answer is B.', 'b'],
      ['B\n\nExplanation: the digits are ascending.', 'b'],
      ['Both are equally good.', 'tie'],
      ['I cannot decide.', undefined],
      ['A or B', undefined],
      ['', undefined],
    ];
    handler = (s, _n, res) => {
      const i = Number(question(s).prompt.replace('q', ''));
      reply(res, 200, completion(answers[i][0]));
    };
    const j = judge({ defaultConfidence: 0.7 });
    for (const [i, [text, expected]] of answers.entries()) {
      const v = await j.compare(`q${i}`, 'first', 'second');
      if (expected === undefined) {
        expect(v, text).toEqual({ winner: 'tie', confidence: 0, raw: text, unparsable: true });
      } else {
        expect(v, text).toEqual({ winner: expected, confidence: 0.7, raw: text });
      }
    }
    expect(j.stats).toMatchObject({ compares: 15, requests: 15, retries: 0, unparsable: 3, cacheHits: 0 });
    const first = seen[0];
    expect(first.url).toBe('/v1/chat/completions');
    expect(first.auth).toBe('Bearer sk-test');
    expect(first.body).toMatchObject({ model: 'judge-model', temperature: 0, logprobs: true });
    expect(question(first)).toEqual({ prompt: 'q0', a: 'first', b: 'second' });
    expect(first.body.messages.at(-1)?.content).toMatch(/exactly one word: "A".*"B".*"TIE"/s);
  });

  it('counts a missing message content as unparsable', async () => {
    handler = (_s, _n, res) => reply(res, 200, completion(null));
    const j = judge();
    const v = await j.compare('p', 'x', 'y');
    expect(v).toMatchObject({ winner: 'tie', confidence: 0, unparsable: true });
    expect(j.stats.unparsable).toBe(1);
    // unparsable answers are not cached: asking again asks the endpoint again
    await j.compare('p', 'x', 'y');
    expect(seen).toHaveLength(2);
  });

  it('takes the confidence from logprobs when the endpoint gives them', async () => {
    const lp = {
      content: [
        {
          token: 'B',
          logprob: Math.log(0.6),
          top_logprobs: [
            { token: 'B', logprob: Math.log(0.6) },
            { token: 'A', logprob: Math.log(0.3) },
            { token: 'Both', logprob: Math.log(0.05) },
            { token: 'TIE', logprob: Math.log(0.05) },
          ],
        },
      ],
    };
    handler = (_s, _n, res) => reply(res, 200, completion('B', lp));
    const v = await judge().compare('p', 'x', 'y');
    expect(v.winner).toBe('b');
    expect(v.confidence).toBeCloseTo(0.6 / 0.95, 6);
    // without alternatives: exp(logprob) of the answer token; markdown tokens are skipped
    expect(
      confidenceFromLogprobs({ content: [{ token: '**' }, { token: 'A', logprob: Math.log(0.9) }] }, 'a'),
    ).toBeCloseTo(0.9, 6);
    expect(confidenceFromLogprobs(null, 'a')).toBeUndefined();
  });

  it('substitutes a custom template in one pass and sends no key when none is configured', async () => {
    handler = (_s, _n, res) => reply(res, 200, completion('A'));
    const j = judge({
      apiKeyEnv: undefined,
      promptTemplate: 'P={prompt} A={a} B={b}',
      systemPrompt: 'be fair',
      logprobs: false,
    });
    await j.compare('x {b}', '{prompt}', 'y');
    expect(seen[0].auth).toBeUndefined();
    expect(seen[0].body.messages).toEqual([
      { role: 'system', content: 'be fair' },
      { role: 'user', content: 'P=x {b} A={prompt} B=y' },
    ]);
    expect(seen[0].body.logprobs).toBeUndefined();
  });

  it('refuses a missing API key variable and bad templates at construction', () => {
    expect(() => judge({ env: {} })).toThrow(/TSO_TEST_KEY.*not set/);
    expect(() => judge({ env: { TSO_TEST_KEY: ' ' } })).toThrow(/not set or empty/);
    expect(() => judge({ promptTemplate: 'only {prompt} and {a}' })).toThrow(/\{b\}/);
    expect(() => judge({ baseUrl: 'localhost:8000' })).toThrow(/http/);
  });
});

describe('openai judge: failures and retries', () => {
  it('retries a 500 and then succeeds', async () => {
    handler = (_s, n, res) =>
      n === 1 ? reply(res, 500, { error: 'boom' }) : reply(res, 200, completion('A'));
    const j = judge();
    const v = await j.compare('p', 'x', 'y');
    expect(v.winner).toBe('a');
    expect(j.stats).toMatchObject({ requests: 2, retries: 1, failures: 0 });
  });

  it('waits for Retry-After on 429', async () => {
    handler = (_s, n, res) =>
      n === 1
        ? reply(res, 429, { error: 'slow down' }, { 'retry-after': '1' })
        : reply(res, 200, completion('B'));
    const j = judge({ backoffMs: 5 });
    const t0 = Date.now();
    const v = await j.compare('p', 'x', 'y');
    const elapsed = Date.now() - t0;
    expect(v.winner).toBe('b');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(j.stats).toMatchObject({ requests: 2, retries: 1 });
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('does not retry a 400 and says why', async () => {
    handler = (_s, _n, res) => reply(res, 400, { error: { message: 'unknown field logprobs' } });
    const j = judge();
    const err = await j.compare('p', 'x', 'y').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAIJudgeError);
    expect((err as OpenAIJudgeError).status).toBe(400);
    expect((err as Error).message).toMatch(/HTTP 400.*unknown field logprobs.*logprobs: false.*not retried/);
    expect(seen).toHaveLength(1);
    expect(j.stats).toMatchObject({ requests: 1, retries: 0, failures: 1 });
  });

  it('gives up after maxRetries with a clear error', async () => {
    handler = (_s, _n, res) => reply(res, 503, 'overloaded');
    const j = judge({ maxRetries: 2 });
    await expect(j.compare('p', 'x', 'y')).rejects.toThrow(/failed after 3 attempts: HTTP 503.*overloaded/);
    expect(seen).toHaveLength(3);
  });

  it('retries network errors and timeouts', async () => {
    const deadPort = await freePort();
    const dead = judge({ baseUrl: `http://127.0.0.1:${deadPort}/v1`, maxRetries: 1 });
    await expect(dead.compare('p', 'x', 'y')).rejects.toThrow(/failed after 2 attempts: network error/);
    expect(dead.stats).toMatchObject({ requests: 2, retries: 1, failures: 1 });

    handler = (_s, n, res) => {
      if (n === 1) setTimeout(() => reply(res, 200, completion('B')), 600);
      else reply(res, 200, completion('A'));
    };
    const slow = judge({ timeoutMs: 200 });
    const v = await slow.compare('p', 'x', 'y');
    expect(v.winner).toBe('a');
    expect(slow.stats.retries).toBe(1);
  });
});

describe('openai judge: cache and both orders', () => {
  it('answers a repeated question from the cache and shares in-flight requests', async () => {
    handler = (_s, _n, res) => reply(res, 200, completion('A'));
    const j = judge();
    await j.compare('p', 'x', 'y');
    const again = await j.compare('p', 'x', 'y');
    expect(again.winner).toBe('a');
    expect(seen).toHaveLength(1);
    expect(j.stats.cacheHits).toBe(1);
    // the other order is a different question
    await j.compare('p', 'y', 'x');
    expect(seen).toHaveLength(2);
    // identical concurrent questions: one request
    await Promise.all([j.compare('q', 'x', 'y'), j.compare('q', 'x', 'y')]);
    expect(seen).toHaveLength(3);
  });

  it('persists the cache to a JSONL file that a rerun reuses', async () => {
    handler = (_s, _n, res) => reply(res, 200, completion('Response B is better'));
    const cachePath = path.join(dir, 'cache', 'verdicts.jsonl');
    const first = judge({ cachePath });
    await first.compare('p', 'x', 'y');
    await first.compare('p', 'y', 'x');
    expect(seen).toHaveLength(2);
    const lines = (await readFile(cachePath, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({
      key: expect.stringMatching(/^[0-9a-f]{64}$/),
      verdict: { winner: 'b' },
    });

    const rerun = judge({ cachePath });
    const v = await rerun.compare('p', 'x', 'y');
    expect(v).toMatchObject({ winner: 'b', confidence: 0.8 });
    expect(seen).toHaveLength(2);
    expect(rerun.stats).toMatchObject({ requests: 0, cacheHits: 1 });

    // another model is another question
    const other = judge({ cachePath, model: 'other-model' });
    await other.compare('p', 'x', 'y');
    expect(seen).toHaveLength(3);
  });

  it('cancels a server that always answers "A" when asked both orders', async () => {
    handler = (_s, _n, res) => reply(res, 200, completion('A'));
    const j = judge();
    const v = await compareBothOrders(j, 'sort: 3 1 2', '1 2 3', '3 2 1');
    expect(v).toMatchObject({ winner: 'tie', confidence: 0, consistent: false });
    const w = await j.compareBothOrders('sort: 3 1 2', '3 2 1', '1 2 3');
    expect(w.winner).toBe('tie');
  });

  it('keeps a consistent judge decisive across both orders', async () => {
    // an unbiased server: picks the ascending answer wherever it is shown
    handler = (s, _n, res) => {
      const q = question(s);
      reply(res, 200, completion(q.a === '1 2 3' ? 'A' : q.b === '1 2 3' ? 'B' : 'TIE'));
    };
    const j = judge();
    const v = await compareBothOrders(j, 'sort: 3 1 2', '3 2 1', '1 2 3');
    expect(v).toMatchObject({ winner: 'b', consistent: true });
    expect(v.confidence).toBeCloseTo(0.8, 6);
  });

  it('is built by makeJudge from an openai config', async () => {
    handler = (_s, _n, res) => reply(res, 200, completion('TIE'));
    const j = await makeJudge(
      {
        type: 'openai',
        base_url: baseUrl,
        model: 'm',
        api_key_env: 'K',
        cache_path: 'c.jsonl',
        max_retries: 0,
      },
      { baseDir: dir, env: { K: 'secret' } },
    );
    expect(j).toBeInstanceOf(OpenAIJudge);
    expect((j as OpenAIJudge).cache.file).toBe(path.join(dir, 'c.jsonl'));
    expect((await j.compare('p', 'x', 'y')).winner).toBe('tie');
    expect(seen[0].auth).toBe('Bearer secret');
    await expect(
      makeJudge({ type: 'openai', base_url: baseUrl, model: 'm', api_key_env: 'K' }, { env: {} }),
    ).rejects.toThrow(/K \(api_key_env\) is not set/);
    await expect(makeJudge({ type: 'openai', base_url: baseUrl, model: 'm', temprature: 0 })).rejects.toThrow(
      /temprature/,
    );
  });

  it('parses answers without a server too', () => {
    expect(parseJudgeAnswer('The winner is: **B**')).toBe('b');
    expect(parseJudgeAnswer('A is better')).toBe('a');
    expect(parseJudgeAnswer('Response A is worse than Response B')).toBeUndefined();
    expect(parseJudgeAnswer('a better response is needed')).toBeUndefined();
  });
});
