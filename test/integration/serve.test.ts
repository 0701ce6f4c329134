// `tso serve` as a real OS process on a free port, serving the shipped initial policy: the OpenAI
// routes over plain fetch and through the official `openai` npm client, determinism by seed, the chat
// template (last user message), and bad requests answered with 400s naming the field while the
// server keeps serving.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTsoServe, type TsoServe } from '../helpers/tso-serve.js';

const KEY = 'sk-serve-test';
const MODEL = 'policy-init';
let serve: TsoServe;

beforeAll(async () => {
  serve = await startTsoServe(['--model', 'models/policy-init', '--api-key-env', 'TSO_SERVE_TEST_KEY'], {
    TSO_SERVE_TEST_KEY: KEY,
  });
}, 90_000);
afterAll(async () => {
  await serve?.stop();
});

interface Answer {
  status: number;
  body: {
    choices: {
      index: number;
      text?: string;
      message?: { content: string };
      finish_reason: string;
      logprobs: unknown;
    }[];
    error?: { message: string; type: string; param: string | null; code: string | null };
    data?: { id: string }[];
    usage?: { prompt_tokens: number; completion_tokens: number };
  };
}

async function call(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${serve.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const texts = (a: Answer) => a.body.choices.map((c) => c.text ?? c.message?.content);

describe('tso serve over plain HTTP', () => {
  it('lists its model and answers a completion (greedy answer of the shipped policy)', async () => {
    const models = await call('/models');
    expect(models.status).toBe(200);
    expect(models.body.data?.map((m) => m.id)).toEqual([MODEL]);
    const a = await call('/completions', {
      model: MODEL,
      prompt: 'sort: 4 1 3 9',
      temperature: 0,
      max_tokens: 20,
    });
    expect(a.status).toBe(200);
    expect(a.body.choices).toHaveLength(1);
    expect(a.body.choices[0]).toMatchObject({
      index: 0,
      text: '1 3 4 9',
      finish_reason: 'stop',
      logprobs: null,
    });
    expect(a.body.usage).toMatchObject({ prompt_tokens: 15, completion_tokens: 8 });
  });

  it('is deterministic for a given seed, row by row; another seed gives other samples', async () => {
    const req = { model: MODEL, prompt: 'rev: abcdef', temperature: 1.5, n: 6, max_tokens: 8, seed: 42 };
    const a = await call('/completions', req);
    const b = await call('/completions', req);
    expect(a.status).toBe(200);
    expect(texts(b)).toEqual(texts(a));
    const one = await call('/completions', { ...req, n: 1 });
    expect(texts(one)).toEqual([texts(a)[0]]); // sample r's stream depends on (seed, r) only
    const other = await call('/completions', { ...req, seed: 43 });
    expect(texts(other)).not.toEqual(texts(a));
  });

  it('reports logprobs, stops at a stop sequence, and renders chat as the last user message', async () => {
    const a = await call('/completions', {
      model: MODEL,
      prompt: 'sort: 4 1 3 9',
      temperature: 0,
      logprobs: 2,
      stop: [' 4', 'x'],
    });
    const lp = a.body.choices[0].logprobs as {
      tokens: string[];
      token_logprobs: number[];
      top_logprobs: object[];
    };
    expect(a.body.choices[0]).toMatchObject({ text: '1 3', finish_reason: 'stop' });
    expect(lp.tokens).toEqual(['1', ' ', '3']);
    expect(lp.token_logprobs.every((x) => x <= 0)).toBe(true);
    expect(lp.top_logprobs.map((t) => Object.keys(t).length)).toEqual([2, 2, 2]);

    const messages = [
      { role: 'system', content: 'ignored by byte-level models' },
      { role: 'user', content: 'rev: zzz' },
      { role: 'assistant', content: 'zzz' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'sort: 4 1 ' },
          { type: 'text', text: '3 9' },
        ],
      },
    ];
    const c = await call('/chat/completions', {
      model: MODEL,
      messages,
      temperature: 0,
      logprobs: true,
      top_logprobs: 1,
    });
    expect(c.status).toBe(200);
    expect(c.body.choices[0].message?.content).toBe('1 3 4 9');
    const content = (c.body.choices[0].logprobs as { content: { token: string; bytes: number[] }[] }).content;
    expect(content.map((t) => t.token).join('')).toBe('1 3 4 9');
    expect(content[0].bytes).toEqual([0x31]);
  });

  it('answers bad requests with 400s in OpenAI shape naming the field, and keeps serving', async () => {
    const cases: [string, unknown, number, RegExp, string | null][] = [
      ['/completions', { model: MODEL, prompt: 'x', n: 0 }, 400, /^n: Too small/, 'n'],
      ['/completions', { model: MODEL, prompt: 'x', n: 999 }, 400, /^n: Too big/, 'n'],
      ['/completions', { model: MODEL, prompt: Array(8).fill('x'), n: 16 }, 400, /128 samples exceeds/, 'n'],
      [
        '/completions',
        { model: MODEL, prompt: 'x', temperature: 'hot' },
        400,
        /^temperature: .*number/,
        'temperature',
      ],
      [
        '/completions',
        { model: MODEL, prompt: 'x', max_tokens: 10 ** 9 },
        400,
        /^max_tokens: Too big/,
        'max_tokens',
      ],
      ['/completions', { model: MODEL, prompt: 7 }, 400, /^prompt: expected a string or an array/, 'prompt'],
      [
        '/completions',
        { model: MODEL, prompt: 'x'.repeat(200) },
        400,
        /^prompt: the prompt is 200 bytes/,
        'prompt',
      ],
      [
        '/completions',
        { model: MODEL, prompt: 'x', stream: true },
        400,
        /^stream: streaming is not supported/,
        'stream',
      ],
      ['/completions', { prompt: 'x' }, 400, /^model: /, 'model'],
      ['/completions', { model: 'gpt-4', prompt: 'x' }, 404, /"gpt-4" is not served here/, 'model'],
      ['/completions', '{"model": ', 400, /not valid JSON/, null],
      ['/chat/completions', { model: MODEL }, 400, /^messages: /, 'messages'],
      [
        '/chat/completions',
        { model: MODEL, messages: [{ role: 'user', content: 5 }] },
        400,
        /^messages\.0\.content: expected a string/,
        'messages.0.content',
      ],
      [
        '/chat/completions',
        { model: MODEL, messages: [{ role: 'system', content: 'hi' }] },
        400,
        /role "user" is required/,
        'messages',
      ],
      [
        '/chat/completions',
        { model: MODEL, messages: [{ role: 'user', content: 'x' }], top_logprobs: 2 },
        400,
        /requires logprobs: true/,
        'top_logprobs',
      ],
      [
        '/completions',
        { model: MODEL, prompt: 'x'.repeat(2 * 1024 * 1024) },
        413,
        /exceeds this server's limit/,
        null,
      ],
      ['/embeddings', { model: MODEL, input: 'x' }, 404, /no route POST \/v1\/embeddings/, null],
    ];
    for (const [path, body, status, message, param] of cases) {
      const a = await call(path, body);
      expect(a.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(status);
      expect(a.body.error?.message).toMatch(message);
      expect(a.body.error?.param ?? null).toBe(param);
      expect(a.body.error?.type).toBe('invalid_request_error');
    }
    // 3 MB sent chunked, with no Content-Length: refused once past the cap, answered before the end
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 48) c.enqueue(chunk);
        else c.close();
      },
    });
    const big = await fetch(`${serve.url}/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(big.status).toBe(413);
    expect(((await big.json()) as Answer['body']).error?.message).toMatch(
      /exceeds this server's limit of 1048576/,
    );
    expect((await call('/completions')).status).toBe(405);
    const noKey = await call('/models', undefined, { authorization: 'Bearer wrong' });
    expect(noKey.status).toBe(401);
    expect((await call('/models')).status).toBe(200);
    expect(serve.child.exitCode).toBeNull();
  });
});

describe('tso serve through the official openai client', () => {
  const client = () => new OpenAI({ baseURL: serve.url, apiKey: KEY, maxRetries: 0 });

  it('lists models and answers completions and chat with seed and logprobs', async () => {
    const ids = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toEqual([MODEL]);
    const c = await client().completions.create({
      model: MODEL,
      prompt: 'add: 2+3',
      temperature: 0,
      max_tokens: 6,
    });
    expect(c.choices[0].finish_reason).toBe('stop');
    const req = {
      model: MODEL,
      messages: [{ role: 'user' as const, content: 'rev: abc' }],
      n: 3,
      seed: 7,
      temperature: 1,
      top_p: 0.9,
      logprobs: true,
      top_logprobs: 3,
    };
    const a = await client().chat.completions.create(req);
    const b = await client().chat.completions.create(req);
    expect(a.choices.map((x) => x.message.content)).toEqual(b.choices.map((x) => x.message.content));
    expect(a.choices.map((x) => x.index)).toEqual([0, 1, 2]);
    expect(a.choices[0].logprobs?.content?.[0]?.top_logprobs).toHaveLength(3);
    expect(a.system_fingerprint).toMatch(/^tso-[0-9a-f]{12}$/);
  });

  it('surfaces a 400 as the client library BadRequestError with our message', async () => {
    const err: unknown = await client()
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], n: 99 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    expect((err as Error).message).toMatch(/n: Too big/);
  });
});
