// Messages of common.proto, model_node.proto, judge.proto and coordinator.proto (see ../types.ts).
import type { ClipUnits, LossKind, Phase, ResponseSource, Role, Verdict, WeightTarget } from '../enums.js';

// ---- common.proto
export interface Tokenizer {
  type: string;
  vocabSize: number;
  bosId: number;
  eosId: number;
  padId: number;
}
export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}
export interface Prompt {
  id: string;
  text: string;
}
export interface Lineage {
  nodeId: string;
  modelName: string;
  weightVersion: string;
  sampling?: SamplingParams;
  seed: number;
  tier: number;
  source: ResponseSource;
}
export interface ParamSpec {
  name: string;
  shape: number[];
}
export interface NodeInfo {
  nodeId: string;
  role: Role;
  modelName: string;
  tier: number;
  backend: string;
  paramCount: number;
  weightVersion: string;
  tokenizer?: Tokenizer;
  address: string;
  replica: number;
  referenceVersion: string;
  startedAtMs: number;
  software: string;
}

// ---- model_node.proto
export type DescribeRequest = Record<string, never>;
export interface GenerateRequest {
  runId: string;
  iteration: number;
  prompts: Prompt[];
  n: number;
  sampling?: SamplingParams;
  /** Empty = any version. */
  expectedWeightVersion: string;
  publishSubject: string;
}
export interface GenerateResponse {
  promptId: string;
  sampleIndex: number;
  text: string;
  tokenIds: number[];
  logprobSum: number;
  lineage?: Lineage;
  finishReason: string;
}
export interface ScorePair {
  id: string;
  prompt: string;
  response: string;
}
export interface ScoreRequest {
  pairs: ScorePair[];
  /** Empty = any version. */
  expectedWeightVersion: string;
  includeReference: boolean;
}
export interface PairScore {
  id: string;
  policyLogprob: number;
  referenceLogprob: number;
  responseTokens: number;
}
export interface ScoreResponse {
  scores: PairScore[];
  policyVersion: string;
  referenceVersion: string;
}
export interface WeightChunk {
  version: string;
  sha256: string;
  totalBytes: number;
  index: number;
  count: number;
  data: Uint8Array;
  target: WeightTarget;
  params: ParamSpec[];
}
export interface LoadWeightsResponse {
  version: string;
  sha256: string;
  bytesReceived: number;
  target: WeightTarget;
  policyVersion: string;
  referenceVersion: string;
}
export interface LossOptions {
  kind: LossKind;
  beta: number;
  clipChosen: number;
  clipRejected: number;
  sftWeight: number;
  /** UNSPECIFIED reads as SEQUENCE (senders from before the field). */
  clipUnits: ClipUnits;
}
export interface TrainPair {
  id: string;
  prompt: string;
  chosen: string;
  rejected: string;
  weight: number;
  refChosenLogprob: number;
  refRejectedLogprob: number;
  /** The NLL anchor applies to this pair's chosen side. */
  anchor: boolean;
}
export interface GradientRequest {
  runId: string;
  step: number;
  replica: number;
  pairs: TrainPair[];
  loss?: LossOptions;
  /** Empty = any version. */
  expectedWeightVersion: string;
  totalPairs: number;
  runEpoch: number;
}
export interface GradientSummary {
  step: number;
  replica: number;
  pairs: number;
  loss: number;
  metrics: Record<string, number>;
  gradSha256: string;
  gradBytes: number;
  weightVersion: string;
  subject: string;
  /** Wall time of the gradient computation on the replica (not the publish). */
  computeMs: number;
}

export interface OptimizerOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
  /** Linear lr warm-up over the first N optimizer steps; 0 = off. */
  warmupSteps: number;
  /** Cosine decay after the warm-up, ending at this optimizer step; 0 = constant lr. */
  decaySteps: number;
  /** Where the cosine decay ends, as a fraction of lr. */
  minLrFraction: number;
}
export interface SnapshotRequest {
  runId: string;
  version: string;
  includeOptimizer: boolean;
}
export interface SnapshotResponse {
  version: string;
  sha256: string;
  bytes: number;
  optimizerObject: string;
  optimizerSha256: string;
  optimizerBytes: number;
  optimizerStep: number;
}
export interface RestoreRequest {
  runId: string;
  version: string;
  /** Empty = fresh optimizer state. */
  optimizerObject: string;
  optimizer?: OptimizerOptions;
  /** Weights object to load as the reference; empty = `version`. */
  referenceVersion: string;
  /** Binds the replica to this run epoch. */
  runEpoch: number;
}
export interface RestoreResponse {
  version: string;
  checksum: string;
  optimizerStep: number;
}

// ---- judge.proto
export interface CompareRequest {
  prompt: string;
  responseA: string;
  responseB: string;
  requestId: string;
}
export interface CompareResponse {
  verdict: Verdict;
  confidence: number;
  raw: string;
  unparsable: boolean;
}

// ---- coordinator.proto
export type StatusRequest = Record<string, never>;
export interface NodeStatus {
  info?: NodeInfo;
  alive: boolean;
  lost: boolean;
  lastSeenMs: number;
  note: string;
}
export interface StatusResponse {
  runId: string;
  iteration: number;
  totalIterations: number;
  phase: Phase;
  nodes: NodeStatus[];
  progress: number;
  startedAtMs: number;
  step: number;
  message: string;
  uiUrl: string;
}
