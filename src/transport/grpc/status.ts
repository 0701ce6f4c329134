// Mapping between errors and gRPC status codes, both directions.
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  ConflictError,
  GrpcStatusError,
  IntegrityError,
  InvalidNameError,
  NotFoundError,
  ProtocolError,
  RpcError,
  TransportTimeoutError,
} from '../errors.js';

export { status };

/** "INVALID_ARGUMENT" for 3, etc. */
export function statusName(code: number): string {
  const name = (status as unknown as Record<number, string | undefined>)[code];
  return typeof name === 'string' ? name : `CODE_${code}`;
}

function isStatusCode(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 16;
}

/** The status code an error thrown by a handler maps to. */
export function statusCodeOf(err: unknown): number {
  if (err instanceof GrpcStatusError || err instanceof RpcError) return err.grpcCode;
  if (err instanceof ProtocolError || err instanceof InvalidNameError || err instanceof IntegrityError) {
    return status.INVALID_ARGUMENT;
  }
  if (err instanceof ConflictError) return status.ALREADY_EXISTS;
  if (err instanceof NotFoundError) return status.NOT_FOUND;
  if (err instanceof TransportTimeoutError) return status.DEADLINE_EXCEEDED;
  if (typeof err === 'object' && err !== null) {
    const rec = err as Record<string, unknown>;
    // Errors of other modules may opt in with a numeric `grpcCode` property.
    if (isStatusCode(rec.grpcCode)) return rec.grpcCode;
    if (rec.name === 'ZodError') return status.INVALID_ARGUMENT;
    if (rec.name === 'AbortError') return status.CANCELLED;
  }
  return status.INTERNAL;
}

/** Converts anything a handler threw into the status object grpc-js sends to the client. */
export function toGrpcError(err: unknown): Partial<StatusObject> & { code: number; details: string } {
  const code = statusCodeOf(err);
  const details = err instanceof Error ? err.message : String(err);
  return { code, details: details || statusName(code), metadata: new Metadata() };
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && isStatusCode((err as Record<string, unknown>).code);
}

/** Converts a grpc-js client error into an RpcError naming the method and status. */
export function toRpcError(err: unknown, method: string): RpcError {
  if (err instanceof RpcError) return err;
  if (isServiceError(err)) {
    return new RpcError(method, err.code, statusName(err.code), err.details || err.message);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new RpcError(method, status.UNKNOWN, statusName(status.UNKNOWN), msg);
}

/**
 * Whether a failed call says the node itself is gone: unreachable (UNAVAILABLE) or silent past the
 * deadline (DEADLINE_EXCEEDED). Every other status is the node's answer about the request.
 */
export function isNodeFailure(err: unknown): boolean {
  return (
    err instanceof RpcError &&
    (err.grpcCode === status.UNAVAILABLE || err.grpcCode === status.DEADLINE_EXCEEDED)
  );
}
