import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidNameError, ProtocolError } from '../../src/transport/errors.js';
import { receiveWeights, weightChunks } from '../../src/transport/grpc/weight-chunks.js';
import { decode, encode } from '../../src/transport/proto/codec.js';
import { WeightTarget } from '../../src/transport/proto/enums.js';
import type { WeightChunk } from '../../src/transport/proto/types.js';

const blob = randomBytes(10_000);
const params = [{ name: 'w', shape: [50, 50] }];

/** Chunks as a node receives them (decoded, defaults filled). */
function chunks(over: (c: WeightChunk, i: number) => WeightChunk = (c) => c): WeightChunk[] {
  return weightChunks({ version: 'v7', data: blob, target: WeightTarget.REFERENCE, params }, 3000)
    .map((c) => decode('tso.v1.WeightChunk', encode('tso.v1.WeightChunk', c)))
    .map(over);
}

async function* stream(xs: WeightChunk[]): AsyncGenerator<WeightChunk> {
  yield* xs;
}

describe('LoadWeights chunk framing', () => {
  it('splits and reassembles a blob, params in chunk 0', async () => {
    const cs = chunks();
    expect(cs.map((c) => c.data.byteLength)).toEqual([3000, 3000, 3000, 1000]);
    expect(cs[0].params).toEqual(params);
    expect(cs[1].params).toEqual([]);
    const got = await receiveWeights(stream(cs));
    expect(Buffer.from(got.data).equals(blob)).toBe(true);
    expect(got).toMatchObject({ version: 'v7', target: WeightTarget.REFERENCE, params });
  });

  it('refuses a SHA-256 mismatch', async () => {
    const cs = chunks((c, i) => (i === 2 ? { ...c, data: Uint8Array.from(c.data, (x) => x ^ 1) } : c));
    await expect(receiveWeights(stream(cs))).rejects.toThrow(IntegrityError);
    await expect(receiveWeights(stream(cs))).rejects.toThrow(/sha256 mismatch/);
  });

  it('refuses bad framing', async () => {
    const cs = chunks();
    await expect(receiveWeights(stream([cs[1], cs[0], cs[2], cs[3]]))).rejects.toThrow(/out of order/);
    await expect(receiveWeights(stream(cs.slice(0, 3)))).rejects.toThrow(/got 3 of 4 chunks/);
    await expect(receiveWeights(stream([]))).rejects.toThrow(ProtocolError);
    const other = chunks((c, i) => (i === 1 ? { ...c, version: 'v8' } : c));
    await expect(receiveWeights(stream(other))).rejects.toThrow(/disagrees/);
    const bigger = chunks((c, i) => (i === 3 ? { ...c, data: new Uint8Array(2000) } : c));
    await expect(receiveWeights(stream(bigger))).rejects.toThrow(IntegrityError);
    const noTarget = chunks((c) => ({ ...c, target: WeightTarget.UNSPECIFIED }));
    await expect(receiveWeights(stream(noTarget))).rejects.toThrow(/target is unspecified/);
    const badName = chunks((c) => ({ ...c, version: '../etc' }));
    await expect(receiveWeights(stream(badName))).rejects.toThrow(InvalidNameError);
    await expect(receiveWeights(stream(cs), 5000)).rejects.toThrow(/exceed the limit/);
  });
});
