// Inputs for the fuzz test (test/integration/fuzz.test.ts): seeded random bytes, truncated realistic
// requests, oversized messages, a raw gRPC call that sends bytes as they are, and a well-framed chunk
// around any payload. Seeded, so a failure reproduces.
import { Client, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { sha256Hex } from '../../src/model/weights-codec.js';
import { Rng } from '../../src/tso/rng.js';
import { encode, type MethodInfo, type TypeName } from '../../src/transport/index.js';

const rng = Rng.fromSeed(20261202, 'fuzz');
const rand = () => rng.next();
export function randomBytes(max: number): Buffer {
  const b = Buffer.alloc(1 + Math.floor(rand() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A realistic request per type, cut at several points for the truncated inputs. */
export const SAMPLES: Partial<Record<string, unknown>> = {
  'tso.v1.GenerateRequest': {
    runId: 'fuzz',
    iteration: 1,
    prompts: [{ id: 'p', text: 'sort: 3 1 2' }],
    n: 2,
    sampling: { temperature: 1, topP: 1, maxNewTokens: 4, seed: 1 },
  },
  'tso.v1.ScoreRequest': {
    pairs: [{ id: 'a', prompt: 'sort: 2 1', response: '1 2' }],
    includeReference: true,
  },
  'tso.v1.WeightChunk': {
    version: 'x',
    index: 0,
    count: 1,
    totalBytes: 8,
    sha256: 'a'.repeat(64),
    data: new Uint8Array(8),
    target: 1,
  },
  'tso.v1.GradientRequest': {
    runId: 'fuzzrun',
    pairs: [{ id: '0', prompt: 'sort: 2 1', chosen: '1 2', rejected: '2 1', weight: 1 }],
    loss: { kind: 4 },
    totalPairs: 1,
  },
  'tso.v1.SnapshotRequest': { runId: 'fuzzrun', version: 'x' },
  'tso.v1.RestoreRequest': { runId: 'fuzzrun', version: 'nope', runEpoch: 3 },
  'tso.v1.CompareRequest': { prompt: 'sort: 2 1', responseA: '1 2', responseB: '2 1' },
  'grpc.health.v1.HealthCheckRequest': { service: 'tso.v1.ModelNode' },
};

export function truncations(type: string): Buffer[] {
  // A method whose request has no fields (Describe) gets a Generate request: unknown fields, cut.
  const t = (SAMPLES[type] ? type : 'tso.v1.GenerateRequest') as TypeName;
  const full = Buffer.from(encode(t, SAMPLES[t] as never));
  return [1, 2, 5, 9, Math.floor(full.length / 2), full.length - 1].map((n) => full.subarray(0, n));
}

export function oversized(): Buffer[] {
  // Field 1 (length-delimited) claiming 2^31 bytes; 4 MiB of junk; 65 MiB, over the 64 MiB gRPC limit.
  return [
    Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3]),
    Buffer.alloc(4 << 20, 0xff),
    Buffer.alloc(65 << 20, 0x0a),
  ];
}

/** One raw call with identity serializers: the bytes go on the wire as they are. Resolves with the status. */
export function rawCall(client: Client, m: MethodInfo, bytes: Buffer): Promise<number> {
  const id = (b: Buffer) => b;
  const opts = { deadline: Date.now() + 60_000 };
  return new Promise((resolve) => {
    let settled = false;
    const done = (code: number) => {
      if (!settled) resolve(code);
      settled = true;
    };
    const unary = (err: ServiceError | null) => done(err ? err.code : status.OK);
    if (m.kind === 'unary') client.makeUnaryRequest(m.path, id, id, bytes, new Metadata(), opts, unary);
    else if (m.kind === 'clientStream') {
      const call = client.makeClientStreamRequest(m.path, id, id, new Metadata(), opts, unary);
      call.write(bytes);
      call.end();
    } else {
      const call = client.makeServerStreamRequest(m.path, id, id, bytes, new Metadata(), opts);
      // A Watch that decoded stays open by design: its first answer is enough.
      call.on('data', () => (m.name === 'Watch' ? call.cancel() : undefined));
      call.on('error', (e: ServiceError) => done(e.code));
      call.on('status', (s: { code: number }) => done(s.code));
    }
  });
}

/** A well-framed single chunk around `payload` (correct size and SHA-256). */
export function frame(payload: Uint8Array, contentType: string, streamId: string): Uint8Array {
  return encode('tso.v1.Chunk', {
    streamId,
    index: 0,
    count: 1,
    totalBytes: payload.length,
    sha256: sha256Hex(payload),
    data: payload,
    contentType,
  });
}
