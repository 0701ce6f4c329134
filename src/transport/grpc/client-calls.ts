// Promise / async-iterable / writer adapters over grpc-js Client calls. Every call gets a deadline.
// Errors surface as RpcError (status + method) or ProtocolError (request invalid / reply malformed).
import { Metadata, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { DecodeResult } from '../proto/codec.js';
import { encodeDynamic } from '../proto/codec.js';
import { AsyncQueue } from '../util/async-queue.js';
import type { MethodInfo, WireMethodDefinition } from './definition.js';
import type { CallOptions, RequestWriter, ResponseStream } from './services.js';
import { toRpcError } from './status.js';

export interface CallDefaults {
  defaultDeadlineMs: number;
}

type Reply = DecodeResult<unknown>;

function metadataOf(opts: CallOptions | undefined): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(opts?.metadata ?? {})) md.set(k, v);
  return md;
}

function deadlineOf(opts: CallOptions | undefined, d: CallDefaults): Date {
  const ms = opts?.deadlineMs ?? d.defaultDeadlineMs;
  if (!(ms > 0) || !Number.isFinite(ms))
    throw new RangeError(`deadlineMs must be a positive number, got ${ms}`);
  return new Date(Date.now() + ms);
}

function onAbort(signal: AbortSignal | undefined, cancel: () => void): void {
  if (!signal) return;
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
}

export function unaryCall(
  client: Client,
  info: MethodInfo,
  wire: WireMethodDefinition,
  req: unknown,
  opts: CallOptions | undefined,
  d: CallDefaults,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const bytes = encodeDynamic(info.requestType, req);
    const call = client.makeUnaryRequest<Uint8Array, Reply>(
      info.path,
      wire.requestSerialize,
      wire.responseDeserialize,
      bytes,
      metadataOf(opts),
      { deadline: deadlineOf(opts, d) },
      (err: ServiceError | null, reply?: Reply) => {
        if (err) reject(toRpcError(err, info.path));
        else if (!reply) reject(toRpcError(new Error('empty reply'), info.path));
        else if (!reply.ok) reject(reply.error);
        else resolve(reply.value);
      },
    );
    onAbort(opts?.signal, () => call.cancel());
  });
}

/** Buffered messages above which the grpc stream is paused until the consumer catches up. */
const HIGH_WATER = 64;

export function serverStreamCall(
  client: Client,
  info: MethodInfo,
  wire: WireMethodDefinition,
  req: unknown,
  opts: CallOptions | undefined,
  d: CallDefaults,
): ResponseStream<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = encodeDynamic(info.requestType, req);
  } catch (err) {
    const failed = new AsyncQueue<unknown>();
    failed.fail(err);
    return { [Symbol.asyncIterator]: () => failed, cancel: () => failed.end() };
  }
  const call: ClientReadableStream<Reply> = client.makeServerStreamRequest<Uint8Array, Reply>(
    info.path,
    wire.requestSerialize,
    wire.responseDeserialize,
    bytes,
    metadataOf(opts),
    { deadline: deadlineOf(opts, d) },
  );
  let finished = false;
  const queue = new AsyncQueue<unknown>({
    onPull: (buffered) => {
      if (buffered < HIGH_WATER / 2 && call.isPaused()) call.resume();
    },
    onClose: () => {
      if (!finished) call.cancel();
    },
  });
  call.on('data', (reply: Reply) => {
    if (!reply.ok) {
      queue.fail(reply.error);
      call.cancel();
      return;
    }
    queue.push(reply.value);
    if (queue.size >= HIGH_WATER) call.pause();
  });
  call.on('error', (err: unknown) => {
    finished = true;
    queue.fail(toRpcError(err, info.path));
  });
  call.on('end', () => {
    finished = true;
    queue.end();
  });
  onAbort(opts?.signal, () => call.cancel());
  return {
    [Symbol.asyncIterator]: () => queue,
    cancel: () => call.cancel(),
  };
}

export function clientStreamCall(
  client: Client,
  info: MethodInfo,
  wire: WireMethodDefinition,
  opts: CallOptions | undefined,
  d: CallDefaults,
): RequestWriter<unknown, unknown> {
  let settled: { error: unknown } | { value: unknown } | undefined;
  let resolveRes: (v: unknown) => void = () => {};
  let rejectRes: (e: unknown) => void = () => {};
  const response = new Promise<unknown>((resolve, reject) => {
    resolveRes = resolve;
    rejectRes = reject;
  });
  response.catch(() => {}); // observed through write()/end(); never an unhandled rejection
  const call = client.makeClientStreamRequest<Uint8Array, Reply>(
    info.path,
    wire.requestSerialize,
    wire.responseDeserialize,
    metadataOf(opts),
    { deadline: deadlineOf(opts, d) },
    (err: ServiceError | null, reply?: Reply) => {
      if (err) settled = { error: toRpcError(err, info.path) };
      else if (!reply) settled = { error: toRpcError(new Error('empty reply'), info.path) };
      else if (!reply.ok) settled = { error: reply.error };
      else settled = { value: reply.value };
      if ('error' in settled) rejectRes(settled.error);
      else resolveRes(settled.value);
    },
  );
  call.on('error', () => {}); // the status arrives through the callback above
  onAbort(opts?.signal, () => call.cancel());
  return {
    write: async (msg: unknown): Promise<void> => {
      if (settled && 'error' in settled) throw settled.error;
      const bytes = encodeDynamic(info.requestType, msg);
      if (!call.write(bytes)) {
        await Promise.race([new Promise<void>((r) => call.once('drain', () => r())), response]);
      }
    },
    end: (): Promise<unknown> => {
      call.end();
      return response;
    },
    cancel: () => call.cancel(),
  };
}
