// A generator node with `backend: openai` and `endpoint: {...}`: the node config schema accepts it with
// defaults, and every mistake is refused with a message naming the key and the fix.
import { describe, expect, it } from 'vitest';
import { endpointVersion } from '../../src/cluster/node/endpoint-config.js';
import { readChoices, requestFor } from '../../src/cluster/node/endpoint-request.js';
import { checkNodeConfig, NodeConfigSchema } from '../../src/cluster/node/node-config.js';
import { loadConfigFile, parseConfig } from '../../src/config/load-config.js';

const base = { id: 'gen-x', role: 'generator', tier: 2, backend: 'openai' };
const endpoint = { base_url: 'http://127.0.0.1:8000/v1', model: 'qwen' };

function check(cfg: Record<string, unknown>): void {
  checkNodeConfig(parseConfig(cfg, NodeConfigSchema, 'gen-x.yaml'), 'gen-x.yaml');
}

describe('endpoint generator config', () => {
  it('accepts a minimal endpoint and fills the defaults', () => {
    const c = parseConfig({ ...base, endpoint }, NodeConfigSchema, 'gen-x.yaml');
    expect(() => checkNodeConfig(c, 'gen-x.yaml')).not.toThrow();
    expect(c.endpoint).toEqual({
      ...endpoint,
      api: 'completions',
      max_concurrency: 4,
      timeout_s: 60,
      max_retries: 3,
      split_n: false,
      logprobs: false,
    });
    expect(endpointVersion(c.endpoint!)).toBe('openai:qwen@http://127.0.0.1:8000/v1');
  });

  it('accepts the shipped example', async () => {
    const c = await loadConfigFile('examples/gen-endpoint.yaml', NodeConfigSchema);
    expect(() => checkNodeConfig(c, 'examples/gen-endpoint.yaml')).not.toThrow();
    expect(c.endpoint).toMatchObject({ model: 'medium', api: 'completions', max_concurrency: 4 });
  });

  it('refuses mistakes naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base }, /gen-x\.yaml: endpoint: required with backend: openai, e\.g\. endpoint: \{ base_url/],
      [{ ...base, role: 'policy', endpoint }, /backend: openai is for generator nodes only/],
      [{ ...base, endpoint, model: 'models/x' }, /model: not used with backend: openai/],
      [{ ...base, backend: 'wasm', model: 'm', endpoint }, /endpoint: only used with backend: openai/],
      [
        { ...base, endpoint: { ...endpoint, base_url: 'localhost:8000' } },
        /endpoint\.base_url: expected an http\(s\) URL of the API root/,
      ],
      [
        { ...base, endpoint: { ...endpoint, api: 'responses' } },
        /endpoint\.api: expected one of "completions", "chat", got string "responses"/,
      ],
      [{ ...base, endpoint: { ...endpoint, max_concurrency: 0 } }, /endpoint\.max_concurrency/],
      [{ ...base, endpoint: { ...endpoint, timeout_s: -1 } }, /endpoint\.timeout_s/],
      [
        { ...base, endpoint: { ...endpoint, api_key_env: 'my key' } },
        /endpoint\.api_key_env: expected an environment variable name/,
      ],
      [{ ...base, endpoint: { ...endpoint, stop: [] } }, /endpoint\.stop: expected at least 1 items, got 0/],
      [{ ...base, endpoint: { ...endpoint, modle: 'x' } }, /unknown key "modle"/],
      [
        { ...base, endpoint: { base_url: endpoint.base_url } },
        /endpoint\.model: missing \(expected string\)/,
      ],
    ];
    for (const [cfg, want] of cases) expect(() => check(cfg), JSON.stringify(cfg)).toThrow(want);
  });
});

describe('endpoint requests and answers', () => {
  const cfg = (o: Record<string, unknown> = {}) =>
    parseConfig({ ...base, endpoint: { ...endpoint, ...o } }, NodeConfigSchema).endpoint!;
  const s = { temperature: 0.7, topP: 0.9, maxNewTokens: 12, seed: 5, n: 2 };

  it('builds completions and chat bodies with the sampling and stop', () => {
    expect(requestFor(cfg({ stop: '\n' }), 'sort: 2 1', s)).toEqual({
      path: '/completions',
      body: {
        model: 'qwen',
        prompt: 'sort: 2 1',
        n: 2,
        temperature: 0.7,
        top_p: 0.9,
        max_tokens: 12,
        seed: 5,
        stop: '\n',
      },
    });
    const chat = requestFor(cfg({ api: 'chat', logprobs: true }), 'hi', s);
    expect(chat.path).toBe('/chat/completions');
    expect(chat.body).toMatchObject({ messages: [{ role: 'user', content: 'hi' }], logprobs: true });
  });

  it('reads choices by index, and says what is wrong with a bad answer', () => {
    const answer = {
      choices: [
        { index: 1, text: 'b', finish_reason: 'length', logprobs: { token_logprobs: [-1, null, -0.5] } },
        { index: 0, text: 'a', finish_reason: 'stop', logprobs: { token_logprobs: [-2] } },
      ],
    };
    expect(readChoices(cfg({ logprobs: true }), answer, 2)).toEqual([
      { text: 'a', finishReason: 'eos', logprobSum: -2 },
      { text: 'b', finishReason: 'length', logprobSum: -1.5 },
    ]);
    expect(() => readChoices(cfg(), answer, 3)).toThrow(/n = 3 and got 2 .*split_n: true/);
    expect(() => readChoices(cfg(), { choices: [{ text: 5 }] }, 1)).toThrow(
      /not a completions response: choices\.0\.text/,
    );
    expect(() =>
      readChoices(cfg({ api: 'chat', logprobs: true }), { choices: [{ message: { content: 'x' } }] }, 1),
    ).toThrow(/no usable logprobs; set endpoint\.logprobs: false/);
  });
});
