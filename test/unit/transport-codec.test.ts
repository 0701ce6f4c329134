import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/transport/errors.js';
import { Role, WeightTarget } from '../../src/transport/proto/enums.js';
import { decode, encode, tryDecode } from '../../src/transport/proto/codec.js';
import { getRoot } from '../../src/transport/proto/root.js';
import { TYPE_NAMES } from '../../src/transport/proto/types.js';
import { SERVICE_NAMES } from '../../src/transport/grpc/services.js';
import { buildService } from '../../src/transport/grpc/definition.js';
import { subjects, buckets } from '../../src/transport/nats/subjects.js';
import { InvalidNameError } from '../../src/transport/errors.js';
import protobuf from 'protobufjs';

function allMessageTypes(ns: protobuf.NamespaceBase, out: string[] = []): string[] {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) {
      if (!obj.name.endsWith('Entry')) out.push(obj.fullName.slice(1));
    }
    if (obj instanceof protobuf.Namespace) allMessageTypes(obj, out);
  }
  return out;
}

describe('proto contract and codec', () => {
  it('every .proto message has a TypeScript mirror and vice versa', () => {
    const inProto = allMessageTypes(getRoot()).sort();
    expect([...TYPE_NAMES].sort()).toEqual(inProto);
  });

  it('every service builds a grpc definition with the expected paths', () => {
    for (const name of SERVICE_NAMES) expect(buildService(name).methods.length).toBeGreaterThan(0);
    const node = buildService('tso.v1.ModelNode');
    expect(node.methods.map((m) => [m.path, m.kind])).toEqual([
      ['/tso.v1.ModelNode/Describe', 'unary'],
      ['/tso.v1.ModelNode/Generate', 'serverStream'],
      ['/tso.v1.ModelNode/Score', 'unary'],
      ['/tso.v1.ModelNode/LoadWeights', 'clientStream'],
      ['/tso.v1.ModelNode/ComputeGradients', 'unary'],
      ['/tso.v1.ModelNode/Snapshot', 'unary'],
      ['/tso.v1.ModelNode/Restore', 'unary'],
    ]);
  });

  it('round-trips messages with defaults filled and unset sub-messages absent', () => {
    const bytes = encode('tso.v1.NodeInfo', { nodeId: 'gen-1', role: Role.GENERATOR, paramCount: 2 ** 40 });
    const info = decode('tso.v1.NodeInfo', bytes);
    expect(info).toMatchObject({
      nodeId: 'gen-1',
      role: Role.GENERATOR,
      paramCount: 2 ** 40,
      tier: 0,
      address: '',
    });
    expect(info.tokenizer).toBeUndefined();
    const req = decode('tso.v1.GenerateRequest', encode('tso.v1.GenerateRequest', { n: 2 }));
    expect(req.prompts).toEqual([]);
    expect(req.expectedWeightVersion).toBe('');
    expect(req.sampling).toBeUndefined();
    const chunk = decode(
      'tso.v1.WeightChunk',
      encode('tso.v1.WeightChunk', { data: new Uint8Array([1, 2, 3]) }),
    );
    expect(Array.from(chunk.data)).toEqual([1, 2, 3]);
    expect(chunk.target).toBe(WeightTarget.UNSPECIFIED);
    const shard = decode('tso.v1.GradientShard', encode('tso.v1.GradientShard', { metrics: { loss: 0.5 } }));
    expect(shard.metrics).toEqual({ loss: 0.5 });
  });

  it('malformed bytes become a ProtocolError naming the type', () => {
    expect(() => decode('tso.v1.NodeInfo', Uint8Array.from([0x0a, 0xff]))).toThrow(ProtocolError);
    expect(() => decode('tso.v1.NodeInfo', Uint8Array.from([0x0f]))).toThrow(/malformed tso\.v1\.NodeInfo/);
    // role = 9 is not a Role
    expect(() => decode('tso.v1.NodeInfo', Uint8Array.from([0x10, 0x09]))).toThrow(
      /role: enum value expected/,
    );
    // A truncated string must be refused whether the bytes come as Uint8Array or as a Buffer.
    expect(() => decode('tso.v1.Chunk', Buffer.from([0x0a, 0xff, 0x01]))).toThrow(/index out of range/);
    const r = tryDecode('tso.v1.Chunk', Uint8Array.from([0xff, 0xff, 0xff]));
    expect(r.ok).toBe(false);
    expect(() => decode('tso.v1.Nope' as 'tso.v1.Chunk', new Uint8Array())).toThrow(/unknown message type/);
  });

  it('invalid fields are refused when encoding', () => {
    expect(() => encode('tso.v1.NodeInfo', { nodeId: 5 as unknown as string })).toThrow(
      /nodeId: string expected/,
    );
    expect(() => encode('tso.v1.NodeInfo', { role: 42 as Role })).toThrow(ProtocolError);
    expect(() => encode('tso.v1.NodeInfo', null as unknown as object)).toThrow(/expected an object/);
  });

  it('builds subjects and bucket names and refuses unsafe tokens', () => {
    expect(subjects.responses('run1', 3, 'gen-a')).toBe('tso.run1.3.responses.gen-a');
    expect(subjects.grad('run1', 7, 1)).toBe('tso.run1.grad.7.1');
    expect(subjects.update('run1', 7)).toBe('tso.run1.update.7');
    expect(subjects.ref('run1')).toBe('tso.run1.ref');
    expect(subjects.checksum('run1', 2, 'policy-1')).toBe('tso.run1.checksum.2.policy-1');
    expect(subjects.checksumAll('run1', 2)).toBe('tso.run1.checksum.2.*');
    expect(subjects.ack('run1', 'v3', 'policy-1')).toBe('tso.run1.ack.v3.policy-1');
    expect(subjects.ackAll('run1', 'v3')).toBe('tso.run1.ack.v3.*');
    expect(buckets.lease('demo')).toBe('tso_demo_lease');
    expect(() => subjects.checksum('run1', 2, 'a.b')).toThrow(InvalidNameError);
    expect(buckets.nodes('c')).toBe('tso_c_nodes');
    expect(buckets.weights('run1')).toBe('tso_run1_weights');
    expect(() => subjects.ref('a.b')).toThrow(InvalidNameError);
    expect(() => subjects.responses('r', 1, '*')).toThrow(InvalidNameError);
    expect(() => subjects.grad('r', -1, 0)).toThrow(InvalidNameError);
  });
});
