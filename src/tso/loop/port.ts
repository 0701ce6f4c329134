// What the TSO loop needs from wherever the models live. The coordinator implements it over gRPC and
// NATS; tests and ablations implement it in-process. The loop itself never imports a transport.
import type { Judge } from '../../judges/types.js';
import type { PreferenceMetrics } from '../preference-metrics.js';
import type { CandidateSource } from '../prior.js';
import type { LossConfig } from '../dpo-step.js';

export interface SamplingRequest {
  temperature: number;
  topK: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}

export interface GeneratedResponse {
  promptId: string;
  text: string;
  source: Exclude<CandidateSource, 'human'>;
  tier: number;
  node: string;
  model: string;
  weightVersion: string;
  sampling: SamplingRequest;
  /** The per-sample seed actually used. */
  seed: number;
}

/** Work that could not be done (a node died and no live node serves the same model). */
export interface MissingWork {
  node: string;
  model: string;
  prompts: number;
  reason: string;
}

export interface GenerateRequest {
  iteration: number;
  prompts: { id: string; text: string }[];
  samplesPerNode: number;
  policySamples: number;
  sampling: SamplingRequest;
}

export interface GenerateResult {
  responses: GeneratedResponse[];
  missing: MissingWork[];
  /** Tiers of the generators that took part (the prior needs them all). */
  generatorTiers: number[];
}

export interface TrainPair {
  prompt: string;
  chosen: string;
  rejected: string;
  weight: number;
  /** The chosen side is verified (human response, human label, confident judge): the NLL anchor applies. */
  anchor: boolean;
  refChosen: number;
  refRejected: number;
}

export interface TrainStepResult {
  loss: number;
  metrics: PreferenceMetrics;
  /** Weight checksum reported by each replica after the update (all equal, or the port throws). */
  checksums: Record<string, string>;
  /** Replicas whose shard was re-assigned during this step. */
  reassigned: string[];
  /** Set when the step was refused (a non-finite gradient): no weights changed. */
  refused?: string;
  /** Cluster steps: wall time, and the slowest replica's gradient computation within it. */
  timing?: StepTiming;
}

export interface StepTiming {
  stepMs: number;
  computeMs: number;
}

export interface NodeEvent {
  at: string;
  node: string;
  /**
   * lost: unreachable or silent (its work fails over); error: it answered a call with an error status
   * (it keeps serving); fallback: work done another way (another judge node, or the prior); retry:
   * answers lost in flight (a NATS restart) were asked for again.
   */
  kind: 'lost' | 'joined' | 'rerouted' | 'refused' | 'error' | 'fallback' | 'retry';
  detail: string;
}

export type RestoreReference = 'policy' | 'initial';

export interface TrainingPort {
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /** The AI-feedback judge (absent when no judge is configured). */
  judge(): Judge | undefined;
  /** Summed response log-probs under the current reference, one per row. */
  referenceLogProbs(rows: { prompt: string; response: string }[]): Promise<number[]>;
  /** One optimizer step over `pairs` (the port splits them across replicas). */
  trainStep(step: number, pairs: TrainPair[], loss: LossConfig): Promise<TrainStepResult>;
  /** reference ← policy on every replica; the new version is stored and announced. */
  refreshReference(version: string): Promise<{ version: string; sha256: string; acks: string[] }>;
  /** The current policy weights (tso weights codec bytes) and optimizer state (for checkpoints). */
  snapshot(): Promise<{ weights: Uint8Array; optimizer: Uint8Array; version: string }>;
  /**
   * Puts every replica back to a snapshot (resume). The reference becomes the restored policy
   * ('policy', default: an iterative reference equals the policy at a mini-batch boundary) or the
   * run's initial policy weights, v0 ('initial': a fixed reference never moves, across resumes too).
   */
  restore(
    s: { weights: Uint8Array; optimizer: Uint8Array; version: string },
    opts?: { reference?: RestoreReference },
  ): Promise<void>;
  /** Membership changes and failures since the last call. */
  drainEvents(): NodeEvent[];
}
