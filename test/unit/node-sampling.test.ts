// Per-node sampling: a generator node's `sampling` overrides the run's, identically in LocalPort and
// in the cluster node's Generate handler, and lineage records what was used.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { checkNodeConfig, NodeConfigSchema, samplingOverrideOf } from '../../src/cluster/node/node-config.js';
import { modelNodeService } from '../../src/cluster/node/model-node-service.js';
import { DEFAULT_ADAMW } from '../../src/model/adamw.js';
import type { GPTConfig } from '../../src/model/config.js';
import { effectiveSampling, type SamplingOverride } from '../../src/model/generate.js';
import { GPT } from '../../src/model/gpt.js';
import { LocalPort } from '../../src/tso/local-port.js';
import type { GenerateRequest } from '../../src/tso/loop/port.js';
import { hash53 } from '../../src/tso/rng.js';
import type { CallContext } from '../../src/transport/grpc/services.js';
import type { NatsConnection, ServiceImpls } from '../../src/transport/index.js';
import { logger } from '../../src/util/log.js';

const C: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, dModel: 16 };
const REQ: GenerateRequest = {
  iteration: 0,
  prompts: [
    { id: 'p0', text: 'sort 3 1 2' },
    { id: 'p1', text: 'rev ab' },
    { id: 'p2', text: 'add 1 2' },
  ],
  samplesPerNode: 2,
  policySamples: 0,
  sampling: { temperature: 1, topK: 0, topP: 1, maxNewTokens: 6, seed: 99 },
};
const OVERRIDE: SamplingOverride = { temperature: 0.5, topK: 3 };

beforeAll(() => initBackend('wasm').then(() => undefined));

async function localTexts(model: GPT, override?: SamplingOverride) {
  const policy = GPT.create(C, 1);
  const reference = GPT.create(C, 1);
  const port = new LocalPort({
    policy,
    reference,
    generators: [{ name: 'gen', tier: 1, model, sampling: override }],
    gradShards: 1,
    optimizer: DEFAULT_ADAMW,
  });
  try {
    return (await port.generate(REQ)).responses;
  } finally {
    port.dispose();
    policy.dispose();
    reference.dispose();
  }
}

async function nodeTexts(model: GPT, override?: SamplingOverride) {
  const svc = modelNodeService({
    info: () => ({ nodeId: 'gen-0', modelName: 'gen', tier: 1 }),
    model,
    nc: undefined as unknown as NatsConnection, // not used without a publish subject
    generateBatch: 64,
    source: 'generator',
    sampling: override,
  });
  const impl = svc.impl as ServiceImpls['tso.v1.ModelNode'];
  const ctx = { signal: new AbortController().signal, log: logger('test') } as unknown as CallContext;
  // The coordinator's request: the run's sampling with this model's seed (ClusterPort.seedOf).
  const seed = hash53('gen', REQ.sampling.seed) % 2 ** 31;
  const out = [];
  const stream = impl.generate!(
    {
      runId: 'r',
      iteration: 0,
      prompts: REQ.prompts,
      n: REQ.samplesPerNode,
      sampling: { ...REQ.sampling, seed },
      expectedWeightVersion: '',
      publishSubject: '',
    } as Parameters<NonNullable<typeof impl.generate>>[0],
    ctx,
  );
  for await (const r of stream) out.push(r);
  return out;
}

describe('per-node sampling', () => {
  it('LocalPort and the node Generate handler produce the same responses with and without an override', async () => {
    const model = GPT.create(C, 7);
    try {
      for (const o of [undefined, OVERRIDE]) {
        const local = await localTexts(model, o);
        const node = await nodeTexts(model, o);
        expect(local.map((r) => r.text)).toEqual(node.map((r) => r.text));
        // Lineage: what was actually used, in both ports.
        const used = effectiveSampling(REQ.sampling, o);
        for (const r of local)
          expect(r.sampling).toMatchObject({ temperature: used.temperature, topK: used.topK });
        for (const r of node)
          expect(r.lineage?.sampling).toMatchObject({ temperature: used.temperature, topK: used.topK });
      }
      const plain = (await localTexts(model)).map((r) => r.text);
      const over = (await localTexts(model, OVERRIDE)).map((r) => r.text);
      expect(over).not.toEqual(plain);
    } finally {
      model.dispose();
    }
  });

  it('the node config key is validated and only generators may set it', () => {
    const base = { id: 'g', role: 'generator', model: 'm', tier: 1 };
    const c = NodeConfigSchema.parse({ ...base, sampling: { temperature: 0.3, top_p: 0.9 } });
    expect(samplingOverrideOf(c)).toEqual({ temperature: 0.3, topK: undefined, topP: 0.9 });
    expect(samplingOverrideOf(NodeConfigSchema.parse(base))).toBeUndefined();
    expect(() => NodeConfigSchema.parse({ ...base, sampling: { top_p: 0 } })).toThrow(/top_p/);
    expect(() => NodeConfigSchema.parse({ ...base, sampling: { topk: 2 } })).toThrow(/topk/);
    const policy = NodeConfigSchema.parse({
      id: 'p',
      role: 'policy',
      model: 'm',
      sampling: { temperature: 1 },
    });
    expect(() => checkNodeConfig(policy, 'nodes/p.yaml')).toThrow(
      /nodes\/p.yaml: sampling: only a generator/,
    );
  });
});
