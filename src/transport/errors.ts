// Error classes of the transport layer. Every error carries a stable `code` string so callers can
// branch without instanceof across module copies; gRPC mapping lives in grpc/status.ts.

/** Base class of every error thrown by src/transport. */
export class TransportError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Malformed bytes, an unknown message type, or a message whose fields fail validation. */
export class ProtocolError extends TransportError {
  readonly typeName: string | undefined;
  constructor(message: string, typeName?: string, options?: { cause?: unknown }) {
    super('PROTOCOL', message, options);
    this.typeName = typeName;
  }
}

/** A name (run id, node id, version, bucket) that is not a safe NATS subject token / bucket name. */
export class InvalidNameError extends TransportError {
  constructor(message: string) {
    super('INVALID_NAME', message);
  }
}

/** Data whose SHA-256 (or size) does not match what was announced. */
export class IntegrityError extends TransportError {
  constructor(message: string) {
    super('INTEGRITY', message);
  }
}

/** Refusal to overwrite something already stored with different content. */
export class ConflictError extends TransportError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** A requested object (e.g. weight version) does not exist. */
export class NotFoundError extends TransportError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** An operation that did not finish before its deadline. */
export class TransportTimeoutError extends TransportError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/**
 * An error that a gRPC handler throws to choose the status code explicitly
 * (e.g. `new GrpcStatusError(status.FAILED_PRECONDITION, 'weights are at v3, expected v4')`).
 */
export class GrpcStatusError extends TransportError {
  readonly grpcCode: number;
  constructor(grpcCode: number, message: string) {
    super('GRPC_STATUS', message);
    this.grpcCode = grpcCode;
  }
}

/** A failed gRPC call as seen by a client: status code, its name, and the method path. */
export class RpcError extends TransportError {
  readonly grpcCode: number;
  readonly statusName: string;
  readonly method: string;
  readonly details: string;
  constructor(method: string, grpcCode: number, statusName: string, details: string) {
    super('RPC', `${method} failed: ${statusName}: ${details}`);
    this.method = method;
    this.grpcCode = grpcCode;
    this.statusName = statusName;
    this.details = details;
  }
}
