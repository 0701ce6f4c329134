// When to try again: which answers are worth a retry, how long to wait (Retry-After or exponential
// backoff), and an abortable sleep. Kept apart from the request loop so each rule is readable alone.

/** 408 (request timeout), 429 (rate limit) and 5xx are transient; other 4xx would fail the same way. */
export const retryableStatus = (s: number): boolean => s === 408 || s === 429 || s >= 500;

/** Retry-After as ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const h = header.trim();
  if (/^\d+(?:\.\d+)?$/.test(h)) return Math.round(Number(h) * 1000);
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** The wait before retry number `attempt + 1`: the server's Retry-After if given, else backoff · 2^attempt. */
export function retryDelayMs(
  attempt: number,
  retryAfter: number | undefined,
  o: { backoffMs: number; maxBackoffMs: number },
): number {
  return Math.min(o.maxBackoffMs, retryAfter ?? o.backoffMs * 2 ** attempt);
}

/** Resolves after ms, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
