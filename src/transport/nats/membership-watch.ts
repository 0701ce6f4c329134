// The event stream behind Membership.watch().
import type { Logger } from '../../util/log.js';
import { decode } from '../proto/codec.js';
import type { MemberRecord } from '../proto/types.js';
import { AsyncQueue } from '../util/async-queue.js';
import type { Membership } from './membership.js';

export type MembershipEvent =
  | { type: 'join'; nodeId: string; record: MemberRecord }
  | { type: 'update'; nodeId: string; record: MemberRecord }
  | { type: 'leave'; nodeId: string; reason: 'deregistered' | 'expired'; record: MemberRecord };

interface Known {
  record: MemberRecord;
  seenAt: number;
}

/** Identity of a record for change detection (heartbeat time excluded). */
function signature(r: MemberRecord): string {
  return JSON.stringify({ ...r, heartbeatAtMs: 0 });
}

export class MembershipWatch implements AsyncIterable<MembershipEvent> {
  private readonly known = new Map<string, Known>();
  private readonly queue: AsyncQueue<MembershipEvent>;
  private timer: NodeJS.Timeout | undefined;
  private stopKv: (() => void) | undefined;
  private sweeping = false;

  private constructor(
    private readonly membership: Membership,
    private readonly log: Logger,
  ) {
    this.queue = new AsyncQueue<MembershipEvent>({ onClose: () => this.stop() });
  }

  static async start(membership: Membership, sweepMs: number, log: Logger): Promise<MembershipWatch> {
    const w = new MembershipWatch(membership, log);
    let initialized!: () => void;
    const ready = new Promise<void>((r) => (initialized = r));
    const iter = await membership.kv.watch({ initializedFn: () => initialized() });
    w.stopKv = () => iter.stop();
    void (async () => {
      try {
        for await (const e of iter) {
          if (e.operation === 'PUT') {
            try {
              w.seen(decode('tso.v1.MemberRecord', e.value));
            } catch (err) {
              log.warn(
                { key: e.key, reason: err instanceof Error ? err.message : String(err) },
                'bad member record',
              );
            }
          } else w.left(e.key, 'deregistered');
        }
      } catch (err) {
        log.warn({ err }, 'membership watch ended');
      }
    })();
    await ready;
    w.timer = setInterval(() => void w.sweep(), sweepMs);
    w.timer.unref();
    return w;
  }

  /** Current members as seen by this watch. */
  members(): MemberRecord[] {
    return [...this.known.values()].map((k) => k.record).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  [Symbol.asyncIterator](): AsyncIterator<MembershipEvent> {
    return this.queue;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopKv?.();
    this.stopKv = undefined;
    this.queue.end();
  }

  private seen(record: MemberRecord): void {
    const prev = this.known.get(record.nodeId);
    this.known.set(record.nodeId, { record, seenAt: Date.now() });
    if (!prev) this.queue.push({ type: 'join', nodeId: record.nodeId, record });
    else if (signature(prev.record) !== signature(record)) {
      this.queue.push({ type: 'update', nodeId: record.nodeId, record });
    }
  }

  private left(nodeId: string, reason: 'deregistered' | 'expired'): void {
    const prev = this.known.get(nodeId);
    if (!prev) return;
    this.known.delete(nodeId);
    this.queue.push({ type: 'leave', nodeId, reason, record: prev.record });
  }

  /** Detects TTL expiry: a known member missing from a listing started after we last saw it. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const startedAt = Date.now();
    try {
      const live = new Set((await this.membership.list()).map((r) => r.nodeId));
      for (const [id, k] of this.known) if (!live.has(id) && k.seenAt < startedAt) this.left(id, 'expired');
    } catch (err) {
      this.log.debug({ err }, 'membership sweep failed; will retry');
    } finally {
      this.sweeping = false;
    }
  }
}
