// The one HTTP client for every OpenAI-style call tso makes (the openai judge, endpoint generator
// nodes): JSON in, JSON out, over the global fetch (undici).
//
// Why not the official `openai` package: it retries and times out per attempt, but has no cap on the
// bytes it reads from an answer and no total budget across retries and Retry-After waits; a node must
// answer its gRPC caller before the RPC deadline, and must not let a misbehaving endpoint grow its
// memory. Those two rules are the point of this module, and they sit best around a plain fetch.
//
// - Retries: network errors, per-attempt timeouts, 408, 429 and 5xx, up to maxRetries, waiting
//   backoffMs · 2^attempt or the server's Retry-After (seconds or HTTP date), capped at maxBackoffMs.
//   Other 4xx, oversized and non-JSON answers are not retried (they would fail the same way again).
// - Total budget: attempts and waits together end within totalBudgetMs (or the call's own budgetMs,
//   e.g. the time left before the caller's RPC deadline); a wait that would pass it is not started.
// - Response cap: the body is stream-read and the connection dropped past maxResponseBytes.
// - Cancellation: the caller's AbortSignal aborts the request in flight and any wait at once.
import { logger as makeLogger, type Logger } from '../util/log.js';
import { BodyTooLargeError, readCappedText } from './capped-body.js';
import { OpenAIHttpError, snippet, type HttpFailureKind } from './openai-errors.js';
import { retryableStatus, retryAfterMs, retryDelayMs, sleep } from './retry-timing.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface OpenAIClientOptions {
  /** API root, e.g. "https://api.openai.com/v1" or "http://127.0.0.1:8000/v1". */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`; undefined sends no Authorization header. */
  apiKey?: string;
  /** Start of every error message and log line, e.g. "openai judge". */
  label?: string;
  /** Per-attempt timeout, ms (default 60 000); covers the body read too. */
  timeoutMs?: number;
  /** Attempts and waits of one call together, ms (default: unbounded beyond the retries). */
  totalBudgetMs?: number;
  /** Retries after the first attempt (default 4). */
  maxRetries?: number;
  /** First retry delay, ms; doubles per retry (default 500). */
  backoffMs?: number;
  /** Cap of any retry delay, Retry-After included, ms (default 30 000). */
  maxBackoffMs?: number;
  /** Largest answer read, bytes (default 1 MiB). */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

export interface CallOptions {
  /** Abort when the caller gives up (e.g. its RPC was cancelled). */
  signal?: AbortSignal;
  /** This call's total budget, ms; the smaller of it and totalBudgetMs applies. */
  budgetMs?: number;
  /** Extra advice for a non-retried HTTP status (e.g. "set logprobs: false" on 400). */
  hint?: (status: number) => string;
}

export interface JsonAnswer {
  body: unknown;
  status: number;
  /** Requests sent for this call (1 + retries). */
  attempts: number;
}

/** A failed attempt: retried unless `final`. */
interface AttemptFailure {
  kind: HttpFailureKind;
  detail: string;
  status?: number;
  retryAfter?: number;
  final?: boolean;
  cause?: unknown;
}

class AttemptTimeout extends Error {}

export class OpenAIClient {
  readonly baseUrl: string;
  readonly label: string;
  readonly timeoutMs: number;
  readonly totalBudgetMs: number;
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxResponseBytes: number;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly log: Logger;

  constructor(o: OpenAIClientOptions) {
    this.label = o.label ?? 'openai client';
    if (typeof o.baseUrl !== 'string' || !/^https?:\/\/\S+$/i.test(o.baseUrl))
      throw new Error(`${this.label}: base URL must be an http(s) URL, got ${JSON.stringify(o.baseUrl)}`);
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.apiKey = o.apiKey;
    this.timeoutMs = positive(o.timeoutMs ?? 60_000, 'timeoutMs', this.label);
    this.totalBudgetMs = positive(o.totalBudgetMs ?? Infinity, 'totalBudgetMs', this.label);
    this.maxRetries = o.maxRetries ?? 4;
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0)
      throw new Error(`${this.label}: maxRetries must be an integer ≥ 0, got ${this.maxRetries}`);
    this.backoffMs = o.backoffMs ?? 500;
    this.maxBackoffMs = o.maxBackoffMs ?? 30_000;
    if (!(this.backoffMs >= 0) || !(this.maxBackoffMs >= 0))
      throw new Error(`${this.label}: backoffMs and maxBackoffMs must be ≥ 0`);
    this.maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isInteger(this.maxResponseBytes) || this.maxResponseBytes < 1024)
      throw new Error(
        `${this.label}: maxResponseBytes must be an integer ≥ 1024, got ${this.maxResponseBytes}`,
      );
    const f = o.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new Error(`${this.label}: no fetch available (Node ≥ 18 required)`);
    this.fetchImpl = f;
    this.log = o.logger ?? makeLogger('openai-client', { base: this.baseUrl });
  }

  /** POST `${baseUrl}${path}` with a JSON body; the parsed JSON of a 2xx answer. */
  post(path: string, payload: unknown, o: CallOptions = {}): Promise<JsonAnswer> {
    return this.call('POST', path, JSON.stringify(payload), o);
  }

  /** GET `${baseUrl}${path}`; the parsed JSON of a 2xx answer. */
  get(path: string, o: CallOptions = {}): Promise<JsonAnswer> {
    return this.call('GET', path, undefined, o);
  }

  private async call(method: string, path: string, body: string | undefined, o: CallOptions) {
    const url = `${this.baseUrl}${path}`;
    const what = `${this.label}: ${method} ${url}`;
    const t0 = Date.now();
    const budget = Math.min(this.totalBudgetMs, o.budgetMs ?? Infinity);
    const attempts = this.maxRetries + 1;
    let last: AttemptFailure | undefined;
    const fail = (kind: HttpFailureKind, message: string, n: number, f?: AttemptFailure) =>
      new OpenAIHttpError(message, { kind, status: f?.status, attempts: n, cause: f?.cause });
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (o.signal?.aborted) throw fail('aborted', `${what} cancelled by the caller`, attempt, last);
      const left = budget - (Date.now() - t0);
      if (left <= 0) throw fail('budget', budgetMessage(what, attempt, budget, last), attempt, last);
      const result = await this.attempt(method, url, body, Math.min(this.timeoutMs, left), o.signal);
      if (!('kind' in result)) return { ...result, attempts: attempt + 1 };
      last = result;
      const n = attempt + 1;
      if (result.kind === 'aborted') throw fail('aborted', `${what} cancelled by the caller`, n, result);
      if (result.final) {
        const hint =
          result.kind === 'http' && result.status !== undefined ? (o.hint?.(result.status) ?? '') : '';
        const sep = result.kind === 'http' ? ' failed: ' : ': ';
        throw fail(result.kind, `${what}${sep}${result.detail}${hint}; not retried`, n, result);
      }
      if (n >= attempts) break;
      const delay = retryDelayMs(attempt, result.retryAfter, this);
      const remaining = budget - (Date.now() - t0);
      if (delay >= remaining) throw fail('budget', budgetMessage(what, n, budget, result, delay), n, result);
      this.log.warn(
        { attempt: n, of: attempts, delayMs: delay, status: result.status },
        `${this.label}: ${result.detail}; retrying`,
      );
      try {
        await sleep(delay, o.signal);
      } catch {
        throw fail('aborted', `${what} cancelled by the caller`, n, result);
      }
    }
    throw fail(
      last?.kind ?? 'http',
      `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last?.detail ?? 'no attempt made'}`,
      attempts,
      last,
    );
  }

  /** One request: its parsed JSON, or why it failed. */
  private async attempt(
    method: string,
    url: string,
    body: string | undefined,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<Omit<JsonAnswer, 'attempts'> | AttemptFailure> {
    // One controller for both reasons to stop, so we can tell a timeout from the caller leaving.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new AttemptTimeout()), timeoutMs);
    const onCaller = () => ac.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCaller, { once: true });
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    try {
      const res = await this.fetchImpl(url, { method, headers, body, signal: ac.signal });
      let text: string;
      try {
        text = await readCappedText(res, this.maxResponseBytes);
      } catch (e) {
        if (!(e instanceof BodyTooLargeError)) throw e;
        const detail = `HTTP ${res.status} answer cut off: ${e.message} (maxResponseBytes)`;
        return { kind: 'too-large', detail, status: res.status, final: true };
      }
      if (!res.ok) {
        const detail = `HTTP ${res.status} ${res.statusText}: ${snippet(text)}`;
        const retryAfter = retryAfterMs(res.headers.get('retry-after'));
        return { kind: 'http', detail, status: res.status, retryAfter, final: !retryableStatus(res.status) };
      }
      try {
        return { body: JSON.parse(text) as unknown, status: res.status };
      } catch {
        const detail = `HTTP ${res.status} answer is not JSON (is the base URL the API root, e.g. http://host:8000/v1?): ${snippet(text) || '(empty body)'}`;
        return { kind: 'not-json', detail, status: res.status, final: true };
      }
    } catch (e) {
      if (callerSignal?.aborted) return { kind: 'aborted', detail: 'cancelled', cause: e };
      if (ac.signal.reason instanceof AttemptTimeout)
        return { kind: 'timeout', detail: `timed out after ${timeoutMs} ms`, cause: e };
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const cause = err.cause?.code ?? err.cause?.message;
      return {
        kind: 'network',
        detail: `network error: ${err.message}${cause ? ` (${cause})` : ''}`,
        cause: e,
      };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCaller);
    }
  }
}

function budgetMessage(
  what: string,
  n: number,
  budget: number,
  last?: AttemptFailure,
  wait?: number,
): string {
  const why = wait === undefined ? 'ran out' : `would run out during the next wait of ${wait} ms`;
  return `${what} gave up after ${n} attempt${n === 1 ? '' : 's'}: the total budget of ${budget} ms ${why}${last ? `; last: ${last.detail}` : ''}`;
}

function positive(v: number, what: string, label: string): number {
  if (!(v > 0)) throw new Error(`${label}: ${what} must be > 0, got ${v}`);
  return v;
}

/** The API key from the environment variable `envName`; undefined when no variable is configured. */
export function apiKeyFromEnv(
  envName: string | undefined,
  label: string,
  env: Record<string, string | undefined> = process.env,
  setting = 'api_key_env',
): string | undefined {
  if (envName === undefined) return undefined;
  const key = env[envName];
  if (key === undefined || key.trim() === '')
    throw new Error(
      `${label}: environment variable ${envName} (${setting}) is not set or empty; export the API key there, or leave ${setting} out for an endpoint that needs no key`,
    );
  return key.trim();
}
