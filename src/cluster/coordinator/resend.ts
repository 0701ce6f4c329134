// Waiting for the answers to a request sent over NATS, and sending it again when they do not come.
// Core NATS delivers at most once: a server restart drops whatever was in flight, and a subscriber that
// has not yet re-subscribed after its reconnect misses what is published meanwhile. Every request the
// coordinator sends this way is safe to repeat (a gradient shard is recomputed bit for bit, a replica
// answers a repeated update or announcement without applying it twice), so a missing answer is asked
// for again — after RESEND_AFTER_MS, then twice as long each time — until the caller's deadline.
import type { CollectResult, Subscription } from '../../transport/index.js';

/**
 * First wait before a resend. Answers normally follow their request within milliseconds (the
 * requester flushes it to the server first); this is long enough for a replica busy applying an update
 * on a loaded machine, and short enough that a NATS restart costs seconds, not the whole deadline.
 */
export const RESEND_AFTER_MS = 5000;

export interface ResendOptions<T> {
  /** Satisfied by the answers so far. */
  until: (items: readonly T[]) => boolean;
  /** Give up (timedOut) this long after the start. */
  timeoutMs: number;
  /** Sends again what is still unanswered; `attempt` counts from 1. */
  resend: (items: readonly T[], attempt: number) => Promise<void>;
  resendAfterMs?: number;
}

export async function collectResending<T>(
  sub: Subscription<T>,
  o: ResendOptions<T>,
): Promise<CollectResult<T>> {
  const items: T[] = [];
  const deadline = Date.now() + o.timeoutMs;
  let wait = o.resendAfterMs ?? RESEND_AFTER_MS;
  for (let attempt = 1; ; attempt++) {
    const got = await sub.collect({
      until: (xs) => o.until([...items, ...xs]),
      timeoutMs: Math.max(0, Math.min(wait, deadline - Date.now())),
    });
    items.push(...got.items);
    if (!got.timedOut) return { items, timedOut: false };
    if (Date.now() >= deadline) return { items, timedOut: true };
    await o.resend(items, attempt);
    wait *= 2;
  }
}
