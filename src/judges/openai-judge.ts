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
// Failures: network errors, timeouts (`timeoutMs` per attempt), 408, 429 and 5xx are retried up to
// `maxRetries` times with exponential backoff (backoffMs · 2^attempt, capped at maxBackoffMs); a
// Retry-After header (seconds or HTTP date) replaces the computed delay (also capped). Other 4xx
// answers are not retried. Either way the error names the endpoint, the status and the body.
//
// Cache: verdicts are cached by sha256(model, system prompt, template, prompt, a, b) in memory and,
// with `cachePath`, in a JSONL file (verdict-cache.ts), so reruns reuse them. Concurrent identical
// questions share one request.
import { BodyTooLargeError, readCappedText } from './capped-body.js';
import { compareBothOrders as askBothOrders } from './both-orders.js';
import type { BothOrdersVerdict, Judge, Verdict, Winner } from './types.js';
import { VerdictCache, verdictKey } from './verdict-cache.js';
import { logger as makeLogger, type Logger } from '../util/log.js';

export const DEFAULT_JUDGE_PROMPT_TEMPLATE = `You are comparing two responses to the same instruction. Decide which response follows the instruction better: correctness first, then concision.

[Instruction]
{prompt}
[End of instruction]

[Response A]
{a}
[End of response A]

[Response B]
{b}
[End of response B]

Answer with exactly one word: "A" if response A is better, "B" if response B is better, or "TIE" if they are equally good. Do not explain.`;

export const DEFAULT_OPENAI_CONFIDENCE = 0.8;

export interface OpenAIJudgeOptions {
  /** e.g. "https://api.openai.com/v1" or "http://127.0.0.1:8000/v1" (no trailing /chat/completions). */
  baseUrl: string;
  model: string;
  /** Name of the environment variable holding the API key; undefined = send no key. */
  apiKeyEnv?: string;
  /** Must contain {prompt}, {a} and {b}. */
  promptTemplate?: string;
  /** Optional system message. */
  systemPrompt?: string;
  /** Sampling temperature (0: deterministic answers, which the cache assumes). */
  temperature?: number;
  /** Completion token limit (default 16: enough for "Response B is better."). */
  maxTokens?: number;
  /** Per-attempt timeout, ms (default 60 000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 4). */
  maxRetries?: number;
  /** First retry delay, ms; doubles per retry (default 500). */
  backoffMs?: number;
  /** Cap of any retry delay, Retry-After included, ms (default 30 000). */
  maxBackoffMs?: number;
  /** Confidence when the endpoint returns no logprobs (default 0.8). */
  defaultConfidence?: number;
  /** Ask for logprobs (default true); set false for endpoints that reject the fields. */
  logprobs?: boolean;
  /** JSONL verdict cache file; memory-only cache when absent. */
  cachePath?: string;
  /** Judge name (default "openai"). */
  name?: string;
  /** Environment to read the key from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Largest response body read, bytes (default 1 MiB; a verdict is a few hundred). */
  maxResponseBytes?: number;
  /** fetch implementation (default the global one). */
  fetch?: typeof fetch;
  logger?: Logger;
}

export interface OpenAIJudgeStats {
  /** Calls to `compare`. */
  compares: number;
  /** HTTP requests sent (retries included). */
  requests: number;
  /** Requests that were retries. */
  retries: number;
  /** Compares answered from the cache (or by joining an identical in-flight request). */
  cacheHits: number;
  /** Answers that could not be read. */
  unparsable: number;
  /** Compares that failed with an error (after retries, or not retryable). */
  failures: number;
}

export class OpenAIJudgeError extends Error {
  override name = 'OpenAIJudgeError';
  /** HTTP status of the last attempt, when there was one. */
  readonly status: number | undefined;
  readonly attempts: number;
  constructor(message: string, options: { status?: number; attempts: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.attempts = options.attempts;
  }
}

// ---------------------------------------------------------------------------------------------
// Answer parsing

const TIE_WORDS = /^(?:tie|tied|draw|equal|equally|same|neither|both)$/i;

function labelOf(word: string, allowLowercaseLetter: boolean): Winner | undefined {
  const w = word.trim();
  if (w === 'A' || (allowLowercaseLetter && w === 'a')) return 'a';
  if (w === 'B' || (allowLowercaseLetter && w === 'b')) return 'b';
  if (TIE_WORDS.test(w)) return 'tie';
  return undefined;
}

/** Markdown emphasis, code fences, quotes and brackets removed; whitespace collapsed. */
function clean(text: string): string {
  return text
    .replace(/```[a-z]*\n?/gi, ' ')
    .replace(/[*_`#>"“”‘’]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const JSON_KEYS = ['winner', 'answer', 'verdict', 'choice', 'preferred', 'better', 'result', 'decision'];

function fromJson(text: string): Winner | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!JSON_KEYS.includes(k.toLowerCase()) || typeof v !== 'string') continue;
    const w = wholeAnswer(clean(v));
    if (w) return w;
  }
  return undefined;
}

const PREFIX =
  '(?:(?:my\\s+|the\\s+|final\\s+)*(?:answer|verdict|winner|choice|decision|output|judgement|judgment|preference)\\s*(?:is|would\\s+be)?\\s*[:=-]?\\s*)?';
const NOUN = '(?:(?:response|answer|option|assistant|output|candidate)\\s*)?';
const WHOLE = new RegExp(`^${PREFIX}${NOUN}[([]*\\s*([a-z]+)\\s*[)\\]]*\\s*[.!]?$`, 'i');
const LEADING = new RegExp(`^${PREFIX}${NOUN}[([]?(A|B|TIE|Tie|tie)[)\\]]?(?:[.,:;!]|\\s+[-–—]|\\s*$)`);

/** The whole (cleaned) answer is one verdict, optionally prefixed ("Answer: B", "Response A", "tie."). */
function wholeAnswer(c: string): Winner | undefined {
  const m = WHOLE.exec(c);
  if (!m) return undefined;
  const w = m[1];
  // a lone letter may be lowercase; "equal"/"same"/... must be the whole answer to mean tie
  return labelOf(w, true);
}

// Statements inside free text. Letters must be capital here ("a" is an English word).
const STATEMENTS: { re: RegExp; group: number }[] = [
  {
    re: /\b(?:response|answer|option|assistant|output|candidate)\s*\(?(A|B)\)?\s+(?:is|was|seems|appears)\s+(?:clearly\s+|much\s+|slightly\s+|definitely\s+|the\s+)?(?:better|best|preferred|superior|stronger|correct|more\s+\w+|winner)/gi,
    group: 1,
  },
  {
    re: /\b(?:answer|verdict|winner|choice|decision|prefer|preferred|pick|choose|select|better\s+response|best\s+response)\s*(?:is|would\s+be)?\s*[:=-]?\s*(?:response\s+|option\s+|answer\s+)?\(?\b(A|B|TIE)\b/gi,
    group: 1,
  },
  {
    re: /(?:^|[\s,;])(A|B)\s+(?:is|was|seems)\s+(?:clearly\s+|much\s+|slightly\s+|definitely\s+)?(?:better|best|preferred|superior|stronger|correct|the\s+winner)/g,
    group: 1,
  },
  { re: /\b(tie|tied)\b/gi, group: 1 },
  { re: /\b(?:both\s+(?:are\s+)?)?(equally)\s+(?:good|bad|correct|incorrect|wrong|valid)\b/gi, group: 1 },
];

/**
 * Reads a judge's answer; undefined when it cannot be read unambiguously. See the file header for
 * the accepted forms.
 */
export function parseJudgeAnswer(text: string): Winner | undefined {
  if (typeof text !== 'string') return undefined;
  const json = fromJson(text);
  if (json) return json;
  const c = clean(text);
  if (c === '') return undefined;
  const whole = wholeAnswer(c);
  if (whole) return whole;
  // "B\n\nExplanation: ..." / "**Answer: A**\nBecause ...": the first line alone is the verdict
  const firstLine = text.split('\n').find((l) => clean(l) !== '');
  const head = firstLine === undefined ? undefined : wholeAnswer(clean(firstLine));
  if (head) return head;
  const lead = LEADING.exec(c);
  if (lead) return labelOf(lead[1], false);
  const found = new Set<Winner>();
  for (const { re, group } of STATEMENTS) {
    for (const m of c.matchAll(re)) {
      const word = m[group];
      // the letter must be a capital in free text
      const w = /^[ab]$/.test(word) ? undefined : labelOf(word, false);
      if (w) found.add(w);
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Confidence from logprobs

interface TokenLogprob {
  token?: unknown;
  logprob?: unknown;
  top_logprobs?: unknown;
}

function tokenLabel(token: unknown): Winner | undefined {
  if (typeof token !== 'string') return undefined;
  const t = token.replace(/[*_`"'“”‘’(){}[\]:.\s]/g, '');
  if (t === 'A' || t === 'a') return 'a';
  if (t === 'B' || t === 'b') return 'b';
  if (/^(?:tie|TIE|Tie|T|TI)$/.test(t)) return 'tie';
  return undefined;
}

/**
 * p(winner) / (p(A) + p(B) + p(TIE)) at the first answer token that spells `winner`, from an OpenAI
 * `choices[0].logprobs` object; undefined when there is nothing usable.
 */
export function confidenceFromLogprobs(logprobs: unknown, winner: Winner): number | undefined {
  if (logprobs === null || typeof logprobs !== 'object') return undefined;
  const content = (logprobs as { content?: unknown }).content;
  if (!Array.isArray(content)) return undefined;
  for (const entry of content as TokenLogprob[]) {
    if (entry === null || typeof entry !== 'object' || tokenLabel(entry.token) !== winner) continue;
    const mass: Record<Winner, number> = { a: 0, b: 0, tie: 0 };
    const top = Array.isArray(entry.top_logprobs) ? (entry.top_logprobs as TokenLogprob[]) : [];
    for (const alt of top) {
      const l = alt && typeof alt === 'object' ? tokenLabel(alt.token) : undefined;
      if (l && typeof alt.logprob === 'number' && Number.isFinite(alt.logprob))
        mass[l] += Math.exp(alt.logprob);
    }
    const total = mass.a + mass.b + mass.tie;
    if (total > 0 && mass[winner] > 0) return Math.min(1, Math.max(0, mass[winner] / total));
    if (typeof entry.logprob === 'number' && Number.isFinite(entry.logprob))
      return Math.min(1, Math.max(0, Math.exp(entry.logprob)));
    return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// HTTP

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retry-After as ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const h = header.trim();
  if (/^\d+(?:\.\d+)?$/.test(h)) return Math.round(Number(h) * 1000);
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const retryableStatus = (s: number): boolean => s === 408 || s === 429 || s >= 500;

/** Default cap of a response body read. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Longest raw answer kept in a verdict (it is stored in pairs.jsonl and the verdict cache). */
export const MAX_RAW_ANSWER_CHARS = 2000;

function capRaw(raw: string): string {
  return raw.length > MAX_RAW_ANSWER_CHARS
    ? `${raw.slice(0, MAX_RAW_ANSWER_CHARS)}…[${raw.length - MAX_RAW_ANSWER_CHARS} more chars cut]`
    : raw;
}

function snippet(text: string, max = 300): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

function checkTemplate(t: string): void {
  const missing = ['{prompt}', '{a}', '{b}'].filter((p) => !t.includes(p));
  if (missing.length > 0)
    throw new Error(
      `openai judge: prompt template must contain ${missing.join(', ')} (placeholders {prompt}, {a}, {b})`,
    );
}

/** Fills {prompt}, {a}, {b} in one pass. */
export function renderTemplate(template: string, prompt: string, a: string, b: string): string {
  const values: Record<string, string> = { prompt, a, b };
  return template.replace(/\{(prompt|a|b)\}/g, (_m, k: string) => values[k]);
}

function nonNegInt(v: number | undefined, fallback: number, what: string): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 0)
    throw new Error(`openai judge: ${what} must be an integer ≥ 0, got ${x}`);
  return x;
}

export class OpenAIJudge implements Judge {
  readonly name: string;
  readonly baseUrl: string;
  readonly model: string;
  readonly promptTemplate: string;
  readonly systemPrompt: string | undefined;
  readonly temperature: number;
  readonly maxTokens: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly defaultConfidence: number;
  readonly logprobs: boolean;
  readonly maxResponseBytes: number;
  readonly cache: VerdictCache;
  readonly stats: OpenAIJudgeStats = {
    compares: 0,
    requests: 0,
    retries: 0,
    cacheHits: 0,
    unparsable: 0,
    failures: 0,
  };
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly log: Logger;
  private readonly inflight = new Map<string, Promise<Verdict>>();

  constructor(options: OpenAIJudgeOptions) {
    this.name = options.name ?? 'openai';
    if (typeof options.baseUrl !== 'string' || !/^https?:\/\/\S+$/i.test(options.baseUrl))
      throw new Error(`openai judge: baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    if (typeof options.model !== 'string' || options.model.trim() === '')
      throw new Error('openai judge: model must be a non-empty string');
    this.model = options.model;
    this.promptTemplate = options.promptTemplate ?? DEFAULT_JUDGE_PROMPT_TEMPLATE;
    checkTemplate(this.promptTemplate);
    this.systemPrompt = options.systemPrompt;
    this.temperature = options.temperature ?? 0;
    if (!(this.temperature >= 0 && this.temperature <= 2))
      throw new Error(`openai judge: temperature must be in [0, 2], got ${this.temperature}`);
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isInteger(this.maxResponseBytes) || this.maxResponseBytes < 1024)
      throw new Error(
        `openai judge: maxResponseBytes must be an integer ≥ 1024, got ${this.maxResponseBytes}`,
      );
    this.maxTokens = options.maxTokens ?? 16;
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 1)
      throw new Error(`openai judge: maxTokens must be an integer ≥ 1, got ${this.maxTokens}`);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    if (!(this.timeoutMs > 0)) throw new Error(`openai judge: timeoutMs must be > 0, got ${this.timeoutMs}`);
    this.maxRetries = nonNegInt(options.maxRetries, 4, 'maxRetries');
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    if (!(this.backoffMs >= 0) || !(this.maxBackoffMs >= 0))
      throw new Error('openai judge: backoffMs and maxBackoffMs must be ≥ 0');
    this.defaultConfidence = options.defaultConfidence ?? DEFAULT_OPENAI_CONFIDENCE;
    if (!(this.defaultConfidence >= 0 && this.defaultConfidence <= 1))
      throw new Error(`openai judge: defaultConfidence must be in [0, 1], got ${this.defaultConfidence}`);
    this.logprobs = options.logprobs ?? true;
    if (options.apiKeyEnv !== undefined) {
      const env = options.env ?? process.env;
      const key = env[options.apiKeyEnv];
      if (key === undefined || key.trim() === '')
        throw new Error(
          `openai judge: environment variable ${options.apiKeyEnv} (api_key_env) is not set or empty; export the API key there, or leave api_key_env out for an endpoint that needs no key`,
        );
      this.apiKey = key.trim();
    }
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new Error('openai judge: no fetch available (Node ≥ 18 required)');
    this.fetchImpl = f;
    this.log = options.logger ?? makeLogger('openai-judge', { model: this.model });
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

  /** POSTs with retries; returns the parsed JSON body of a 2xx answer. */
  private async request(userMessage: string): Promise<unknown> {
    const url = `${this.baseUrl}/chat/completions`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    const payload = JSON.stringify(this.requestBody(userMessage));
    let lastError = '';
    let lastStatus: number | undefined;
    let lastCause: unknown;
    const attempts = this.maxRetries + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) this.stats.retries++;
      this.stats.requests++;
      let retryAfter: number | undefined;
      try {
        const res = await this.fetchImpl(url, {
          method: 'POST',
          headers,
          body: payload,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        let text: string;
        try {
          text = await readCappedText(res, this.maxResponseBytes);
        } catch (e) {
          // An oversized answer would be oversized again: a clear error, not a retry loop.
          if (!(e instanceof BodyTooLargeError)) throw e;
          throw new OpenAIJudgeError(
            `openai judge: POST ${url}: HTTP ${res.status} answer cut off: ${e.message} (maxResponseBytes); not retried`,
            { status: res.status, attempts: attempt + 1 },
          );
        }
        if (res.ok) {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            // a 2xx that is not JSON: a proxy glitch; worth another attempt
            lastStatus = res.status;
            lastError = `HTTP ${res.status} with a body that is not JSON: ${snippet(text)}`;
          }
        } else {
          lastStatus = res.status;
          lastError = `HTTP ${res.status} ${res.statusText}: ${snippet(text)}`;
          if (!retryableStatus(res.status)) {
            const hint =
              res.status === 400 && this.logprobs
                ? ' (if the endpoint does not support logprobs, set logprobs: false)'
                : res.status === 401 || res.status === 403
                  ? ' (check the API key)'
                  : '';
            throw new OpenAIJudgeError(`openai judge: POST ${url} failed: ${lastError}${hint}; not retried`, {
              status: res.status,
              attempts: attempt + 1,
            });
          }
          retryAfter = retryAfterMs(res.headers.get('retry-after'));
        }
      } catch (e) {
        if (e instanceof OpenAIJudgeError) throw e;
        lastStatus = undefined;
        lastCause = e;
        const err = e as Error & { cause?: { code?: string; message?: string } };
        const detail = err.name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : err.message;
        const cause = err.cause?.code ?? err.cause?.message;
        lastError = `network error: ${detail}${cause ? ` (${cause})` : ''}`;
      }
      if (attempt + 1 >= attempts) break;
      const delay = Math.min(this.maxBackoffMs, retryAfter ?? this.backoffMs * 2 ** attempt);
      this.log.warn(
        { attempt: attempt + 1, of: attempts, delayMs: delay, status: lastStatus },
        `openai judge: ${lastError}; retrying`,
      );
      await sleep(delay);
    }
    throw new OpenAIJudgeError(
      `openai judge: POST ${url} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastError}`,
      { status: lastStatus, attempts, cause: lastCause },
    );
  }
}
