// Server-Sent Events to the pages: a snapshot on connect, then one event per store change. Bounded:
// at most MAX_CLIENTS streams, and a client that stops reading (its socket buffer over MAX_BUFFERED)
// is dropped instead of growing the coordinator's memory.
import type { ServerResponse } from 'node:http';

export const MAX_CLIENTS = 64;
const MAX_BUFFERED = 4 << 20;
const KEEPALIVE_MS = 15_000;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    // A comment line now and then keeps proxies and idle timeouts from closing quiet streams.
    this.timer = setInterval(() => this.write(':\n\n'), KEEPALIVE_MS);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Starts a stream; false when the hub is full (the caller answers 503). */
  add(res: ServerResponse, snapshot: unknown): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    this.send(res, 'snapshot', snapshot);
    return true;
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
