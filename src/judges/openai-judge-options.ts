// The openai judge's settings, statistics, error type and prompt template (the class is in
// openai-judge.ts). Apart so the judge's request/answer logic reads on its own.
import { OpenAIHttpError } from '../http/openai-errors.js';
import type { Logger } from '../util/log.js';

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

/** A failed judge call: the client's error (kind, status, attempts), named for the judge. */
export class OpenAIJudgeError extends OpenAIHttpError {
  override name = 'OpenAIJudgeError';
  static from(e: OpenAIHttpError): OpenAIJudgeError {
    return new OpenAIJudgeError(e.message, {
      kind: e.kind,
      status: e.status,
      attempts: e.attempts,
      cause: e.cause,
    });
  }
}

/** Default cap of a response body read (a verdict is a few hundred bytes). */
export { DEFAULT_MAX_RESPONSE_BYTES } from '../http/openai-client.js';

/** Longest raw answer kept in a verdict (it is stored in pairs.jsonl and the verdict cache). */
export const MAX_RAW_ANSWER_CHARS = 2000;

export function capRaw(raw: string): string {
  return raw.length > MAX_RAW_ANSWER_CHARS
    ? `${raw.slice(0, MAX_RAW_ANSWER_CHARS)}…[${raw.length - MAX_RAW_ANSWER_CHARS} more chars cut]`
    : raw;
}

export function checkTemplate(t: string): void {
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
