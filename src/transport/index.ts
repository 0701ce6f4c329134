// Transport layer of tso: the .proto contract loaded at runtime, gRPC control plane, NATS data plane.
export * from './errors.js';

export * from './proto/enums.js';
export type * from './proto/types.js';
export { TYPE_NAMES } from './proto/types.js';
export { encode, decode, tryDecode, encodeDynamic, decodeDynamic, type DecodeResult } from './proto/codec.js';
export { getRoot, lookupType, lookupService, protoDir, protoFiles } from './proto/root.js';

export type {
  CallContext,
  CallOptions,
  ClientMethods,
  RequestWriter,
  ResponseStream,
  ServiceImpl,
  ServiceImpls,
  ServiceName,
  Services,
} from './grpc/services.js';
export { SERVICE_NAMES } from './grpc/services.js';
export {
  startServer,
  defineService,
  formatAddress,
  DEFAULT_MAX_MESSAGE_BYTES,
  type RunningServer,
  type ServiceRegistration,
  type StartServerOptions,
} from './grpc/server.js';
export {
  createClient,
  DEFAULT_DEADLINE_MS,
  type ClientOptions,
  type ClientControl,
  type TypedClient,
} from './grpc/client.js';
export { HealthService } from './grpc/health.js';
export { isNodeFailure, status, statusName, statusCodeOf, toGrpcError, toRpcError } from './grpc/status.js';
export { buildService, type MethodInfo } from './grpc/definition.js';
export type { ClientTlsOptions, ServerTlsOptions } from './grpc/credentials.js';
export {
  weightChunks,
  sendWeights,
  receiveWeights,
  WEIGHT_CHUNK_BYTES,
  type ReceivedWeights,
  type WeightBlob,
} from './grpc/weight-chunks.js';

export { connectNats, probeNats, type ConnectNatsOptions, type NatsConnection } from './nats/connect.js';
export {
  subjects,
  buckets,
  token,
  isToken,
  lastToken,
  LATEST_WEIGHTS_KEY,
  LEASE_KEY,
} from './nats/subjects.js';
export {
  ChunkAssembler,
  splitIntoChunks,
  chunkDataBytes,
  newStreamId,
  CHUNK_ENVELOPE_BYTES,
  type AcceptResult,
  type AssemblerOptions,
  type ReassembledPayload,
} from './nats/chunking.js';
export {
  publishChunked,
  publishMessage,
  SMALL_MESSAGE_BYTES,
  tensorMessageBytes,
  subscribeChunked,
  subscribeMessages,
  type PublishChunkedOptions,
  type ReceivedMessage,
  type ReceivedPayload,
  type SubscribeChunkedOptions,
} from './nats/chunked.js';
export {
  Subscription,
  type CollectOptions,
  type CollectResult,
  type SubscriptionStats,
} from './nats/subscription.js';
export { isNatsOutage, retryThroughOutage, type OutageRetryOptions } from './nats/outage.js';
export { Membership, type MembershipOptions } from './nats/membership.js';
export { MembershipWatch, type MembershipEvent } from './nats/membership-watch.js';
export { WeightStore, type WeightMeta, type WeightStoreOptions } from './nats/weight-store.js';

export { sha256Hex, isSha256Hex } from './util/sha256.js';
export { AsyncQueue } from './util/async-queue.js';
