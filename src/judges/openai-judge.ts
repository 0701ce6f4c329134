// The `openai` judge: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp
// server, Ollama, LiteLLM, ...) answers "which response is better?".
//
// ONE ORDER PER CALL. `compare(prompt, a, b)` asks the endpoint once, with `a` shown first. LLM judges
// are position-biased, so this judge is always used through `compareBothOrders` (both-orders.ts),
// which asks (a, b) and (b, a) and combines them; the correction step does exactly that, and
// `compareBothOrders(prompt, a, b)` on this class is a shortcut for it. A judge that always answers
// "A" therefore contributes only ties.
//
// Request: POST `${baseUrl}/chat/completions` with `Authorization: Bearer <key>` (the key is read from
// the environment variable named by `apiKeyEnv` at construction; a missing or empty variable is an
// error then; with `apiKeyEnv` undefined no Authorization header is sent, for local endpoints).
// Body: {model, messages: [system?, user], temperature (0), max_tokens, logprobs, top_logprobs}.
// The user message is `promptTemplate` with {prompt}, {a} and {b} substituted in one pass (text that
// itself contains "{b}" is not substituted again).
//
// Reading the answer (`parseJudgeAnswer`): markdown and quotes are stripped; JSON objects such as
// {"winner": "A"} are read; a whole answer of A / B / TIE (any case, optionally prefixed by "Answer:",
// "Response", ...) is read; a leading "A." / "B -" / "TIE\n..." is read; otherwise explicit statements
// ("Response B is better", "the answer is A", "it's a tie") are collected and must name exactly one
// verdict. Anything else is UNPARSABLE: verdict tie, confidence 0, `unparsable: true`, counted in
// `stats.unparsable`. Unparsable answers are not cached, so a rerun asks again.
//
// Confidence: when the response carries token logprobs, the first answer token that spells the
// verdict is found and confidence = p(verdict) / (p(A) + p(B) + p(TIE)) over its top_logprobs
// (or exp(logprob) of the token when no alternatives are given). Otherwise a fixed confidence
// (`defaultConfidence`, 0.8). Endpoints that reject the logprobs fields need `logprobs: false`.
//
// Failures: the HTTP side is the shared OpenAI client (src/http/openai-client.ts): network errors,
// timeouts (`timeoutMs` per attempt), 408, 429 and 5xx are retried up to `maxRetries` times with
// exponential backoff (backoffMs · 2^attempt, capped at maxBackoffMs); a Retry-After header (seconds
// or HTTP date) replaces the computed delay (also capped). Other 4xx, oversized and non-JSON answers
// are not retried. Either way the error (OpenAIJudgeError) names the endpoint, the status and the body.
//
// Cache: verdicts are cached by sha256(model, system prompt, template, prompt, a, b) in memory and,
// with `cachePath`, in a JSONL file (verdict-cache.ts), so reruns reuse them. Concurrent identical
// questions share one request.
import { apiKeyFromEnv, OpenAIClient } from '../http/openai-client.js';
import { OpenAIHttpError, snippet } from '../http/openai-errors.js';
import { logger as makeLogger, type Logger } from '../util/log.js';
import { compareBothOrders as askBothOrders } from './both-orders.js';
import { confidenceFromLogprobs, parseJudgeAnswer } from './judge-answer.js';
import {
  capRaw,
  checkTemplate,
  DEFAULT_JUDGE_PROMPT_TEMPLATE,
  DEFAULT_OPENAI_CONFIDENCE,
  OpenAIJudgeError,
  renderTemplate,
  type OpenAIJudgeOptions,
  type OpenAIJudgeStats,
} from './openai-judge-options.js';
import type { BothOrdersVerdict, Judge, Verdict } from './types.js';
import { VerdictCache, verdictKey } from './verdict-cache.js';

// The judge's public surface stays importable from this file.
export { confidenceFromLogprobs, parseJudgeAnswer } from './judge-answer.js';
export { retryAfterMs } from '../http/retry-timing.js';
export {
  DEFAULT_JUDGE_PROMPT_TEMPLATE,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_OPENAI_CONFIDENCE,
  MAX_RAW_ANSWER_CHARS,
  OpenAIJudgeError,
  renderTemplate,
  type OpenAIJudgeOptions,
  type OpenAIJudgeStats,
} from './openai-judge-options.js';

export class OpenAIJudge implements Judge {
  readonly name: string;
  readonly baseUrl: string;
  readonly model: string;
  readonly promptTemplate: string;
  readonly systemPrompt: string | undefined;
  readonly temperature: number;
  readonly maxTokens: number;
  readonly defaultConfidence: number;
  readonly logprobs: boolean;
  readonly client: OpenAIClient;
  readonly cache: VerdictCache;
  readonly stats: OpenAIJudgeStats = {
    compares: 0,
    requests: 0,
    retries: 0,
    cacheHits: 0,
    unparsable: 0,
    failures: 0,
  };
  private readonly log: Logger;
  private readonly inflight = new Map<string, Promise<Verdict>>();

  constructor(options: OpenAIJudgeOptions) {
    this.name = options.name ?? 'openai';
    if (typeof options.model !== 'string' || options.model.trim() === '')
      throw new Error('openai judge: model must be a non-empty string');
    this.model = options.model;
    this.promptTemplate = options.promptTemplate ?? DEFAULT_JUDGE_PROMPT_TEMPLATE;
    checkTemplate(this.promptTemplate);
    this.systemPrompt = options.systemPrompt;
    this.temperature = options.temperature ?? 0;
    if (!(this.temperature >= 0 && this.temperature <= 2))
      throw new Error(`openai judge: temperature must be in [0, 2], got ${this.temperature}`);
    this.maxTokens = options.maxTokens ?? 16;
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 1)
      throw new Error(`openai judge: maxTokens must be an integer ≥ 1, got ${this.maxTokens}`);
    this.defaultConfidence = options.defaultConfidence ?? DEFAULT_OPENAI_CONFIDENCE;
    if (!(this.defaultConfidence >= 0 && this.defaultConfidence <= 1))
      throw new Error(`openai judge: defaultConfidence must be in [0, 1], got ${this.defaultConfidence}`);
    this.logprobs = options.logprobs ?? true;
    this.log = options.logger ?? makeLogger('openai-judge', { model: this.model });
    this.client = new OpenAIClient({
      baseUrl: options.baseUrl,
      apiKey: apiKeyFromEnv(options.apiKeyEnv, 'openai judge', options.env),
      label: 'openai judge',
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
      backoffMs: options.backoffMs,
      maxBackoffMs: options.maxBackoffMs,
      maxResponseBytes: options.maxResponseBytes,
      fetch: options.fetch,
      logger: this.log,
    });
    this.baseUrl = this.client.baseUrl;
    this.cache = new VerdictCache({ file: options.cachePath, logger: this.log });
  }

  /** The cache key of a question (the answer depends on nothing else at temperature 0). */
  keyOf(prompt: string, a: string, b: string): string {
    return verdictKey([
      'openai-judge/v1',
      this.model,
      this.systemPrompt ?? '',
      this.promptTemplate,
      prompt,
      a,
      b,
    ]);
  }

  /** Asks ONE order (a shown first). Use through compareBothOrders; see the file header. */
  async compare(prompt: string, a: string, b: string): Promise<Verdict> {
    this.stats.compares++;
    await this.cache.load();
    const key = this.keyOf(prompt, a, b);
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return cached;
    }
    const pending = this.inflight.get(key);
    if (pending) {
      this.stats.cacheHits++;
      return { ...(await pending) };
    }
    const p = this.ask(key, prompt, a, b);
    this.inflight.set(key, p);
    try {
      return { ...(await p) };
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Both orders, combined (position bias cancelled): what the correction step uses. */
  compareBothOrders(prompt: string, a: string, b: string): Promise<BothOrdersVerdict> {
    return askBothOrders(this, prompt, a, b);
  }

  private async ask(key: string, prompt: string, a: string, b: string): Promise<Verdict> {
    let body: unknown;
    try {
      body = await this.request(renderTemplate(this.promptTemplate, prompt, a, b));
    } catch (e) {
      this.stats.failures++;
      throw e;
    }
    const verdict = this.readCompletion(body);
    if (!verdict.unparsable) await this.cache.set(key, verdict);
    return verdict;
  }

  /** Verdict from a chat-completions body. */
  private readCompletion(body: unknown): Verdict {
    const choice = (body as { choices?: unknown }).choices;
    const first = Array.isArray(choice) ? (choice[0] as Record<string, unknown> | undefined) : undefined;
    const message = first?.message as { content?: unknown } | undefined;
    const content = message?.content;
    const text = typeof content === 'string' ? content : undefined;
    const winner = text === undefined ? undefined : parseJudgeAnswer(text);
    const raw = capRaw(text ?? snippet(JSON.stringify(body ?? null)));
    if (winner === undefined) {
      this.stats.unparsable++;
      this.log.warn(
        { answer: snippet(raw, 200) },
        'openai judge: unparsable answer (counted as tie, confidence 0)',
      );
      return { winner: 'tie', confidence: 0, raw, unparsable: true };
    }
    const confidence = confidenceFromLogprobs(first?.logprobs, winner) ?? this.defaultConfidence;
    return { winner, confidence, raw };
  }

  private requestBody(userMessage: string): Record<string, unknown> {
    const messages: { role: string; content: string }[] = [];
    if (this.systemPrompt !== undefined) messages.push({ role: 'system', content: this.systemPrompt });
    messages.push({ role: 'user', content: userMessage });
    const body: Record<string, unknown> = {
      model: this.model,
      messages,
      temperature: this.temperature,
      max_tokens: this.maxTokens,
    };
    if (this.logprobs) {
      body.logprobs = true;
      body.top_logprobs = 5;
    }
    return body;
  }

  /** POSTs one question through the shared client; the parsed JSON body of a 2xx answer. */
  private async request(userMessage: string): Promise<unknown> {
    const hint = (status: number) =>
      status === 400 && this.logprobs
        ? ' (if the endpoint does not support logprobs, set logprobs: false)'
        : status === 401 || status === 403
          ? ' (check the API key)'
          : '';
    try {
      const answer = await this.client.post('/chat/completions', this.requestBody(userMessage), { hint });
      this.count(answer.attempts);
      return answer.body;
    } catch (e) {
      if (!(e instanceof OpenAIHttpError)) throw e;
      this.count(e.attempts);
      throw OpenAIJudgeError.from(e);
    }
  }

  private count(attempts: number): void {
    this.stats.requests += attempts;
    this.stats.retries += Math.max(0, attempts - 1);
  }
}
