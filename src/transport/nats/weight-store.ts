// Weight versions in a JetStream object store (tso_<run>_weights; object name = version) plus a
// "latest" pointer in the run's state KV (tso_<run>_state, key weights.latest). A version is
// written once: re-putting identical bytes is a no-op, different bytes are refused (ConflictError),
// so nothing stored is ever overwritten. Reads verify SHA-256 and size (IntegrityError).
import type { KV, NatsConnection, ObjectInfo, ObjectStore } from 'nats';
import { logger, type Logger } from '../../util/log.js';
import { ConflictError, IntegrityError, NotFoundError } from '../errors.js';
import { isNatsOutage, retryThroughOutage } from './outage.js';
import { decode, encode } from '../proto/codec.js';
import type { MessageInput, WeightsAnnounce } from '../proto/types.js';
import { isSha256Hex, sha256Hex } from '../util/sha256.js';
import { LATEST_WEIGHTS_KEY, token } from './subjects.js';

/** Object metadata keys (readable by clients in any language). */
export const META_SHA256 = 'sha256';
export const META_ANNOUNCE = 'tso-announce'; // base64 of an encoded tso.v1.WeightsAnnounce

export interface WeightStoreOptions {
  /** Object store bucket, normally buckets.weights(run). */
  bucket: string;
  /** KV bucket for the latest pointer, normally buckets.state(run). */
  stateBucket: string;
  runId?: string;
  log?: Logger;
}

/** Fields of the announcement the caller may supply; version, sha256, bytes, bucket are computed. */
export type WeightMeta = Omit<
  MessageInput<'tso.v1.WeightsAnnounce'>,
  'version' | 'bucket' | 'objectName' | 'bytes'
>;

export class WeightStore {
  private constructor(
    private readonly nc: NatsConnection,
    readonly os: ObjectStore,
    readonly state: KV,
    readonly bucket: string,
    private readonly runId: string,
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, opts: WeightStoreOptions): Promise<WeightStore> {
    const js = nc.jetstream();
    const os = await js.views.os(opts.bucket);
    const state = await js.views.kv(opts.stateBucket, { history: 10 });
    const log = opts.log ?? logger('weight-store', { bucket: opts.bucket });
    return new WeightStore(nc, os, state, opts.bucket, opts.runId ?? '', log);
  }

  /**
   * Stores `data` as `version`. meta.sha256, if given, must match the data. Returns the
   * announcement to publish on subjects.ref(run).
   */
  putVersion(version: string, data: Uint8Array, meta: WeightMeta = {}): Promise<WeightsAnnounce> {
    return this.retry('putVersion', () => this.putVersionOnce(version, data, meta));
  }

  private async putVersionOnce(
    version: string,
    data: Uint8Array,
    meta: WeightMeta,
  ): Promise<WeightsAnnounce> {
    token('weight version', version);
    const sha256 = sha256Hex(data);
    if (meta.sha256 !== undefined && meta.sha256 !== sha256) {
      throw new IntegrityError(
        `weights ${version}: announced sha256 ${meta.sha256} but data hashes to ${sha256}`,
      );
    }
    const existing = await this.os.info(version);
    if (existing && !existing.deleted) return this.sameOrConflict(version, existing, sha256);
    const announce = decode(
      'tso.v1.WeightsAnnounce',
      encode('tso.v1.WeightsAnnounce', {
        runId: this.runId,
        createdAtMs: Date.now(),
        ...meta,
        version,
        sha256,
        bucket: this.bucket,
        objectName: version,
        bytes: data.byteLength,
      }),
    );
    const metadata = {
      [META_SHA256]: sha256,
      [META_ANNOUNCE]: Buffer.from(encode('tso.v1.WeightsAnnounce', announce)).toString('base64'),
    };
    try {
      await this.os.putBlob(
        { name: version, metadata, options: { max_chunk_size: this.chunkBytes() } },
        data,
        {
          previousRevision: existing?.revision ?? 0,
        },
      );
    } catch (err) {
      // Lost a race with another writer: fine if it stored the same bytes.
      const now = await this.os.info(version).catch(() => null);
      if (now && !now.deleted) return this.sameOrConflict(version, now, sha256);
      throw err;
    }
    this.log.info({ version, bytes: data.byteLength, sha256 }, 'weights stored');
    return announce;
  }

  /** The stored announcement of a version, or null. */
  async info(version: string): Promise<WeightsAnnounce | null> {
    const info = await this.os.info(token('weight version', version));
    if (!info || info.deleted) return null;
    return this.announceOf(info);
  }

  /** Reads a version, verifying size and SHA-256. NotFoundError / IntegrityError otherwise. */
  getVersion(version: string): Promise<{ data: Uint8Array; announce: WeightsAnnounce }> {
    return this.retry('getVersion', () => this.getVersionOnce(version));
  }

  private async getVersionOnce(version: string): Promise<{ data: Uint8Array; announce: WeightsAnnounce }> {
    const announce = await this.info(version);
    if (!announce) throw new NotFoundError(`weights ${version} not found in ${this.bucket}`);
    let data: Uint8Array | null;
    try {
      data = await this.os.getBlob(version);
    } catch (err) {
      if (isNatsOutage(err)) throw err; // retried, not a damaged object
      throw new IntegrityError(`weights ${version}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!data) throw new NotFoundError(`weights ${version} not found in ${this.bucket}`);
    if (data.byteLength !== announce.bytes) {
      throw new IntegrityError(
        `weights ${version}: got ${data.byteLength} bytes, announced ${announce.bytes}`,
      );
    }
    const actual = sha256Hex(data);
    if (actual !== announce.sha256) {
      throw new IntegrityError(
        `weights ${version}: sha256 mismatch (announced ${announce.sha256}, got ${actual})`,
      );
    }
    return { data, announce };
  }

  /** Stored versions (names), oldest first. */
  async versions(): Promise<string[]> {
    const list = await this.os.list();
    return list
      .filter((i) => !i.deleted)
      .sort((a, b) => a.revision - b.revision)
      .map((i) => i.name);
  }

  /** Points weights.latest at a stored version. */
  setLatest(version: string): Promise<WeightsAnnounce> {
    return this.retry('setLatest', () => this.setLatestOnce(version));
  }

  private async setLatestOnce(version: string): Promise<WeightsAnnounce> {
    const announce = await this.info(version);
    if (!announce) throw new NotFoundError(`cannot mark ${version} latest: not stored in ${this.bucket}`);
    await this.state.put(LATEST_WEIGHTS_KEY, encode('tso.v1.WeightsAnnounce', announce));
    return announce;
  }

  /** The latest pointer, or null if none was set. */
  latest(): Promise<WeightsAnnounce | null> {
    return this.retry('latest', () => this.latestOnce());
  }

  private async latestOnce(): Promise<WeightsAnnounce | null> {
    const e = await this.state.get(LATEST_WEIGHTS_KEY);
    if (!e || e.operation !== 'PUT') return null;
    return decode('tso.v1.WeightsAnnounce', e.value);
  }

  /**
   * Object chunks as large as the server allows (less 8 KiB for headers), at most 8 MiB: a reader
   * fetches an object one message per chunk, so nats.js's default of 128 KiB makes a large version
   * thousands of round trips (measured: 3.5 MB to one reader 64× a raw loopback copy at 128 KiB).
   */
  private chunkBytes(): number {
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    return Math.max(64 * 1024, Math.min(8 * 1024 * 1024, max - 8 * 1024));
  }

  /**
   * Every operation is idempotent (a version is written once; identical bytes again are a no-op), so
   * one that fails because the server is away (a NATS restart) is done again once it is back.
   */
  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryThroughOutage(this.nc, fn, { what: `weight store ${what}`, log: this.log });
  }

  private announceOf(info: ObjectInfo): WeightsAnnounce {
    const md = info.metadata ?? {};
    const raw = md[META_ANNOUNCE];
    if (raw) return decode('tso.v1.WeightsAnnounce', Buffer.from(raw, 'base64'));
    // Stored by another client without our announcement: describe it from the object info.
    const sha256 = md[META_SHA256] ?? '';
    if (!isSha256Hex(sha256)) throw new IntegrityError(`weights ${info.name}: no sha256 metadata`);
    return decode(
      'tso.v1.WeightsAnnounce',
      encode('tso.v1.WeightsAnnounce', {
        runId: this.runId,
        version: info.name,
        sha256,
        bucket: this.bucket,
        objectName: info.name,
        bytes: info.size,
      }),
    );
  }

  private sameOrConflict(version: string, existing: ObjectInfo, sha256: string): WeightsAnnounce {
    const stored = this.announceOf(existing);
    if (stored.sha256 !== sha256) {
      throw new ConflictError(
        `weights ${version} already stored with sha256 ${stored.sha256}; refusing to overwrite with ${sha256}`,
      );
    }
    this.log.debug({ version }, 'weights already stored (identical); nothing to do');
    return stored;
  }
}
