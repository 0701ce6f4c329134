// A consumer-side stream of items received over NATS, with a bounded-time collect().
import { AsyncQueue } from '../util/async-queue.js';

export interface CollectOptions<T> {
  /** Stop after this many items. */
  count?: number;
  /** Stop when this returns true for the items so far. */
  until?: (items: readonly T[]) => boolean;
  /** Give up after this long (required: nothing waits forever). */
  timeoutMs: number;
}

export interface CollectResult<T> {
  items: T[];
  /** True if the deadline passed before count/until was satisfied. */
  timedOut: boolean;
}

export interface SubscriptionStats {
  received: number;
  rejected: number;
  expired: number;
}

export class Subscription<T> implements AsyncIterable<T> {
  readonly stats: SubscriptionStats = { received: 0, rejected: 0, expired: 0 };
  private readonly queue: AsyncQueue<T>;

  constructor(
    readonly subject: string,
    private readonly onStop: () => void,
  ) {
    this.queue = new AsyncQueue<T>({ onClose: () => this.onStop() });
  }

  /** Internal: delivers an item. */
  push(item: T): void {
    this.stats.received++;
    this.queue.push(item);
  }

  /** Internal: ends iteration (subscription closed). */
  end(): void {
    this.queue.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.queue;
  }

  /** Unsubscribes; iteration ends after what is buffered. */
  stop(): void {
    this.queue.end();
    this.onStop();
  }

  /**
   * Waits for items until count/until is satisfied or timeoutMs passes; never throws on timeout.
   * Items arriving afterwards stay buffered for the next collect() or iteration.
   */
  async collect(opts: CollectOptions<T>): Promise<CollectResult<T>> {
    const items: T[] = [];
    const deadline = Date.now() + opts.timeoutMs;
    const satisfied = (): boolean =>
      (opts.count !== undefined && items.length >= opts.count) || (opts.until?.(items) ?? false);
    while (!satisfied()) {
      const r = await this.queue.nextWithin(deadline - Date.now());
      if (r === 'timeout') return { items, timedOut: true };
      if (r.done) return { items, timedOut: false };
      items.push(r.value);
    }
    return { items, timedOut: false };
  }
}
