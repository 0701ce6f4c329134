// Model directories (model.json + weights.bin + manifest.json) and the weights wire format: exact round
// trips, and every kind of damage refused with WeightsIntegrityError before anything is loaded.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { loadModel, saveModel, weightsChecksum, type ModelManifest } from '../../src/model/checkpoint.js';
import { paramCount, paramSpecs, type GPTConfig } from '../../src/model/config.js';
import { WeightsIntegrityError } from '../../src/model/errors.js';
import { GPT } from '../../src/model/gpt.js';
import { decodeWeights, encodeWeights, sha256Hex } from '../../src/model/weights-codec.js';

const C: GPTConfig = { vocabSize: 259, blockSize: 16, nLayer: 1, nHead: 2, dModel: 16 };
const BYTES = paramCount(C) * 4;
let model: GPT;
let root: string;
let n = 0;
const freshDir = () => join(root, `m${n++}`);
const toDispose: GPT[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  model = GPT.create(C, 99);
  root = await mkdtemp(join(tmpdir(), 'tso-checkpoint-'));
});
afterEach(() => toDispose.splice(0).forEach((m) => m.dispose()));
afterAll(async () => {
  model.dispose();
  await rm(root, { recursive: true, force: true });
});

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;

/** Saves the model, lets `damage` change the directory, and returns loadModel's rejection. */
async function loadError(damage: (dir: string) => Promise<void>): Promise<Error> {
  const dir = freshDir();
  await saveModel(model, dir);
  await damage(dir);
  const err = await loadModel(dir).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(WeightsIntegrityError);
  return err as Error;
}

async function editManifest(dir: string, edit: (m: ModelManifest) => void): Promise<void> {
  const path = join(dir, 'manifest.json');
  const m = (await readJson(path)) as unknown as ModelManifest;
  edit(m);
  await writeFile(path, JSON.stringify(m));
}

describe('saveModel / loadModel', () => {
  it('round-trips bit-identically and writes model.json, weights.bin and manifest.json', async () => {
    const dir = freshDir();
    const saved = await saveModel(model, dir, { weightVersion: 'v7', meta: { run: 'unit' } });
    expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);

    const bin = await readFile(join(dir, 'weights.bin'));
    expect(bin.byteLength).toBe(BYTES);
    const sha = createHash('sha256').update(bin).digest('hex');
    // Raw little-endian float32 in parameter order: the first value is wte[0].
    expect(bin.readFloatLE(0)).toBe(model.getWeights()[0][0]);
    expect(bin.readFloatLE(BYTES - 4)).toBe(model.getWeights().at(-1)?.at(-1));

    const specs = paramSpecs(C);
    const manifest = await readJson(join(dir, 'manifest.json'));
    expect(manifest).toMatchObject({
      format: 'tso-gpt',
      format_version: 1,
      config: C,
      tokenizer: { type: 'byte', vocab_size: 259, bos: 256, eos: 257, pad: 258 },
      param_order: specs.map((s) => s.name),
      shapes: specs.map((s) => s.shape),
      weights_file: 'weights.bin',
      weights_bytes: BYTES,
      sha256: sha,
      weight_version: 'v7',
      meta: { run: 'unit' },
    });
    expect(saved).toEqual(manifest);
    expect(sha).toBe(weightsChecksum(model));

    const modelJson = await readJson(join(dir, 'model.json'));
    expect(modelJson.modelTopology).toEqual({ config: C });
    expect(modelJson.weightsManifest).toEqual([
      {
        paths: ['weights.bin'],
        weights: specs.map((s) => ({ name: s.name, shape: s.shape, dtype: 'float32' })),
      },
    ]);

    const { model: loaded, manifest: m2 } = await loadModel(dir);
    toDispose.push(loaded);
    expect(weightsChecksum(loaded)).toBe(weightsChecksum(model));
    expect(loaded.config).toEqual(C);
    expect(m2).toEqual(manifest);
    expect(loaded.vars.every((v) => v.trainable)).toBe(true);
    const frozen = (await loadModel(dir, false)).model;
    toDispose.push(frozen);
    expect(frozen.vars.some((v) => v.trainable)).toBe(false);
  });

  it('refuses a weights.bin with one flipped byte, naming the file and the SHA-256 mismatch', async () => {
    let path = '';
    const err = await loadError(async (dir) => {
      path = join(dir, 'weights.bin');
      const bin = await readFile(path);
      bin[1234] ^= 0x01;
      await writeFile(path, bin);
    });
    expect(err.message).toContain('SHA-256 mismatch');
    expect(err.message).toContain(path);
  });

  it('refuses a truncated weights.bin, with or without a matching digest', async () => {
    const e1 = await loadError(async (dir) => {
      const path = join(dir, 'weights.bin');
      await writeFile(path, (await readFile(path)).subarray(0, BYTES - 4));
    });
    expect(e1.message).toContain('SHA-256 mismatch');
    // Even a manifest re-signed for the short file does not get past the layout check.
    const e2 = await loadError(async (dir) => {
      const path = join(dir, 'weights.bin');
      const short = (await readFile(path)).subarray(0, BYTES - 4);
      await writeFile(path, short);
      await editManifest(dir, (m) => (m.sha256 = sha256Hex(short)));
    });
    expect(e2.message).toBe(`weights hold ${BYTES - 4} bytes, the layout needs ${BYTES}`);
  });

  it('a directory without manifest.json gives a clear message', async () => {
    const err = await loadError((dir) => rm(join(dir, 'manifest.json')));
    expect(err.message).toMatch(/manifest\.json: no manifest: is .* a tso model directory\?/);
    const empty = freshDir();
    await expect(loadModel(empty)).rejects.toThrow(`${join(empty, 'manifest.json')}: no manifest`);
  });

  it.each<[string, (m: ModelManifest) => void, RegExp]>([
    [
      'swapped param_order',
      (m) => ([m.param_order[2], m.param_order[3]] = [m.param_order[3], m.param_order[2]]),
      /parameter 2 is "h\.0\.ln_1\.b", expected "h\.0\.ln_1\.g"/,
    ],
    ['a missing parameter', (m) => m.param_order.pop(), /layout lists 16 parameters, the config needs 17/],
    [
      'a wrong shape',
      (m) => (m.shapes[0] = [16, 259]),
      /parameter wte has shape \[16,259\], expected \[259,16\]/,
    ],
    ['no param_order at all', (m) => delete (m as Partial<ModelManifest>).param_order, /param_order/],
    [
      'another format',
      (m) => ((m as { format: string }).format = 'keras'),
      /format is "keras", expected "tso-gpt"/,
    ],
    ['an invalid config', (m) => (m.config.nHead = 3), /invalid config/],
    ['a malformed sha256', (m) => (m.sha256 = 'abc'), /sha256 missing or malformed/],
  ])('refuses a manifest with %s', async (_name, edit, msg) => {
    const err = await loadError((dir) => editManifest(dir, edit));
    expect(err.message).toMatch(msg);
  });

  it('refuses a manifest that is not JSON', async () => {
    const err = await loadError((dir) => writeFile(join(dir, 'manifest.json'), '{"format": "tso-gpt",'));
    expect(err.message).toMatch(/manifest\.json: not valid JSON/);
  });
});

describe('encodeWeights / decodeWeights', () => {
  const values = () => model.getWeights();

  it('round-trips exactly, with the documented layout', () => {
    const bytes = encodeWeights(C, values(), 'v3');
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('TSOW');
    const headerLen = dv.getUint32(4, true);
    expect(headerLen % 4).toBe(0);
    expect(bytes.byteLength).toBe(8 + headerLen + BYTES);
    const { header, values: back } = decodeWeights(bytes, sha256Hex(bytes));
    expect(header).toEqual({
      config: C,
      paramOrder: paramSpecs(C).map((s) => s.name),
      shapes: paramSpecs(C).map((s) => s.shape),
      version: 'v3',
    });
    expect(back).toEqual(values());
    // The body is exactly weights.bin's bytes.
    expect(sha256Hex(bytes.subarray(8 + headerLen))).toBe(weightsChecksum(model));
  });

  it('decodes a payload at any byte offset of a larger buffer', () => {
    const bytes = encodeWeights(C, values());
    const big = new Uint8Array(bytes.byteLength + 3);
    big.set(bytes, 1);
    expect(decodeWeights(big.subarray(1, 1 + bytes.byteLength)).values).toEqual(values());
  });

  /** A payload with `header` as its JSON and `body` bytes after it. */
  function craft(header: unknown, body: Uint8Array): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + body.byteLength);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, 0x574f5354, true);
    dv.setUint32(4, json.length, true);
    out.set(json, 8);
    out.set(body, 8 + json.length);
    return out;
  }

  it.each<[string, (b: Uint8Array) => Uint8Array, RegExp]>([
    ['a bad magic', (b) => ((b[0] ^= 1), b), /bad magic/],
    ['a short payload', (b) => b.subarray(0, 6), /too short/],
    [
      'a header length past the end',
      (b) => (new DataView(b.buffer).setUint32(4, b.byteLength, true), b),
      /runs past the end/,
    ],
    ['a header that is not JSON', (b) => ((b[8] = 0x21), b), /header is not valid JSON/],
    [
      'a missing float',
      (b) => b.subarray(0, b.byteLength - 4),
      /weights hold \d+ bytes, the layout needs \d+/,
    ],
    ['an extra float', (b) => Uint8Array.from([...b, 0, 0, 0, 0]), /the layout needs/],
  ])('refuses %s', (_name, damage, msg) => {
    const bytes = damage(encodeWeights(C, values()));
    expect(() => decodeWeights(bytes)).toThrow(WeightsIntegrityError);
    expect(() => decodeWeights(bytes)).toThrow(msg);
  });

  it('refuses a payload whose SHA-256 is not the expected one, and headers that lie', () => {
    const bytes = encodeWeights(C, values());
    const sha = sha256Hex(bytes);
    const flipped = bytes.slice();
    flipped[flipped.length - 1] ^= 0x80;
    expect(() => decodeWeights(flipped, sha)).toThrow(WeightsIntegrityError);
    expect(() => decodeWeights(flipped, sha)).toThrow(`does not match the expected ${sha}`);
    const body = bytes.subarray(bytes.byteLength - BYTES);
    const specs = paramSpecs(C);
    const good = { config: C, paramOrder: specs.map((s) => s.name), shapes: specs.map((s) => s.shape) };
    expect(decodeWeights(craft(good, body)).values).toEqual(values());
    const cases: [unknown, RegExp][] = [
      [{ ...good, config: { ...C, dModel: 15 } }, /invalid config/],
      [{ ...good, paramOrder: undefined }, /lacks paramOrder\/shapes/],
      [
        { ...good, paramOrder: [...good.paramOrder].reverse() },
        /parameter 0 is "lm_head\.w", expected "wte"/,
      ],
      [{ ...good, config: { ...C, nLayer: 2 } }, /layout lists 17 parameters, the config needs 29/],
    ];
    for (const [header, msg] of cases) {
      expect(() => decodeWeights(craft(header, body))).toThrow(WeightsIntegrityError);
      expect(() => decodeWeights(craft(header, body))).toThrow(msg);
    }
  });
});
