// The public library surface of tso. Everything else is internal and may change.

// Losses and metrics (pure functions over tfjs tensors).
export {
  dpoLoss,
  ipoLoss,
  dualClipLoss,
  sftLoss,
  preferenceLoss,
  clipBounds,
  LOSS_NAMES,
  CLIP_UNITS,
} from './tso/losses.js';
export type { PreferenceLogProbs, LossOptions, DualClipOptions, LossName, ClipUnits } from './tso/losses.js';
export { preferenceMetrics } from './tso/preference-metrics.js';
export type { PreferenceMetrics } from './tso/preference-metrics.js';

// Backends.
export { initBackend, currentBackend } from './backend/select-backend.js';
export type { BackendName, BackendInfo } from './backend/select-backend.js';

// The model.
export { GPT } from './model/gpt.js';
export { DEFAULT_GPT_CONFIG, GPTConfigSchema, paramCount } from './model/config.js';
export type { GPTConfig } from './model/config.js';
export { ByteTokenizer, BOS_ID, EOS_ID, PAD_ID, BYTE_VOCAB_SIZE } from './model/tokenizer.js';
export { generate } from './model/generate.js';
export type { GenerateOptions, Generation } from './model/generate.js';
export { sampleToken, GREEDY } from './model/sampling.js';
export type { SamplingParams } from './model/sampling.js';
export { AdamW, DEFAULT_ADAMW, NonFiniteGradientError, warmupLr } from './model/adamw.js';
export { computeFlatGradient, averageGradients } from './model/gradients.js';
export { saveModel, loadModel, loadModelWeights, weightsChecksum } from './model/checkpoint.js';
export { encodeWeights, decodeWeights, sha256Hex } from './model/weights-codec.js';
export { WeightsIntegrityError } from './model/errors.js';
export { promptIds, responseText, encodePairsForScoring } from './model/prompt-format.js';

// One preference step, and the TSO loop over any TrainingPort.
export { preferenceGradient, sequenceLogProbs } from './tso/dpo-step.js';
export { runTso } from './tso/loop/run-loop.js';
export type { TrainingPort } from './tso/loop/port.js';
export { RunConfigSchema } from './tso/loop/run-config.js';
export type { RunConfig } from './tso/loop/run-config.js';
export { LocalPort } from './tso/local-port.js';

// Data.
export { readJsonl, writeJsonl } from './data/jsonl.js';
export { readPrompts, readPairs, writePairs } from './data/formats.js';
export { DataError, ConfigError } from './data/errors.js';

// Judges.
export type { Judge, Verdict } from './judges/types.js';
export { HeuristicJudge } from './judges/heuristic-judge.js';
export { makeJudge } from './judges/make-judge.js';

// OpenAI-style HTTP: the shared client, and `tso serve`'s server.
export { OpenAIClient, apiKeyFromEnv } from './http/openai-client.js';
export type {
  OpenAIClientOptions,
  CallOptions as OpenAICallOptions,
  JsonAnswer,
} from './http/openai-client.js';
export { OpenAIHttpError } from './http/openai-errors.js';
export { startServe } from './serve/serve-server.js';
export type { ServeOptions, ServeHandle } from './serve/serve-server.js';
export type { HeldoutItem, Task, TaskPrompt } from './tasks/task.js';
export { loadTask } from './tasks/load-task.js';
export { demoTask } from './tasks/demo/demo-task.js';
