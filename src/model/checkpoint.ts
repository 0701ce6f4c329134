// A model directory: tfjs-style model.json + weights.bin, plus manifest.json with the config, parameter
// order and the SHA-256 of weights.bin. Loading verifies the digest and refuses a mismatch.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GPTConfigSchema, paramSpecs, type GPTConfig } from './config.js';
import { WeightsIntegrityError } from './errors.js';
import { GPT } from './gpt.js';
import { ByteTokenizer, type TokenizerDescriptor } from './tokenizer.js';
import { checkLayout, concatParams, sha256Hex, splitParams } from './weights-codec.js';

export const WEIGHTS_FILE = 'weights.bin';

export interface ModelManifest {
  format: 'tso-gpt';
  format_version: 1;
  config: GPTConfig;
  tokenizer: TokenizerDescriptor;
  param_order: string[];
  shapes: number[][];
  weights_file: string;
  weights_bytes: number;
  sha256: string;
  weight_version?: string;
  created_at: string;
  /** Free-form provenance: training run, seed, metrics. */
  meta?: Record<string, unknown>;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function saveModel(
  model: GPT,
  dir: string,
  opts: { weightVersion?: string; meta?: Record<string, unknown> } = {},
): Promise<ModelManifest> {
  await mkdir(dir, { recursive: true });
  const bytes = concatParams(model.getWeights());
  const specs = paramSpecs(model.config);
  const manifest: ModelManifest = {
    format: 'tso-gpt',
    format_version: 1,
    config: model.config,
    tokenizer: new ByteTokenizer().describe(),
    param_order: specs.map((s) => s.name),
    shapes: specs.map((s) => s.shape),
    weights_file: WEIGHTS_FILE,
    weights_bytes: bytes.byteLength,
    sha256: sha256Hex(bytes),
    weight_version: opts.weightVersion,
    created_at: new Date().toISOString(),
    meta: opts.meta,
  };
  // tfjs's model.json layout, so tfjs tooling can read the weights manifest.
  const modelJson = {
    format: 'tso-gpt',
    generatedBy: 'tso',
    modelTopology: { config: model.config },
    weightsManifest: [
      {
        paths: [WEIGHTS_FILE],
        weights: specs.map((s) => ({ name: s.name, shape: s.shape, dtype: 'float32' })),
      },
    ],
  };
  await writeAtomic(join(dir, WEIGHTS_FILE), bytes);
  await writeAtomic(join(dir, 'model.json'), JSON.stringify(modelJson, null, 2) + '\n');
  await writeAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, 'manifest.json');
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch {
    throw new WeightsIntegrityError(`${path}: no manifest: is ${dir} a tso model directory?`);
  }
  let m: ModelManifest;
  try {
    m = JSON.parse(raw) as ModelManifest;
  } catch (e) {
    throw new WeightsIntegrityError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== 'tso-gpt')
    throw new WeightsIntegrityError(`${path}: format is "${m.format}", expected "tso-gpt"`);
  const cfg = GPTConfigSchema.safeParse(m.config);
  if (!cfg.success)
    throw new WeightsIntegrityError(`${path}: invalid config: ${cfg.error.issues[0]?.message}`);
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256))
    throw new WeightsIntegrityError(`${path}: sha256 missing or malformed`);
  if (!Array.isArray(m.param_order) || !Array.isArray(m.shapes))
    throw new WeightsIntegrityError(`${path}: param_order/shapes missing`);
  checkLayout(cfg.data, m.param_order, m.shapes);
  return { ...m, config: cfg.data };
}

/** Loads the weights of a model directory after checking their SHA-256 against the manifest. */
export async function loadModelWeights(
  dir: string,
): Promise<{ manifest: ModelManifest; values: Float32Array[] }> {
  const manifest = await readManifest(dir);
  const path = join(dir, manifest.weights_file);
  const bytes = new Uint8Array(await readFile(path));
  const digest = sha256Hex(bytes);
  if (digest !== manifest.sha256) {
    throw new WeightsIntegrityError(
      `${path}: SHA-256 mismatch (manifest ${manifest.sha256}, file ${digest}): the weights were changed or corrupted; refusing to load`,
    );
  }
  return { manifest, values: splitParams(bytes, manifest.shapes) };
}

export async function loadModel(
  dir: string,
  trainable = true,
): Promise<{ model: GPT; manifest: ModelManifest }> {
  const { manifest, values } = await loadModelWeights(dir);
  return { model: GPT.fromArrays(manifest.config, values, trainable), manifest };
}

/**
 * SHA-256 of a model's current weights (the checksum replicas compare): the digest of the concatenated
 * float32 bytes, hashed array by array straight from each tensor's data, without copying them into
 * one buffer first (a replica computes it twice per optimizer step).
 */
export function weightsChecksum(model: GPT): string {
  const h = createHash('sha256');
  for (const v of model.vars) {
    const a = v.dataSync() as Float32Array;
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}
