// Hand-written TypeScript mirrors of the .proto messages (lowerCamelCase, as loaded with
// keepCase: false). Decoded messages are complete: every scalar/repeated/map field is present
// (proto3 defaults filled in); sub-messages are absent (undefined) when not set.
// 64-bit integers are JS numbers (exact up to 2^53). Bytes are Uint8Array.
import type {
  Tokenizer,
  SamplingParams,
  Prompt,
  Lineage,
  ParamSpec,
  NodeInfo,
  DescribeRequest,
  GenerateRequest,
  GenerateResponse,
  ScorePair,
  ScoreRequest,
  PairScore,
  ScoreResponse,
  WeightChunk,
  LoadWeightsResponse,
  LossOptions,
  TrainPair,
  GradientRequest,
  GradientSummary,
  OptimizerOptions,
  SnapshotRequest,
  SnapshotResponse,
  RestoreRequest,
  RestoreResponse,
  CompareRequest,
  CompareResponse,
  StatusRequest,
  NodeStatus,
  StatusResponse,
} from './types/control.js';
import type {
  Chunk,
  GradientShard,
  Update,
  WeightsAnnounce,
  Ack,
  Checksum,
  CoordinatorLease,
  MemberRecord,
  ResponseBatch,
  HealthCheckRequest,
  HealthCheckResponse,
} from './types/bus.js';

export type * from './types/control.js';
export type * from './types/bus.js';

/** Full protobuf name → TypeScript interface, for encode/decode and the gRPC service map. */
export interface Messages {
  'tso.v1.Tokenizer': Tokenizer;
  'tso.v1.SamplingParams': SamplingParams;
  'tso.v1.Prompt': Prompt;
  'tso.v1.Lineage': Lineage;
  'tso.v1.ParamSpec': ParamSpec;
  'tso.v1.NodeInfo': NodeInfo;
  'tso.v1.DescribeRequest': DescribeRequest;
  'tso.v1.GenerateRequest': GenerateRequest;
  'tso.v1.GenerateResponse': GenerateResponse;
  'tso.v1.ScorePair': ScorePair;
  'tso.v1.ScoreRequest': ScoreRequest;
  'tso.v1.PairScore': PairScore;
  'tso.v1.ScoreResponse': ScoreResponse;
  'tso.v1.WeightChunk': WeightChunk;
  'tso.v1.LoadWeightsResponse': LoadWeightsResponse;
  'tso.v1.LossOptions': LossOptions;
  'tso.v1.TrainPair': TrainPair;
  'tso.v1.GradientRequest': GradientRequest;
  'tso.v1.GradientSummary': GradientSummary;
  'tso.v1.OptimizerOptions': OptimizerOptions;
  'tso.v1.SnapshotRequest': SnapshotRequest;
  'tso.v1.SnapshotResponse': SnapshotResponse;
  'tso.v1.RestoreRequest': RestoreRequest;
  'tso.v1.RestoreResponse': RestoreResponse;
  'tso.v1.CompareRequest': CompareRequest;
  'tso.v1.CompareResponse': CompareResponse;
  'tso.v1.StatusRequest': StatusRequest;
  'tso.v1.NodeStatus': NodeStatus;
  'tso.v1.StatusResponse': StatusResponse;
  'tso.v1.Chunk': Chunk;
  'tso.v1.GradientShard': GradientShard;
  'tso.v1.Update': Update;
  'tso.v1.WeightsAnnounce': WeightsAnnounce;
  'tso.v1.Ack': Ack;
  'tso.v1.Checksum': Checksum;
  'tso.v1.CoordinatorLease': CoordinatorLease;
  'tso.v1.MemberRecord': MemberRecord;
  'tso.v1.ResponseBatch': ResponseBatch;
  'grpc.health.v1.HealthCheckRequest': HealthCheckRequest;
  'grpc.health.v1.HealthCheckResponse': HealthCheckResponse;
}

export type TypeName = keyof Messages;

/** Every key of Messages, at runtime (checked against the loaded .proto files by a unit test). */
export const TYPE_NAMES = [
  'tso.v1.Tokenizer',
  'tso.v1.SamplingParams',
  'tso.v1.Prompt',
  'tso.v1.Lineage',
  'tso.v1.ParamSpec',
  'tso.v1.NodeInfo',
  'tso.v1.DescribeRequest',
  'tso.v1.GenerateRequest',
  'tso.v1.GenerateResponse',
  'tso.v1.ScorePair',
  'tso.v1.ScoreRequest',
  'tso.v1.PairScore',
  'tso.v1.ScoreResponse',
  'tso.v1.WeightChunk',
  'tso.v1.LoadWeightsResponse',
  'tso.v1.LossOptions',
  'tso.v1.TrainPair',
  'tso.v1.GradientRequest',
  'tso.v1.GradientSummary',
  'tso.v1.OptimizerOptions',
  'tso.v1.SnapshotRequest',
  'tso.v1.SnapshotResponse',
  'tso.v1.RestoreRequest',
  'tso.v1.RestoreResponse',
  'tso.v1.CompareRequest',
  'tso.v1.CompareResponse',
  'tso.v1.StatusRequest',
  'tso.v1.NodeStatus',
  'tso.v1.StatusResponse',
  'tso.v1.Chunk',
  'tso.v1.GradientShard',
  'tso.v1.Update',
  'tso.v1.WeightsAnnounce',
  'tso.v1.Ack',
  'tso.v1.Checksum',
  'tso.v1.CoordinatorLease',
  'tso.v1.MemberRecord',
  'tso.v1.ResponseBatch',
  'grpc.health.v1.HealthCheckRequest',
  'grpc.health.v1.HealthCheckResponse',
] as const satisfies readonly TypeName[];

/**
 * What encoders accept: any subset of the fields (proto3: an omitted field is its default),
 * recursively. Byte fields stay Uint8Array.
 */
export type DeepPartial<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

export type MessageInput<K extends TypeName> = DeepPartial<Messages[K]>;
