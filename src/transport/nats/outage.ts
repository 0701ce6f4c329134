// What a client does while its NATS server is away (a restart, a network cut). nats.js reconnects by
// itself, but it drops what was buffered meanwhile: at every reconnect attempt its outbound buffer is
// reset and pending flushes are rejected with DISCONNECT. So a publish is only known to have reached
// the server once a flush after it succeeds, and an operation that failed for lack of a server is
// retried here, after the client is connected again, until a deadline.
import type { NatsConnection } from 'nats';
import type { Logger } from '../../util/log.js';

/** Error codes of nats.js that mean "no server right now", not "this request is wrong". */
const TRANSIENT_CODES = new Set(['DISCONNECT', 'TIMEOUT', '503', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT']);

/** True for an error a NATS client gives while its server is away (it is retried, not reported). */
export function isNatsOutage(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

export interface OutageRetryOptions {
  /** What is retried (for the log). */
  what: string;
  /** Give up (rethrow the last error) this long after the first failure (default 60 s). */
  deadlineMs?: number;
  /** Pause between attempts (default 250 ms; nats.js itself retries the server every second). */
  pauseMs?: number;
  log?: Logger;
}

/**
 * Runs `fn`; while it fails with a NATS outage error and the connection is not closed, runs it again
 * until it succeeds or `deadlineMs` has passed. `fn` must be safe to repeat (an idempotent write, or a
 * publish its receivers take once).
 */
export async function retryThroughOutage<T>(
  nc: NatsConnection,
  fn: () => Promise<T>,
  o: OutageRetryOptions,
): Promise<T> {
  const deadlineMs = o.deadlineMs ?? 60_000;
  let first: number | undefined;
  let attempts = 0;
  for (;;) {
    try {
      const r = await fn();
      if (attempts > 0) o.log?.info({ what: o.what, attempts }, 'done after the NATS outage');
      return r;
    } catch (e) {
      if (!isNatsOutage(e) || nc.isClosed()) throw e;
      first ??= Date.now();
      attempts++;
      if (Date.now() - first > deadlineMs) throw e;
      if (attempts === 1)
        o.log?.warn({ what: o.what, code: (e as { code: string }).code }, 'NATS away: retrying');
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 250));
    }
  }
}
