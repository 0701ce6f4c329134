// AdamW state as bytes (checkpoints, replica restore): a JSON header then m and v as raw float32.
import { WeightsIntegrityError } from './errors.js';
import type { AdamWState } from './adamw.js';

const MAGIC = 0x4f4f5354; // "TSOO"

export function encodeOptimizerState(s: AdamWState): Uint8Array {
  const sizes = s.m.map((a) => a.length);
  const header = new TextEncoder().encode(JSON.stringify({ step: s.step, sizes }));
  const hlen = Math.ceil(header.length / 4) * 4;
  const total = sizes.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(8 + hlen + total * 8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, hlen, true);
  out.fill(0x20, 8, 8 + hlen);
  out.set(header, 8);
  const body = new Float32Array(out.buffer, 8 + hlen, total * 2);
  let off = 0;
  for (const arr of [...s.m, ...s.v]) {
    body.set(arr, off);
    off += arr.length;
  }
  return out;
}

export function decodeOptimizerState(bytes: Uint8Array): AdamWState {
  if (bytes.byteLength < 8) throw new WeightsIntegrityError('optimizer state is too short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC)
    throw new WeightsIntegrityError('not a tso optimizer state (bad magic)');
  const hlen = dv.getUint32(4, true);
  let header: { step: number; sizes: number[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen))) as {
      step: number;
      sizes: number[];
    };
  } catch {
    throw new WeightsIntegrityError('optimizer state header is not valid JSON');
  }
  const total = header.sizes.reduce((a, b) => a + b, 0);
  if (bytes.byteLength !== 8 + hlen + total * 8)
    throw new WeightsIntegrityError('optimizer state has the wrong size');
  const flat = new Float32Array(total * 2);
  new Uint8Array(flat.buffer).set(bytes.subarray(8 + hlen));
  let off = 0;
  const take = () =>
    header.sizes.map((n) => {
      const a = flat.slice(off, off + n);
      off += n;
      return a;
    });
  const m = take();
  const v = take();
  return { step: header.step, m, v };
}
