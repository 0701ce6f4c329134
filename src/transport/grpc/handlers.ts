// Adapters from typed, promise/async-iterable handlers to grpc-js call handlers. Every path ends
// the call with a status: malformed requests → INVALID_ARGUMENT, handler errors → toGrpcError,
// invalid handler output → INTERNAL. Nothing thrown here can take the server down.
import type {
  Metadata,
  sendUnaryData,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
} from '@grpc/grpc-js';
import type { Logger } from '../../util/log.js';
import { ProtocolError } from '../errors.js';
import { encodeDynamic, type DecodeResult } from '../proto/codec.js';
import type { MethodInfo } from './definition.js';
import type { CallContext } from './services.js';
import { status, statusName, toGrpcError } from './status.js';

type In = DecodeResult<unknown>;
type Out = Uint8Array;
type Fn = (...args: never[]) => unknown;

interface CallLike {
  getPeer(): string;
  getDeadline(): Date | number;
  metadata: Metadata;
  on(event: 'cancelled', listener: () => void): unknown;
}

function metadataRecord(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}

function context(call: CallLike, info: MethodInfo, log: Logger): CallContext {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort(new Error(`${info.path} cancelled by the client or deadline`)));
  return {
    method: info.path,
    peer: call.getPeer(),
    deadline: call.getDeadline(),
    metadata: metadataRecord(call.metadata),
    signal: ac.signal,
    log,
  };
}

/** Output of a handler that does not match the response type is the handler's bug: INTERNAL. */
class HandlerOutputError extends Error {}

function encodeOutput(info: MethodInfo, value: unknown): Out {
  try {
    return encodeDynamic(info.responseType, value);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new HandlerOutputError(`${info.path} produced an invalid ${info.responseType}: ${why}`);
  }
}

function failure(info: MethodInfo, log: Logger, err: unknown): { code: number; details: string } {
  const st =
    err instanceof HandlerOutputError ? { code: status.INTERNAL, details: err.message } : toGrpcError(err);
  const fields = { method: info.path, code: statusName(st.code), details: st.details };
  if (st.code === status.INTERNAL || st.code === status.UNKNOWN) log.error({ ...fields, err }, 'rpc failed');
  else log.warn(fields, 'rpc rejected');
  return st;
}

function rejectMalformed(
  info: MethodInfo,
  log: Logger,
  error: ProtocolError,
): { code: number; details: string } {
  log.warn({ method: info.path, reason: error.message }, 'malformed request rejected');
  return { code: status.INVALID_ARGUMENT, details: error.message };
}

export function unimplemented(info: MethodInfo, service: string): UntypedHandleCall {
  const details = `${info.path} is not implemented by this ${service} node`;
  if (info.kind === 'serverStream') {
    return (call: ServerWritableStream<In, Out>) => {
      call.emit('error', { code: status.UNIMPLEMENTED, details });
    };
  }
  return (_call: unknown, callback: sendUnaryData<Out>) => callback({ code: status.UNIMPLEMENTED, details });
}

export function wrapUnary(info: MethodInfo, fn: Fn, log: Logger): UntypedHandleCall {
  const handler = fn as (req: unknown, ctx: CallContext) => unknown;
  return (call: ServerUnaryCall<In, Out>, callback: sendUnaryData<Out>) => {
    const req = call.request;
    if (!req.ok) return callback(rejectMalformed(info, log, req.error));
    const ctx = context(call, info, log);
    Promise.resolve()
      .then(() => handler(req.value, ctx))
      .then((res) => callback(null, encodeOutput(info, res)))
      .catch((err: unknown) => callback(failure(info, log, err)));
  };
}

export function wrapServerStream(info: MethodInfo, fn: Fn, log: Logger): UntypedHandleCall {
  const handler = fn as (req: unknown, ctx: CallContext) => AsyncIterable<unknown> | Iterable<unknown>;
  return (call: ServerWritableStream<In, Out>) => {
    const req = call.request;
    if (!req.ok) {
      call.emit('error', rejectMalformed(info, log, req.error));
      return;
    }
    const ctx = context(call, info, log);
    const run = async (): Promise<void> => {
      for await (const item of handler(req.value, ctx)) {
        if (ctx.signal.aborted) return;
        if (!call.write(encodeOutput(info, item))) {
          await drained(call, ctx.signal);
        }
      }
      if (!ctx.signal.aborted) call.end();
    };
    run().catch((err: unknown) => {
      if (!ctx.signal.aborted) call.emit('error', failure(info, log, err));
    });
  };
}

/** Resolves on 'drain' or abort, removing both listeners. */
function drained(call: ServerWritableStream<In, Out>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function* requests(info: MethodInfo, call: ServerReadableStream<In, Out>): AsyncGenerator<unknown> {
  for await (const raw of call) {
    const msg = raw as In;
    if (!msg.ok) throw msg.error;
    yield msg.value;
  }
}

export function wrapClientStream(info: MethodInfo, fn: Fn, log: Logger): UntypedHandleCall {
  const handler = fn as (reqs: AsyncIterable<unknown>, ctx: CallContext) => unknown;
  return (call: ServerReadableStream<In, Out>, callback: sendUnaryData<Out>) => {
    const ctx = context(call, info, log);
    Promise.resolve()
      .then(() => handler(requests(info, call), ctx))
      .then((res) => callback(null, encodeOutput(info, res)))
      .catch((err: unknown) => {
        if (err instanceof ProtocolError) callback(rejectMalformed(info, log, err));
        else if ((err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
          // The client cancelled, or grpc-js refused a message over the size limit and closed the
          // stream: the caller's failure, not the node's (no INTERNAL error in the log).
          log.warn({ method: info.path }, 'request stream cut off before its end');
          callback({ code: status.CANCELLED, details: 'request stream cut off before its end' });
        } else callback(failure(info, log, err));
      });
  };
}

export function wrapHandler(info: MethodInfo, fn: Fn, log: Logger): UntypedHandleCall {
  switch (info.kind) {
    case 'unary':
      return wrapUnary(info, fn, log);
    case 'serverStream':
      return wrapServerStream(info, fn, log);
    case 'clientStream':
      return wrapClientStream(info, fn, log);
  }
}
