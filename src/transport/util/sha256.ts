import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256 of the bytes (or of several byte arrays, concatenated). */
export function sha256Hex(data: Uint8Array | readonly Uint8Array[]): string {
  const h = createHash('sha256');
  if (data instanceof Uint8Array) h.update(data);
  else for (const part of data) h.update(part);
  return h.digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

export function isSha256Hex(s: string): boolean {
  return HEX64.test(s);
}
