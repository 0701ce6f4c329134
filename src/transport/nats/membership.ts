// Cluster membership in a JetStream KV bucket (tso_<cluster>_nodes): key = node id, value =
// MemberRecord. The bucket has a TTL (max age); a member re-puts its record every heartbeat, so a
// member whose process dies disappears within ~TTL. watch() reports joins, updates and leaves
// (explicit deregistration from the KV watch; TTL expiry — which the KV watch does not report —
// from a periodic sweep).
import { hostname } from 'node:os';
import type { JetStreamManager, KV, NatsConnection } from 'nats';
import { logger, type Logger } from '../../util/log.js';
import { decode, encode } from '../proto/codec.js';
import type { MemberRecord, MessageInput } from '../proto/types.js';
import { ConflictError } from '../errors.js';
import { token } from './subjects.js';
import { MembershipWatch } from './membership-watch.js';
import { retryThroughOutage } from './outage.js';

export interface MembershipOptions {
  /** KV bucket name, normally buckets.nodes(cluster). */
  bucket: string;
  /**
   * A record not refreshed for this long expires (default 15 s). Used only when this process creates
   * the bucket; an existing bucket keeps its TTL, and `ttlMs` of the opened Membership is the bucket's.
   */
  ttlMs?: number;
  /** Heartbeat period (default, and at most, the bucket's actual TTL / 3). */
  heartbeatMs?: number;
  log?: Logger;
}

export class Membership {
  private record: MemberRecord | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private bucketKv: KV,
    private readonly jsm: JetStreamManager,
    readonly bucket: string,
    readonly ttlMs: number,
    readonly heartbeatMs: number,
    private readonly log: Logger,
  ) {}

  /** Opens (creating if needed) the membership bucket. */
  static async open(nc: NatsConnection, opts: MembershipOptions): Promise<Membership> {
    const ttlMs = opts.ttlMs ?? 15_000;
    const open = () => nc.jetstream().views.kv(opts.bucket, { ttl: ttlMs, history: 1 });
    let kv: KV;
    try {
      kv = await open();
    } catch (e) {
      // Another process (e.g. a coordinator with another TTL) created the bucket between our lookup and
      // our create: bind to the bucket that now exists.
      if (!/already in use/.test((e as Error).message)) throw e;
      kv = await open();
    }
    const log = opts.log ?? logger('membership', { bucket: opts.bucket });
    // The bucket may have been created by another process with another TTL: records expire at the
    // bucket's TTL, not ours, so heartbeats must follow the bucket's (else a node whose own TTL is
    // longer vanishes between two heartbeats and is taken for lost).
    const bucketTtl = (await kv.status()).ttl;
    const ttl = bucketTtl > 0 ? bucketTtl : ttlMs;
    if (ttl !== ttlMs)
      log.info(
        { requestedTtlMs: ttlMs, bucketTtlMs: ttl },
        "membership bucket exists with another TTL: heartbeats follow the bucket's",
      );
    const heartbeatMs = Math.min(opts.heartbeatMs ?? Infinity, Math.max(100, ttl / 3));
    // checkAPI false: a node's credential may use the bucket's stream API but not $JS.API.INFO.
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    return new Membership(nc, kv, jsm, opts.bucket, ttl, heartbeatMs, log);
  }

  /** The bucket (re-created if a NATS restart without its store lost it). */
  get kv(): KV {
    return this.bucketKv;
  }

  /** The record this process registered (undefined before register / after deregister). */
  get self(): MemberRecord | undefined {
    return this.record;
  }

  /** Puts this node's record and starts heartbeats. Defaults: pid, hostname, startedAtMs = now. */
  async register(input: MessageInput<'tso.v1.MemberRecord'>): Promise<MemberRecord> {
    const nodeId = token('node id', input.nodeId ?? '');
    const existing = await this.get(nodeId);
    if (existing && (existing.pid !== (input.pid ?? process.pid) || existing.hostname !== hostname()))
      await this.waitForHolder(nodeId, existing);
    const base = decode('tso.v1.MemberRecord', encode('tso.v1.MemberRecord', input));
    this.record = {
      ...base,
      nodeId,
      pid: base.pid || process.pid,
      hostname: base.hostname || hostname(),
      startedAtMs: base.startedAtMs || Date.now(),
    };
    await this.heartbeat();
    this.startTimer();
    this.log.info({ nodeId, address: this.record.address }, 'registered');
    return this.record;
  }

  /**
   * Another process's record holds this id. A live holder keeps heartbeating: a duplicate id is
   * refused (ConflictError). A dead one (a crashed predecessor) stops: its record is taken over once
   * it has not been refreshed for a TTL, or once it expires.
   */
  private async waitForHolder(nodeId: string, first: MemberRecord): Promise<void> {
    const deadline = Date.now() + this.ttlMs + this.heartbeatMs;
    this.log.info(
      { nodeId, pid: first.pid, host: first.hostname },
      'node id registered by another process: checking it is gone',
    );
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(500, Math.max(50, this.heartbeatMs / 2))));
      const cur = await this.get(nodeId);
      if (!cur) return;
      if (cur.heartbeatAtMs !== first.heartbeatAtMs || cur.pid !== first.pid)
        throw new ConflictError(
          `node id "${nodeId}" is held by a live process (pid ${cur.pid} on ${cur.hostname}): a duplicate id is refused`,
        );
    }
    this.log.warn({ nodeId, other: first }, 'stale record of a gone process: taking the node id over');
  }

  /** Changes fields of this node's record (e.g. weightVersion) and publishes it at once. */
  async update(patch: MessageInput<'tso.v1.MemberRecord'>): Promise<void> {
    if (!this.record) throw new Error('update() before register()');
    const merged = decode('tso.v1.MemberRecord', encode('tso.v1.MemberRecord', { ...this.record, ...patch }));
    this.record = { ...merged, nodeId: this.record.nodeId };
    await this.heartbeat();
  }

  /** Re-puts the record now (also runs every heartbeatMs). */
  async heartbeat(): Promise<void> {
    if (!this.record) return;
    this.record = { ...this.record, heartbeatAtMs: Date.now() };
    const value = encode('tso.v1.MemberRecord', this.record);
    try {
      await this.kv.put(this.record.nodeId, value);
    } catch (e) {
      // A NATS server restarted without its JetStream store has no bucket any more (a put into it finds
      // no stream: "no responders"): make it again, with the TTL this member heartbeats for.
      if (!(await this.bucketGone())) throw e;
      this.log.warn(
        { bucket: this.bucket },
        'membership bucket gone (a NATS restart without its store): creating it again',
      );
      this.bucketKv = await this.nc.jetstream().views.kv(this.bucket, { ttl: this.ttlMs, history: 1 });
      await this.kv.put(this.record.nodeId, value);
    }
  }

  private async bucketGone(): Promise<boolean> {
    try {
      await this.jsm.streams.info(`KV_${this.bucket}`);
      return false;
    } catch (e) {
      return /stream not found/i.test(String(e));
    }
  }

  /** Stops heartbeats and deletes the record. */
  async deregister(): Promise<void> {
    this.stopHeartbeats();
    if (!this.record) return;
    const { nodeId } = this.record;
    this.record = undefined;
    await this.kv.delete(nodeId);
    this.log.info({ nodeId }, 'deregistered');
  }

  /** Stops heartbeats without deleting (the record then expires after the TTL; used in tests). */
  stopHeartbeats(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async get(nodeId: string): Promise<MemberRecord | null> {
    const e = await this.kv.get(nodeId);
    if (!e || e.operation !== 'PUT') return null;
    try {
      return decode('tso.v1.MemberRecord', e.value);
    } catch (err) {
      this.log.warn(
        { key: nodeId, reason: err instanceof Error ? err.message : String(err) },
        'bad member record',
      );
      return null;
    }
  }

  /**
   * Live members, sorted by node id. Malformed records are logged and skipped.
   *
   * The keys come from one stream-info request (the subjects holding a message), not from
   * `kv.keys()`: that one runs a consumer until it sees a message with nothing pending, so a record
   * expiring by TTL while it lists makes it wait forever (the membership sweep then never ran
   * again), and a heartbeat landing while it lists returns that key twice.
   */
  list(): Promise<MemberRecord[]> {
    // Read-only: while the server is away (a NATS restart) it is asked again once it is back.
    return retryThroughOutage(this.nc, () => this.listOnce(), { what: 'membership list', log: this.log });
  }

  private async listOnce(): Promise<MemberRecord[]> {
    const prefix = `$KV.${this.bucket}.`;
    const si = await this.jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${prefix}>` });
    const keys = Object.keys(si.state.subjects ?? {}).map((s) => s.slice(prefix.length));
    const records = await Promise.all(keys.map((k) => this.get(k)));
    return records
      .filter((r): r is MemberRecord => r !== null)
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** Joins/updates/leaves from now on (current members first arrive as joins). */
  watch(opts: { sweepMs?: number } = {}): Promise<MembershipWatch> {
    return MembershipWatch.start(
      this,
      opts.sweepMs ?? Math.min(2000, Math.max(100, this.ttlMs / 4)),
      this.log,
    );
  }

  private startTimer(): void {
    this.stopHeartbeats();
    this.timer = setInterval(() => {
      this.heartbeat().then(
        () => {
          if (this.failures > 0) this.log.info({ after: this.failures }, 'heartbeat recovered');
          this.failures = 0;
        },
        (err: unknown) => {
          this.failures++;
          // One line, no stack: during a NATS restart every member says this once per heartbeat.
          const reason = err instanceof Error ? err.message : String(err);
          this.log.warn({ reason, failures: this.failures }, 'heartbeat failed; will retry');
        },
      );
    }, this.heartbeatMs);
    this.timer.unref();
  }
}
