import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/transport/proto/codec.js';
import { ChunkAssembler, chunkDataBytes, splitIntoChunks } from '../../src/transport/nats/chunking.js';
import { sha256Hex } from '../../src/transport/util/sha256.js';

function shuffle<T>(xs: T[], seed = 7): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('chunk framing', () => {
  it('splits into chunks that fit the payload limit and reassembles in order', () => {
    const data = randomBytes(10_000);
    const chunks = splitIntoChunks(data, 3000, 'tso.v1.Update');
    expect(chunks).toHaveLength(4);
    for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(3000 + 1024);
    const asm = new ChunkAssembler();
    const results = chunks.map((c) => asm.accept(c));
    expect(results.slice(0, 3).every((r) => r.kind === 'partial')).toBe(true);
    const last = results[3];
    expect(last.kind).toBe('complete');
    if (last.kind !== 'complete') return;
    expect(Buffer.from(last.payload.data).equals(data)).toBe(true);
    expect(last.payload.contentType).toBe('tso.v1.Update');
    expect(asm.pending).toBe(0);
  });

  it('reassembles out of order, interleaved with another stream, ignoring duplicates', () => {
    const a = randomBytes(50_000);
    const b = randomBytes(20_001);
    const ca = splitIntoChunks(a, 4096, '', 'stream-a');
    const cb = splitIntoChunks(b, 4096, '', 'stream-b');
    const asm = new ChunkAssembler();
    const done = new Map<string, Uint8Array>();
    let duplicates = 0;
    for (const c of shuffle([...ca, ...cb, ca[3], cb[0]])) {
      const r = asm.accept(c);
      if (r.kind === 'complete') done.set(r.payload.streamId, r.payload.data);
      if (r.kind === 'duplicate') duplicates++;
      expect(r.kind).not.toBe('rejected');
    }
    expect(duplicates).toBe(2);
    expect(Buffer.from(done.get('stream-a') ?? []).equals(a)).toBe(true);
    expect(Buffer.from(done.get('stream-b') ?? []).equals(b)).toBe(true);
  });

  it('handles an empty payload as one chunk', () => {
    const [only] = splitIntoChunks(new Uint8Array(0), 100);
    const r = new ChunkAssembler().accept(only);
    expect(r.kind).toBe('complete');
    if (r.kind === 'complete') expect(r.payload.data.byteLength).toBe(0);
  });

  it('refuses a stream whose SHA-256 does not match', () => {
    const data = randomBytes(5000);
    const chunks = splitIntoChunks(data, 2000, '', 's1').map((c) => decode('tso.v1.Chunk', c));
    chunks[1].data = Uint8Array.from(chunks[1].data, (x) => x ^ 0xff); // corrupted in transit
    const asm = new ChunkAssembler();
    const results = chunks.map((c) => asm.accept(encode('tso.v1.Chunk', c)));
    const last = results[results.length - 1];
    expect(last.kind).toBe('rejected');
    if (last.kind === 'rejected') expect(last.reason).toMatch(/sha256 mismatch/);
    expect(asm.pending).toBe(0);
  });

  it('rejects malformed bytes and inconsistent chunks without throwing', () => {
    const asm = new ChunkAssembler();
    const garbage = asm.accept(Uint8Array.from([0x0a, 0xff, 0xff]));
    expect(garbage.kind).toBe('rejected');
    if (garbage.kind === 'rejected') expect(garbage.reason).toMatch(/malformed tso\.v1\.Chunk/);

    const sha = sha256Hex(new Uint8Array(10));
    const base = { streamId: 'x', count: 2, totalBytes: 10, sha256: sha, data: new Uint8Array(5) };
    expect(asm.accept(encode('tso.v1.Chunk', { ...base, index: 5 })).kind).toBe('rejected');
    expect(asm.accept(encode('tso.v1.Chunk', { ...base, index: 0, sha256: 'nothex' })).kind).toBe('rejected');
    expect(asm.accept(encode('tso.v1.Chunk', { ...base, index: 0 })).kind).toBe('partial');
    expect(asm.accept(encode('tso.v1.Chunk', { ...base, index: 1, count: 3 })).kind).toBe('rejected');
    expect(asm.accept(encode('tso.v1.Chunk', { ...base, index: 1, data: new Uint8Array(6) })).kind).toBe(
      'rejected',
    );
  });

  it('enforces the size limit and expires incomplete streams', () => {
    let now = 1000;
    const asm = new ChunkAssembler({ timeoutMs: 500, maxBytes: 8000, now: () => now });
    const big = splitIntoChunks(randomBytes(9000), 4000);
    expect(asm.accept(big[0]).kind).toBe('rejected');
    const ok = splitIntoChunks(randomBytes(6000), 4000, '', 'late');
    expect(asm.accept(ok[0]).kind).toBe('partial');
    now += 400;
    expect(asm.sweep()).toEqual([]);
    now += 200;
    expect(asm.sweep()).toEqual(['late']);
    expect(asm.pending).toBe(0);
  });

  it('derives the data size per chunk from max_payload', () => {
    expect(chunkDataBytes(1024 * 1024)).toBe(1024 * 1024 - 1024);
    expect(() => chunkDataBytes(1500)).toThrow(RangeError);
  });
});
