// The gRPC services of the contract, as TypeScript types: which methods each service has, their
// kind (unary / server-streaming / client-streaming) and their request/response messages.
// Server implementations and typed clients are derived from this map.
import type { Logger } from '../../util/log.js';
import type { MessageInput, Messages, TypeName } from '../proto/types.js';

export interface Unary<Req extends TypeName, Res extends TypeName> {
  kind: 'unary';
  req: Req;
  res: Res;
}
export interface ServerStream<Req extends TypeName, Res extends TypeName> {
  kind: 'serverStream';
  req: Req;
  res: Res;
}
export interface ClientStream<Req extends TypeName, Res extends TypeName> {
  kind: 'clientStream';
  req: Req;
  res: Res;
}
export type MethodKind = 'unary' | 'serverStream' | 'clientStream';

export interface Services {
  'tso.v1.ModelNode': {
    Describe: Unary<'tso.v1.DescribeRequest', 'tso.v1.NodeInfo'>;
    Generate: ServerStream<'tso.v1.GenerateRequest', 'tso.v1.GenerateResponse'>;
    Score: Unary<'tso.v1.ScoreRequest', 'tso.v1.ScoreResponse'>;
    LoadWeights: ClientStream<'tso.v1.WeightChunk', 'tso.v1.LoadWeightsResponse'>;
    ComputeGradients: Unary<'tso.v1.GradientRequest', 'tso.v1.GradientSummary'>;
    Snapshot: Unary<'tso.v1.SnapshotRequest', 'tso.v1.SnapshotResponse'>;
    Restore: Unary<'tso.v1.RestoreRequest', 'tso.v1.RestoreResponse'>;
  };
  'tso.v1.Judge': {
    Compare: Unary<'tso.v1.CompareRequest', 'tso.v1.CompareResponse'>;
  };
  'tso.v1.Coordinator': {
    Status: Unary<'tso.v1.StatusRequest', 'tso.v1.StatusResponse'>;
  };
  'grpc.health.v1.Health': {
    Check: Unary<'grpc.health.v1.HealthCheckRequest', 'grpc.health.v1.HealthCheckResponse'>;
    Watch: ServerStream<'grpc.health.v1.HealthCheckRequest', 'grpc.health.v1.HealthCheckResponse'>;
  };
}

export type ServiceName = keyof Services;
export const SERVICE_NAMES = [
  'tso.v1.ModelNode',
  'tso.v1.Judge',
  'tso.v1.Coordinator',
  'grpc.health.v1.Health',
] as const satisfies readonly ServiceName[];

type MethodsOf<S extends ServiceName> = Services[S];
type MethodName<S extends ServiceName> = keyof MethodsOf<S> & string;

// ---- server side

/** Passed to every handler. `signal` aborts when the client cancels or the deadline passes. */
export interface CallContext {
  /** Full method path, e.g. "/tso.v1.ModelNode/Generate". */
  method: string;
  peer: string;
  deadline: Date | number;
  metadata: Record<string, string>;
  signal: AbortSignal;
  log: Logger;
}

type Awaitable<T> = T | Promise<T>;

export type ServerHandler<D> =
  D extends Unary<infer Q, infer R>
    ? (req: Messages[Q], ctx: CallContext) => Awaitable<MessageInput<R>>
    : D extends ServerStream<infer Q, infer R>
      ? (req: Messages[Q], ctx: CallContext) => AsyncIterable<MessageInput<R>> | Iterable<MessageInput<R>>
      : D extends ClientStream<infer Q, infer R>
        ? (requests: AsyncIterable<Messages[Q]>, ctx: CallContext) => Awaitable<MessageInput<R>>
        : never;

/**
 * Implementation of a service: handler names are the proto method names with a lowercase first
 * letter (Describe → describe). A missing handler answers UNIMPLEMENTED.
 */
export type ServiceImpl<S extends ServiceName> = {
  [M in MethodName<S> as Uncapitalize<M>]?: ServerHandler<MethodsOf<S>[M]>;
};

/** ServiceImpl per service name (a concrete map, so handlers get contextual parameter types). */
export type ServiceImpls = { [S in ServiceName]: ServiceImpl<S> };

// ---- client side

export interface CallOptions {
  /** Relative deadline for this call; defaults to the client's defaultDeadlineMs. */
  deadlineMs?: number;
  metadata?: Record<string, string>;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
}

/** Messages of a server-streaming call. Breaking out of for-await cancels the call. */
export interface ResponseStream<T> extends AsyncIterable<T> {
  cancel(): void;
}

/** The sending side of a client-streaming call. */
export interface RequestWriter<Req, Res> {
  /** Sends one message; waits while the transport buffer is full. Rejects if the call failed. */
  write(msg: Req): Promise<void>;
  /** Half-closes the stream and waits for the server's response. */
  end(): Promise<Res>;
  cancel(): void;
}

export type ClientMethod<D> =
  D extends Unary<infer Q, infer R>
    ? (req: MessageInput<Q>, opts?: CallOptions) => Promise<Messages[R]>
    : D extends ServerStream<infer Q, infer R>
      ? (req: MessageInput<Q>, opts?: CallOptions) => ResponseStream<Messages[R]>
      : D extends ClientStream<infer Q, infer R>
        ? (opts?: CallOptions) => RequestWriter<MessageInput<Q>, Messages[R]>
        : never;

export type ClientMethods<S extends ServiceName> = {
  [M in MethodName<S> as Uncapitalize<M>]: ClientMethod<MethodsOf<S>[M]>;
};
