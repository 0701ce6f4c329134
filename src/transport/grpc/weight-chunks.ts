// LoadWeights framing: split a weight blob into WeightChunk messages (client side) and reassemble
// + verify them (server side). The receiver checks order, consistency, size and SHA-256 before
// returning anything, so a handler swaps weights only after a fully verified transfer.
import { IntegrityError, ProtocolError } from '../errors.js';
import { WeightTarget } from '../proto/enums.js';
import type { MessageInput, ParamSpec, WeightChunk } from '../proto/types.js';
import { isSha256Hex, sha256Hex } from '../util/sha256.js';
import { token } from '../nats/subjects.js';

/** Default data bytes per WeightChunk. */
export const WEIGHT_CHUNK_BYTES = 1024 * 1024;

export interface WeightBlob {
  version: string;
  data: Uint8Array;
  target: WeightTarget;
  params?: MessageInput<'tso.v1.ParamSpec'>[];
}

/** The WeightChunk messages of a blob (params in chunk 0 only). */
export function weightChunks(
  blob: WeightBlob,
  chunkBytes = WEIGHT_CHUNK_BYTES,
): MessageInput<'tso.v1.WeightChunk'>[] {
  token('weight version', blob.version);
  const sha256 = sha256Hex(blob.data);
  const count = Math.max(1, Math.ceil(blob.data.byteLength / chunkBytes));
  const out: MessageInput<'tso.v1.WeightChunk'>[] = [];
  for (let index = 0; index < count; index++) {
    out.push({
      version: blob.version,
      sha256,
      totalBytes: blob.data.byteLength,
      index,
      count,
      target: blob.target,
      data: blob.data.subarray(index * chunkBytes, (index + 1) * chunkBytes),
      params: index === 0 ? (blob.params ?? []) : [],
    });
  }
  return out;
}

/** Sends a blob through a LoadWeights writer and returns the node's response. */
export async function sendWeights<Res>(
  writer: {
    write(msg: MessageInput<'tso.v1.WeightChunk'>): Promise<void>;
    end(): Promise<Res>;
    cancel(): void;
  },
  blob: WeightBlob,
  chunkBytes = WEIGHT_CHUNK_BYTES,
): Promise<Res> {
  try {
    for (const c of weightChunks(blob, chunkBytes)) await writer.write(c);
  } catch (err) {
    writer.cancel();
    throw err;
  }
  return writer.end();
}

export interface ReceivedWeights {
  version: string;
  sha256: string;
  target: WeightTarget;
  params: ParamSpec[];
  data: Uint8Array;
}

/**
 * Reads a LoadWeights stream to the end and verifies it. Throws ProtocolError (bad framing) or
 * IntegrityError (size / SHA-256 mismatch) — both map to INVALID_ARGUMENT.
 */
export async function receiveWeights(
  chunks: AsyncIterable<WeightChunk>,
  maxBytes = 4 * 1024 * 1024 * 1024,
): Promise<ReceivedWeights> {
  let first: WeightChunk | undefined;
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const c of chunks) {
    first ??= checkFirst(c, maxBytes);
    const f = first;
    if (c.index !== parts.length)
      throw new ProtocolError(`weight chunk ${c.index} out of order (expected ${parts.length})`);
    if (
      c.version !== f.version ||
      c.sha256 !== f.sha256 ||
      c.totalBytes !== f.totalBytes ||
      c.count !== f.count ||
      c.target !== f.target
    ) {
      throw new ProtocolError(
        `weight chunk ${c.index} disagrees with chunk 0 (version/sha256/total_bytes/count/target)`,
      );
    }
    if (c.index >= f.count) throw new ProtocolError(`weight chunk ${c.index} beyond count ${f.count}`);
    bytes += c.data.byteLength;
    if (bytes > f.totalBytes)
      throw new IntegrityError(`weights ${f.version}: more than the announced ${f.totalBytes} bytes`);
    parts.push(c.data);
  }
  if (!first) throw new ProtocolError('LoadWeights stream carried no chunk');
  if (parts.length !== first.count)
    throw new ProtocolError(`weights ${first.version}: got ${parts.length} of ${first.count} chunks`);
  if (bytes !== first.totalBytes)
    throw new IntegrityError(`weights ${first.version}: got ${bytes} bytes, announced ${first.totalBytes}`);
  const data = new Uint8Array(bytes);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.byteLength;
  }
  const actual = sha256Hex(data);
  if (actual !== first.sha256) {
    throw new IntegrityError(
      `weights ${first.version}: sha256 mismatch (announced ${first.sha256}, got ${actual})`,
    );
  }
  return { version: first.version, sha256: actual, target: first.target, params: first.params, data };
}

function checkFirst(c: WeightChunk, maxBytes: number): WeightChunk {
  token('weight version', c.version);
  if (!isSha256Hex(c.sha256)) throw new ProtocolError('weight chunk sha256 is not a hex SHA-256 digest');
  if (c.count < 1) throw new ProtocolError('weight chunk count must be >= 1');
  if (c.target === WeightTarget.UNSPECIFIED) throw new ProtocolError('weight chunk target is unspecified');
  if (c.totalBytes > maxBytes)
    throw new ProtocolError(`weights of ${c.totalBytes} bytes exceed the limit of ${maxBytes}`);
  return c;
}
