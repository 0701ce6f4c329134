// Pure chunk framing for NATS payloads larger than the server's max_payload: split a payload
// into Chunk messages, and reassemble them (any order, duplicates ignored, SHA-256 verified,
// incomplete streams expire). Malformed input is reported, never thrown.
import { randomBytes } from 'node:crypto';
import { decode, encode } from '../proto/codec.js';
import type { Chunk } from '../proto/types.js';
import { isSha256Hex, sha256Hex } from '../util/sha256.js';

/** Bytes reserved in each NATS message for the Chunk envelope's own fields. */
export const CHUNK_ENVELOPE_BYTES = 1024;

export interface ReassembledPayload {
  streamId: string;
  contentType: string;
  data: Uint8Array;
}

export function newStreamId(): string {
  return randomBytes(16).toString('hex');
}

/** Largest data slice per chunk for a server max_payload. */
export function chunkDataBytes(maxPayload: number): number {
  const n = maxPayload - CHUNK_ENVELOPE_BYTES;
  if (n < 1024) throw new RangeError(`max payload ${maxPayload} is too small for chunking`);
  return n;
}

/** Encoded Chunk messages, each at most maxChunkData + CHUNK_ENVELOPE_BYTES bytes. */
export function splitIntoChunks(
  data: Uint8Array,
  maxChunkData: number,
  contentType = '',
  streamId: string = newStreamId(),
): Uint8Array[] {
  if (!(maxChunkData >= 1)) throw new RangeError(`maxChunkData must be >= 1, got ${maxChunkData}`);
  const sha256 = sha256Hex(data);
  const count = Math.max(1, Math.ceil(data.byteLength / maxChunkData));
  const out: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const slice = data.subarray(index * maxChunkData, Math.min(data.byteLength, (index + 1) * maxChunkData));
    out.push(
      encode('tso.v1.Chunk', {
        streamId,
        index,
        count,
        totalBytes: data.byteLength,
        sha256,
        data: slice,
        contentType,
      }),
    );
  }
  return out;
}

export type AcceptResult =
  | { kind: 'complete'; payload: ReassembledPayload }
  | { kind: 'partial'; streamId: string; received: number; count: number }
  | { kind: 'duplicate'; streamId: string }
  | { kind: 'rejected'; reason: string; streamId?: string };

export interface AssemblerOptions {
  /** An incomplete stream is dropped this long after its first chunk (default 30 s). */
  timeoutMs?: number;
  /** Largest payload accepted (default 512 MiB). */
  maxBytes?: number;
  /** Most incomplete streams held at once (default 256); a new stream evicts the oldest. */
  maxStreams?: number;
  /**
   * Most bytes announced by all incomplete streams together (default 2 × maxBytes). A stream that
   * does not fit evicts the oldest incomplete ones; one that exceeds it alone is rejected.
   */
  maxPendingBytes?: number;
  now?: () => number;
}

interface PendingStream {
  count: number;
  totalBytes: number;
  sha256: string;
  contentType: string;
  // A Map, not an array of `count` slots: a forged count must not cost memory before data arrives.
  parts: Map<number, Uint8Array>;
  received: number;
  bytes: number;
  firstAt: number;
}

const RECENT_LIMIT = 1024;

export class ChunkAssembler {
  private readonly streams = new Map<string, PendingStream>();
  private readonly recent = new Set<string>();
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxStreams: number;
  private readonly maxPendingBytes: number;
  /** Sum of totalBytes of the incomplete streams (what they may still grow to). */
  private pendingBytes = 0;
  private evictedCount = 0;
  private readonly now: () => number;

  constructor(opts: AssemblerOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
    this.maxStreams = opts.maxStreams ?? 256;
    this.maxPendingBytes = opts.maxPendingBytes ?? 2 * this.maxBytes;
    this.now = opts.now ?? Date.now;
  }

  /** Number of incomplete streams held. */
  get pending(): number {
    return this.streams.size;
  }

  /** Incomplete streams dropped so far to make room for newer ones. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** Feeds one NATS message body (an encoded Chunk). */
  accept(bytes: Uint8Array): AcceptResult {
    let c: Chunk;
    try {
      c = decode('tso.v1.Chunk', bytes);
    } catch (err) {
      return { kind: 'rejected', reason: err instanceof Error ? err.message : String(err) };
    }
    const bad = this.validate(c);
    if (bad) return { kind: 'rejected', reason: bad, streamId: c.streamId || undefined };
    if (this.recent.has(c.streamId)) return { kind: 'duplicate', streamId: c.streamId };
    let s = this.streams.get(c.streamId);
    if (!s) {
      if (c.totalBytes > this.maxPendingBytes) {
        return {
          kind: 'rejected',
          reason: `payload of ${c.totalBytes} bytes exceeds the reassembly budget of ${this.maxPendingBytes}`,
          streamId: c.streamId,
        };
      }
      // Junk (forged or stalled streams) must not block the next real message: the oldest go first.
      while (
        this.streams.size > 0 &&
        (this.streams.size >= this.maxStreams || this.pendingBytes + c.totalBytes > this.maxPendingBytes)
      ) {
        const oldest = this.streams.keys().next().value as string;
        this.drop(oldest);
        this.evictedCount++;
      }
      s = {
        count: c.count,
        totalBytes: c.totalBytes,
        sha256: c.sha256,
        contentType: c.contentType,
        parts: new Map(),
        received: 0,
        bytes: 0,
        firstAt: this.now(),
      };
      this.streams.set(c.streamId, s);
      this.pendingBytes += s.totalBytes;
    } else if (
      s.count !== c.count ||
      s.totalBytes !== c.totalBytes ||
      s.sha256 !== c.sha256 ||
      s.contentType !== c.contentType
    ) {
      return {
        kind: 'rejected',
        reason: 'chunk disagrees with earlier chunks of its stream',
        streamId: c.streamId,
      };
    }
    if (s.parts.has(c.index)) return { kind: 'duplicate', streamId: c.streamId };
    if (s.bytes + c.data.byteLength > s.totalBytes) {
      this.drop(c.streamId);
      return {
        kind: 'rejected',
        reason: 'chunks exceed announced total_bytes; stream dropped',
        streamId: c.streamId,
      };
    }
    s.parts.set(c.index, c.data);
    s.received++;
    s.bytes += c.data.byteLength;
    if (s.received < s.count)
      return { kind: 'partial', streamId: c.streamId, received: s.received, count: s.count };
    return this.finish(c.streamId, s);
  }

  /** Drops incomplete streams older than timeoutMs; returns their ids. */
  sweep(): string[] {
    const limit = this.now() - this.timeoutMs;
    const dropped: string[] = [];
    for (const [id, s] of this.streams) {
      if (s.firstAt <= limit) {
        this.drop(id);
        dropped.push(id);
      }
    }
    return dropped;
  }

  private validate(c: Chunk): string | undefined {
    if (!c.streamId || c.streamId.length > 128) return 'chunk without a valid stream_id';
    if (c.count < 1) return 'chunk count must be >= 1';
    if (c.index >= c.count) return `chunk index ${c.index} out of range (count ${c.count})`;
    if (c.totalBytes > this.maxBytes)
      return `payload of ${c.totalBytes} bytes exceeds the limit of ${this.maxBytes}`;
    if (!isSha256Hex(c.sha256)) return 'chunk sha256 is not a hex SHA-256 digest';
    if (c.data.byteLength > c.totalBytes) return 'chunk data larger than total_bytes';
    // Every chunk but the one of an empty payload carries at least one byte.
    if (c.count > Math.max(1, c.totalBytes))
      return `chunk count ${c.count} exceeds total_bytes ${c.totalBytes}`;
    return undefined;
  }

  private drop(streamId: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.streams.delete(streamId);
    this.pendingBytes -= s.totalBytes;
  }

  private finish(streamId: string, s: PendingStream): AcceptResult {
    this.drop(streamId);
    if (s.bytes !== s.totalBytes) {
      return { kind: 'rejected', reason: `got ${s.bytes} bytes, announced ${s.totalBytes}`, streamId };
    }
    const data = new Uint8Array(s.totalBytes);
    let off = 0;
    for (let i = 0; i < s.count; i++) {
      const part = s.parts.get(i);
      if (!part) return { kind: 'rejected', reason: `chunk ${i} missing`, streamId };
      data.set(part, off);
      off += part.byteLength;
    }
    const actual = sha256Hex(data);
    if (actual !== s.sha256) {
      return { kind: 'rejected', reason: `sha256 mismatch: announced ${s.sha256}, got ${actual}`, streamId };
    }
    this.remember(streamId);
    return { kind: 'complete', payload: { streamId, contentType: s.contentType, data } };
  }

  private remember(streamId: string): void {
    this.recent.add(streamId);
    if (this.recent.size > RECENT_LIMIT) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
