// The coordinator's lease on a run (README "Security"): one live coordinator per run id on a NATS.
// The lease is a record under LEASE_KEY in the KV bucket tso_<run_id>_lease whose TTL (max age) is the
// lease time. It is taken with create (refused while another holder's record exists) and renewed every
// TTL/3 with an update on the last revision, so a second coordinator sees the holder's renewals and
// stops with LeaseHeldError; a crashed holder's record expires and is then taken over. The create's
// revision is the run epoch: it grows with every new holder on the same NATS, and the replicas use it
// to refuse a superseded coordinator's Restore, shards and updates.
import { hostname } from 'node:os';
import type { KV, NatsConnection } from 'nats';
import { buckets, decode, encode, LEASE_KEY, type CoordinatorLease } from '../../transport/index.js';
import type { Logger } from '../../util/log.js';
import { LeaseHeldError, LeaseLostError } from './errors.js';

export interface LeaseOptions {
  /** The run id of the config (the lease is per run id, whatever instance suffix is used). */
  runId: string;
  /** This coordinator's run instance (recorded for the error a second coordinator prints). */
  runInstance: string;
  /** Lease time: a holder not renewing for this long loses it (default 15 s). */
  ttlMs?: number;
  log: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JetStream's answer to a create or update on a revision that is not the key's last one. */
const isRevisionConflict = (e: unknown): boolean => /wrong last sequence/i.test(String(e));

function describe(r: CoordinatorLease | undefined): string {
  if (!r) return 'an unreadable lease record';
  const since = new Date(r.acquiredAtMs).toISOString();
  return `${r.holder}, run instance ${r.runInstance}, since ${since}`;
}

async function openBucket(nc: NatsConnection, bucket: string, ttlMs: number): Promise<KV> {
  const open = () => nc.jetstream().views.kv(bucket, { ttl: ttlMs, history: 1 });
  try {
    return await open();
  } catch (e) {
    // Another coordinator created the bucket between our lookup and our create: bind to it.
    if (!/already in use/.test((e as Error).message)) throw e;
    return open();
  }
}

function readRecord(value: Uint8Array): CoordinatorLease | undefined {
  try {
    return decode('tso.v1.CoordinatorLease', value);
  } catch {
    return undefined;
  }
}

export class RunLease {
  private timer: NodeJS.Timeout | undefined;
  private lostWhy: string | undefined;
  /** The renewal in flight (release waits for it, so it cannot re-create a released record). */
  private renewing: Promise<void> | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly record: CoordinatorLease,
    private revision: number,
    /** The run epoch this coordinator sends with every state-changing message. */
    readonly epoch: number,
    private readonly log: Logger,
  ) {}

  /** Takes the run's lease, waiting out a silent (crashed) holder; LeaseHeldError if one renews. */
  static async acquire(nc: NatsConnection, o: LeaseOptions): Promise<RunLease> {
    const ttlMs = o.ttlMs ?? 15_000;
    const renewMs = Math.max(100, Math.floor(ttlMs / 3));
    const kv = await openBucket(nc, buckets.lease(o.runId), ttlMs);
    const now = Date.now();
    const record: CoordinatorLease = {
      runId: o.runId,
      runInstance: o.runInstance,
      holder: `coordinator pid ${process.pid} on ${hostname()}`,
      hostname: hostname(),
      pid: process.pid,
      acquiredAtMs: now,
      renewedAtMs: now,
    };
    // A holder that renews within a TTL (plus a renewal period of slack) is alive.
    const deadline = now + ttlMs + renewMs + 1000;
    let seen: number | undefined;
    for (;;) {
      try {
        const rev = await kv.create(LEASE_KEY, encode('tso.v1.CoordinatorLease', record));
        const lease = new RunLease(kv, record, rev, rev, o.log);
        lease.startRenewing(renewMs);
        o.log.info({ run: o.runId, epoch: rev, ttlMs }, 'run lease taken');
        return lease;
      } catch (e) {
        if (!isRevisionConflict(e)) throw e;
      }
      const cur = await kv.get(LEASE_KEY);
      if (!cur || cur.operation !== 'PUT') continue; // released or expired in between: take it
      const holder = describe(readRecord(cur.value));
      if (seen === undefined) {
        seen = cur.revision;
        o.log.info({ run: o.runId, holder }, 'run lease held: checking whether its holder is alive');
      } else if (cur.revision !== seen || Date.now() > deadline) throw new LeaseHeldError(o.runId, holder);
      await sleep(Math.min(500, renewMs / 2));
    }
  }

  /** Throws LeaseLostError once the lease has passed to another coordinator. */
  check(): void {
    if (this.lostWhy !== undefined) throw new LeaseLostError(this.record.runId, this.lostWhy);
  }

  get lost(): boolean {
    return this.lostWhy !== undefined;
  }

  private startRenewing(renewMs: number): void {
    this.timer = setInterval(() => {
      if (this.renewing || this.lostWhy !== undefined) return;
      this.renewing = this.renew()
        .catch((e: unknown) =>
          // NATS away: keep trying. Replicas fence by epoch, so a holder cut off meanwhile is harmless.
          this.log.warn({ err: e }, 'run lease renewal failed; retrying'),
        )
        .finally(() => (this.renewing = undefined));
    }, renewMs);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const value = () => encode('tso.v1.CoordinatorLease', { ...this.record, renewedAtMs: Date.now() });
    try {
      this.revision = await this.kv.update(LEASE_KEY, value(), this.revision);
      return;
    } catch (e) {
      if (!isRevisionConflict(e)) throw e;
    }
    if (this.lostWhy !== undefined) return; // released meanwhile
    const cur = await this.kv.get(LEASE_KEY);
    const rec = cur?.operation === 'PUT' ? readRecord(cur.value) : undefined;
    if (cur && rec && this.isOurs(rec)) {
      // Our own renewal landed but its answer was lost (a NATS restart): carry on from its revision.
      this.revision = cur.revision;
      return;
    }
    if (!cur || cur.operation !== 'PUT') {
      // It lapsed (we could not renew for a TTL) and nobody took it: take it again, same epoch.
      this.revision = await this.kv.create(LEASE_KEY, value());
      this.log.warn({ epoch: this.epoch }, 'run lease had lapsed; taken again');
      return;
    }
    this.lostWhy = `now held by ${describe(readRecord(cur.value))}`;
    this.stop();
    this.log.error({ run: this.record.runId }, `run lease lost: ${this.lostWhy}`);
  }

  private isOurs(r: CoordinatorLease): boolean {
    return (
      r.runInstance === this.record.runInstance &&
      r.pid === this.record.pid &&
      r.hostname === this.record.hostname &&
      r.acquiredAtMs === this.record.acquiredAtMs
    );
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and deletes the record if it is still ours (a successor need not wait a TTL). */
  async release(): Promise<void> {
    this.stop();
    if (this.lostWhy !== undefined) return;
    this.lostWhy = 'released';
    await this.renewing;
    await this.kv.delete(LEASE_KEY, { previousSeq: this.revision }).catch((e: unknown) => {
      this.log.warn({ err: e }, 'run lease not released (it expires after its TTL)');
    });
  }
}
