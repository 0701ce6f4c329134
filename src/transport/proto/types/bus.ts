// Messages of bus.proto (NATS payloads) and grpc/health/v1/health.proto (see ../types.ts).
import type { Role, ServingStatus, WeightTarget } from '../enums.js';
import type { GenerateResponse, ParamSpec } from './control.js';

// ---- bus.proto (NATS payloads)
export interface Chunk {
  streamId: string;
  index: number;
  count: number;
  totalBytes: number;
  sha256: string;
  data: Uint8Array;
  contentType: string;
}
export interface GradientShard {
  runId: string;
  step: number;
  replica: number;
  pairs: number;
  loss: number;
  grad: Uint8Array;
  checksum: string;
  weightVersion: string;
  nodeId: string;
  metrics: Record<string, number>;
  runEpoch: number;
}
export interface Update {
  runId: string;
  step: number;
  grad: Uint8Array;
  contributors: number[];
  checksum: string;
  baseWeightVersion: string;
  runEpoch: number;
  /** Hex SHA-256 of the flat float32 weights the update applies to. */
  baseWeightsSha256: string;
}
export interface WeightsAnnounce {
  runId: string;
  version: string;
  sha256: string;
  bucket: string;
  objectName: string;
  bytes: number;
  params: ParamSpec[];
  target: WeightTarget;
  step: number;
  createdAtMs: number;
  runEpoch: number;
}
export interface Ack {
  nodeId: string;
  version: string;
  ok: boolean;
  error: string;
  target: WeightTarget;
  runId: string;
  runEpoch: number;
}
export interface Checksum {
  runId: string;
  step: number;
  replica: number;
  /** Empty: the update was refused (see error). */
  sha256: string;
  nodeId: string;
  weightVersion: string;
  runEpoch: number;
  updateSha256: string;
  error: string;
}
export interface CoordinatorLease {
  runId: string;
  runInstance: string;
  holder: string;
  hostname: string;
  pid: number;
  acquiredAtMs: number;
  renewedAtMs: number;
}
export interface MemberRecord {
  nodeId: string;
  role: Role;
  modelName: string;
  tier: number;
  backend: string;
  address: string;
  replica: number;
  weightVersion: string;
  startedAtMs: number;
  pid: number;
  heartbeatAtMs: number;
  hostname: string;
}
export interface ResponseBatch {
  runId: string;
  iteration: number;
  nodeId: string;
  responses: GenerateResponse[];
  seq: number;
  last: boolean;
  error: string;
}

// ---- grpc/health/v1/health.proto
export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}
