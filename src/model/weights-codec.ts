// Weights as bytes for the network and the object store: a small JSON header (config, parameter order,
// shapes) followed by raw little-endian float32 values in parameter order.
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { GPTConfigSchema, paramSpecs, type GPTConfig } from './config.js';
import { WeightsIntegrityError } from './errors.js';

const MAGIC = 0x574f5354; // "TSOW" read as little-endian u32

if (endianness() !== 'LE')
  throw new Error('tso weights are little-endian; big-endian hosts are not supported');

export interface WeightsHeader {
  config: GPTConfig;
  paramOrder: string[];
  shapes: number[][];
  version?: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Concatenates parameter arrays (spec order) into one Float32Array view of raw bytes. */
export function concatParams(values: Float32Array[]): Uint8Array {
  const n = values.reduce((a, v) => a + v.length, 0);
  const flat = new Float32Array(n);
  let off = 0;
  for (const v of values) {
    flat.set(v, off);
    off += v.length;
  }
  return new Uint8Array(flat.buffer);
}

/** Splits raw float32 bytes back into arrays for the given shapes, checking the total size. */
export function splitParams(raw: Uint8Array, shapes: number[][]): Float32Array[] {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (raw.byteLength !== total * 4) {
    throw new WeightsIntegrityError(`weights hold ${raw.byteLength} bytes, the layout needs ${total * 4}`);
  }
  // Copy into an aligned buffer: the source may sit at any byte offset.
  const flat = new Float32Array(total);
  new Uint8Array(flat.buffer).set(raw);
  let off = 0;
  return sizes.map((n) => {
    const a = flat.subarray(off, off + n);
    off += n;
    return a;
  });
}

/** Checks that a header describes exactly the parameters its config implies, in order. */
export function checkLayout(config: GPTConfig, paramOrder: string[], shapes: number[][]): void {
  const specs = paramSpecs(config);
  if (paramOrder.length !== specs.length || shapes.length !== specs.length) {
    throw new WeightsIntegrityError(
      `layout lists ${paramOrder.length} parameters, the config needs ${specs.length}`,
    );
  }
  specs.forEach((s, i) => {
    if (paramOrder[i] !== s.name)
      throw new WeightsIntegrityError(`parameter ${i} is "${paramOrder[i]}", expected "${s.name}"`);
    if (shapes[i].join(',') !== s.shape.join(',')) {
      throw new WeightsIntegrityError(`parameter ${s.name} has shape [${shapes[i]}], expected [${s.shape}]`);
    }
  });
}

export function encodeWeights(config: GPTConfig, values: Float32Array[], version?: string): Uint8Array {
  const specs = paramSpecs(config);
  const header: WeightsHeader = {
    config,
    paramOrder: specs.map((s) => s.name),
    shapes: specs.map((s) => s.shape),
    version,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 4) * 4;
  const body = concatParams(values);
  const out = new Uint8Array(8 + padded + body.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, padded, true);
  out.fill(0x20, 8, 8 + padded); // JSON padded with spaces
  out.set(json, 8);
  out.set(body, 8 + padded);
  return out;
}

export function decodeWeights(
  bytes: Uint8Array,
  expectedSha256?: string,
): { header: WeightsHeader; values: Float32Array[] } {
  if (expectedSha256 !== undefined) {
    const got = sha256Hex(bytes);
    if (got !== expectedSha256)
      throw new WeightsIntegrityError(`weights sha256 ${got} does not match the expected ${expectedSha256}`);
  }
  if (bytes.byteLength < 8) throw new WeightsIntegrityError('weights payload is too short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC)
    throw new WeightsIntegrityError('not a tso weights payload (bad magic)');
  const len = dv.getUint32(4, true);
  if (8 + len > bytes.byteLength)
    throw new WeightsIntegrityError('weights header runs past the end of the payload');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
  } catch (e) {
    throw new WeightsIntegrityError(`weights header is not valid JSON: ${(e as Error).message}`);
  }
  const h = parsed as Partial<WeightsHeader>;
  const cfg = GPTConfigSchema.safeParse(h.config);
  if (!cfg.success)
    throw new WeightsIntegrityError(`weights header has an invalid config: ${cfg.error.issues[0]?.message}`);
  if (!Array.isArray(h.paramOrder) || !Array.isArray(h.shapes))
    throw new WeightsIntegrityError('weights header lacks paramOrder/shapes');
  checkLayout(cfg.data, h.paramOrder, h.shapes);
  const values = splitParams(bytes.subarray(8 + len), h.shapes);
  return {
    header: { config: cfg.data, paramOrder: h.paramOrder, shapes: h.shapes, version: h.version },
    values,
  };
}
