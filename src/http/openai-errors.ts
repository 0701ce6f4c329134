// Errors of the OpenAI-style HTTP client (openai-client.ts). One class with a `kind`, so a caller can
// tell "the endpoint said no" from "we gave up" without parsing messages, and every message names the
// endpoint URL and what happened (status and a snippet of the body when there was one).

export type HttpFailureKind =
  /** A non-2xx answer that is not retried (4xx other than 408/429), or retries ran out on 408/429/5xx. */
  | 'http'
  /** Connection refused/reset, DNS, TLS...; retries ran out. */
  | 'network'
  /** The last attempt hit its per-attempt timeout. */
  | 'timeout'
  /** The total time budget ran out (or the next wait would pass it). */
  | 'budget'
  /** The answer was larger than maxResponseBytes; never retried (it would be large again). */
  | 'too-large'
  /** A 2xx answer that is not JSON (often a base URL pointing at a web page); never retried. */
  | 'not-json'
  /** The caller's AbortSignal fired. */
  | 'aborted';

export class OpenAIHttpError extends Error {
  override name = 'OpenAIHttpError';
  readonly kind: HttpFailureKind;
  /** HTTP status of the last attempt, when there was one. */
  readonly status: number | undefined;
  /** Requests sent (retries included). */
  readonly attempts: number;
  constructor(
    message: string,
    options: { kind: HttpFailureKind; status?: number; attempts: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.kind = options.kind;
    this.status = options.status;
    this.attempts = options.attempts;
  }
}

/** Whitespace collapsed and cut, for error messages and logs. */
export function snippet(text: string, max = 300): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
