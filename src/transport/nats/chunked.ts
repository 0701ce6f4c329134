// Chunk-framed publish/subscribe over core NATS. Every message on such a subject is a Chunk
// (even a small payload: one chunk), so receivers handle a single format. Subscribers log and
// count malformed, inconsistent, corrupt (SHA-256) or expired streams; they never throw.
import type { NatsConnection, Subscription as NatsSubscription } from 'nats';
import { logger, type Logger } from '../../util/log.js';
import { decode, encode } from '../proto/codec.js';
import type { MessageInput, Messages, TypeName } from '../proto/types.js';
import {
  ChunkAssembler,
  chunkDataBytes,
  newStreamId,
  splitIntoChunks,
  type ReassembledPayload,
} from './chunking.js';
import { retryThroughOutage } from './outage.js';
import { Subscription } from './subscription.js';

export interface PublishChunkedOptions {
  /** Protobuf type name of the payload, recorded in every chunk. */
  contentType?: string;
  /** Data bytes per chunk; default from the server's max_payload. */
  maxChunkBytes?: number;
  streamId?: string;
  /** Wait until the server has received everything (default true). */
  flush?: boolean;
  /**
   * With flush: if the server goes away before it has everything, publish the whole message again
   * (under a new stream id) once the client has reconnected, for up to this long (default 60 s; 0 =
   * fail at once). Receivers then may see it twice: every message of the protocol is taken once.
   */
  outageRetryMs?: number;
  log?: Logger;
}

export interface ReceivedPayload extends ReassembledPayload {
  subject: string;
}

export interface ReceivedMessage<T> {
  subject: string;
  streamId: string;
  message: T;
}

export interface SubscribeChunkedOptions {
  /** Incomplete streams are dropped this long after their first chunk (default 30 s). */
  streamTimeoutMs?: number;
  /** Largest payload accepted (default 512 MiB): set it to the expected message size where known. */
  maxBytes?: number;
  /** Bytes all incomplete streams may announce together (default 2 × maxBytes); oldest evicted first. */
  maxPendingBytes?: number;
  /** Queue group (load-balanced delivery among subscribers of the group). */
  queue?: string;
  log?: Logger;
}

/** Budget of a small control message (checksum, ack, announcement). */
export const SMALL_MESSAGE_BYTES = 64 * 1024;

/** Budget of a message carrying one float32 value per parameter (gradient shard, update). */
export function tensorMessageBytes(paramCount: number): number {
  return paramCount * 4 + SMALL_MESSAGE_BYTES;
}

export async function publishChunked(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  opts: PublishChunkedOptions = {},
): Promise<{ streamId: string; chunks: number }> {
  const once = async (streamId: string) => {
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const per = opts.maxChunkBytes ?? chunkDataBytes(maxPayload);
    const chunks = splitIntoChunks(data, per, opts.contentType ?? '', streamId);
    for (const c of chunks) nc.publish(subject, c);
    if (opts.flush !== false) await nc.flush();
    return { streamId, chunks: chunks.length };
  };
  const streamId = opts.streamId ?? newStreamId();
  if (opts.flush === false || opts.outageRetryMs === 0) return once(streamId);
  let attempt = 0;
  // A partly delivered stream is never completed: the retry is a new stream the receiver reassembles.
  return retryThroughOutage(nc, () => once(attempt++ === 0 ? streamId : newStreamId()), {
    what: `publish on ${subject}`,
    deadlineMs: opts.outageRetryMs,
    log: opts.log ?? logger('nats-chunked', { subject }),
  });
}

/** Encodes a contract message and publishes it chunk-framed (content type = its type name). */
export function publishMessage<K extends TypeName>(
  nc: NatsConnection,
  subject: string,
  typeName: K,
  msg: MessageInput<K>,
  opts: Omit<PublishChunkedOptions, 'contentType'> = {},
): Promise<{ streamId: string; chunks: number }> {
  return publishChunked(nc, subject, encode(typeName, msg), { ...opts, contentType: typeName });
}

function subscribeWith<T>(
  nc: NatsConnection,
  subject: string,
  opts: SubscribeChunkedOptions,
  deliver: (p: ReceivedPayload, sub: Subscription<T>, log: Logger) => void,
): Promise<Subscription<T>> {
  const log = opts.log ?? logger('nats-chunked', { subject });
  const assembler = new ChunkAssembler({
    timeoutMs: opts.streamTimeoutMs,
    maxBytes: opts.maxBytes,
    maxPendingBytes: opts.maxPendingBytes,
  });
  let evicted = 0;
  const sweeper = setInterval(
    () => {
      for (const id of assembler.sweep()) {
        sub.stats.expired++;
        log.warn({ streamId: id }, 'incomplete chunk stream expired');
      }
    },
    Math.min(1000, Math.max(50, (opts.streamTimeoutMs ?? 30_000) / 4)),
  );
  sweeper.unref();
  const sub: Subscription<T> = new Subscription<T>(subject, () => {
    clearInterval(sweeper);
    if (!natsSub.isClosed()) natsSub.unsubscribe();
  });
  const natsSub: NatsSubscription = nc.subscribe(subject, {
    queue: opts.queue,
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, 'subscription error');
        clearInterval(sweeper);
        sub.end();
        return;
      }
      const r = assembler.accept(msg.data);
      if (assembler.evicted !== evicted) {
        sub.stats.expired += assembler.evicted - evicted;
        log.warn({ evicted: assembler.evicted - evicted }, 'incomplete chunk streams evicted to make room');
        evicted = assembler.evicted;
      }
      if (r.kind === 'complete') deliver({ ...r.payload, subject: msg.subject }, sub, log);
      else if (r.kind === 'rejected') {
        sub.stats.rejected++;
        log.warn({ msgSubject: msg.subject, streamId: r.streamId, reason: r.reason }, 'chunk rejected');
      }
    },
  });
  void natsSub.closed.then(() => sub.end()).catch(() => sub.end());
  // The subscription is registered on the server once flush() returns: safe to trigger publishers.
  return nc.flush().then(() => sub);
}

/** Subscribes to reassembled payloads (any content type). */
export function subscribeChunked(
  nc: NatsConnection,
  subject: string,
  opts: SubscribeChunkedOptions = {},
): Promise<Subscription<ReceivedPayload>> {
  return subscribeWith<ReceivedPayload>(nc, subject, opts, (p, sub) => sub.push(p));
}

/**
 * Subscribes to decoded messages of one type. Payloads of another content type, or that fail to
 * decode, are logged and counted in stats.rejected.
 */
export function subscribeMessages<K extends TypeName>(
  nc: NatsConnection,
  subject: string,
  typeName: K,
  opts: SubscribeChunkedOptions = {},
): Promise<Subscription<ReceivedMessage<Messages[K]>>> {
  return subscribeWith<ReceivedMessage<Messages[K]>>(nc, subject, opts, (p, sub, log) => {
    if (p.contentType && p.contentType !== typeName) {
      sub.stats.rejected++;
      log.warn(
        { msgSubject: p.subject, got: p.contentType, want: typeName },
        'payload of unexpected type rejected',
      );
      return;
    }
    try {
      sub.push({ subject: p.subject, streamId: p.streamId, message: decode(typeName, p.data) });
    } catch (err) {
      sub.stats.rejected++;
      log.warn(
        { msgSubject: p.subject, reason: err instanceof Error ? err.message : String(err) },
        'payload rejected',
      );
    }
  });
}
