// A minimal unbounded async queue: producers push, one consumer iterates with for-await.

export interface AsyncQueueHooks {
  /** Called after each pull, with the number of items still buffered (for pause/resume). */
  onPull?: (buffered: number) => void;
  /** Called once when the consumer stops iterating early (break/return) or the queue closes. */
  onClose?: () => void;
}

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private done = false;
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(private readonly hooks: AsyncQueueHooks = {}) {}

  get size(): number {
    return this.items.length;
  }

  get ended(): boolean {
    return this.done || this.failure !== undefined;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      this.hooks.onPull?.(this.items.length);
    } else {
      this.items.push(item);
    }
  }

  /** No more items; the consumer finishes after draining what is buffered. */
  end(): void {
    if (this.ended) return;
    this.done = true;
    this.settleWaiter();
  }

  /** The consumer receives `error` after draining what is buffered. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.settleWaiter();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift() as T;
      this.hooks.onPull?.(this.items.length);
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      this.done = true;
      this.close();
      return Promise.reject(error);
    }
    if (this.done) {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Like next(), but gives up after timeoutMs without losing an item that arrives later. */
  nextWithin(timeoutMs: number): Promise<IteratorResult<T> | 'timeout'> {
    if (this.items.length > 0 || this.ended || this.closed) return this.next();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          if (this.waiter === w) this.waiter = undefined;
          resolve('timeout');
        },
        Math.max(0, timeoutMs),
      );
      const w = {
        resolve: (r: IteratorResult<T>) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiter = w;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.done = true;
    this.failure = undefined;
    this.settleWaiter();
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settleWaiter(): void {
    if (!this.waiter || this.items.length > 0) return;
    const w = this.waiter;
    this.waiter = undefined;
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      this.done = true;
      this.close();
      w.reject(error);
    } else {
      this.close();
      w.resolve({ value: undefined, done: true });
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.onClose?.();
  }
}
