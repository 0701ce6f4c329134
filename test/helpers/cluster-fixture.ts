// A small cluster on disk for integration tests: tiny random models, node configs, a cluster config.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { initBackend } from '../../src/backend/select-backend.js';
import { saveModel } from '../../src/model/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';

export const TINY: GPTConfig = { vocabSize: 259, blockSize: 40, nLayer: 1, nHead: 2, dModel: 32 };

export interface Fixture {
  root: string;
  clusterConfig: string;
  nodeConfig: (id: string) => string;
  models: Record<string, string>;
  runDir: string;
}

export interface FixtureGenerator {
  id: string;
  tier: number;
  seed: number;
  /** A context other than TINY's (a small one refuses the task's longer prompts). */
  blockSize?: number;
}

export interface FixtureOptions {
  policies?: number;
  generators?: FixtureGenerator[];
  judge?: boolean;
  /** Judge node ids (default one, `judge`); with several, the cluster config lists them in judge_nodes. */
  judges?: string[];
  /** The cluster config's deadline of every RPC and NATS collection (default 60 s). */
  rpc_deadline_ms?: number;
  /** Extra keys of single node configs, by node id (e.g. heartbeat_ttl_ms). */
  nodeExtra?: Record<string, Record<string, unknown>>;
  run?: Record<string, unknown>;
  cluster?: string;
  /** An explicitly open NATS URL; absent: `tso cluster` starts its own, with per-run credentials. */
  nats?: string;
  /** Node configs written but not listed in the cluster config (started by hand: late joiners). */
  extraPolicies?: number;
  /** More keys of the cluster config (e.g. lease_ttl_ms). */
  clusterExtra?: Record<string, unknown>;
}

export const DEFAULT_GENERATORS: FixtureGenerator[] = [
  { id: 'gen-a', tier: 1, seed: 11 },
  { id: 'gen-b', tier: 2, seed: 12 },
  { id: 'gen-c', tier: 3, seed: 13 },
];

export const SMALL_RUN = {
  run_id: 'itest',
  seed: 3,
  task: { train_prompts: 24, heldout_prompts: 12, human_fraction: 0.5 },
  minibatches: 2,
  minibatch_prompts: 8,
  epochs: 2,
  train_batch_pairs: 8,
  samples_per_node: 1,
  policy_samples: 1,
  sampling: { temperature: 1, top_k: 0, top_p: 1, max_new_tokens: 6 },
  correction: {
    mode: 'ai+human',
    threshold: 0.7,
    fallback: 'trust-prior',
    human: { source: 'oracle', budget_per_iteration: 4 },
  },
  pairs: { max_per_prompt: 4 },
  loss: { name: 'dual-clip', beta: 0.1, clip_chosen: 1, clip_rejected: 1 },
  optimizer: { lr: 0.001, weight_decay: 0, clip_norm: 1 },
  eval: { max_new_tokens: 6 },
};

export async function makeFixture(o: FixtureOptions = {}): Promise<Fixture> {
  await initBackend('wasm');
  const root = mkdtempSync(join(tmpdir(), 'tso-cluster-'));
  const models: Record<string, string> = {};
  const save = async (name: string, seed: number, blockSize = TINY.blockSize) => {
    const m = GPT.create({ ...TINY, blockSize }, seed);
    models[name] = join(root, 'models', name);
    await saveModel(m, models[name]);
    m.dispose();
  };
  await save('policy', 1);
  const gens: FixtureGenerator[] = o.generators ?? DEFAULT_GENERATORS;
  for (const g of gens) await save(g.id, g.seed, g.blockSize);
  mkdirSync(join(root, 'nodes'), { recursive: true });
  const cluster = o.cluster ?? 'itest';
  const nats = o.nats === undefined ? {} : { nats: o.nats };
  const nodeFile = (id: string) => join(root, 'nodes', `${id}.yaml`);
  const write = (id: string, cfg: Record<string, unknown>) =>
    writeFileSync(
      nodeFile(id),
      stringify({
        id,
        cluster,
        ...nats,
        backend: 'wasm',
        heartbeat_ttl_ms: 3000,
        ...cfg,
        ...(o.nodeExtra?.[id] ?? {}),
      }),
    );
  const listed: string[] = [];
  const policies = o.policies ?? 2;
  for (let r = 0; r < policies + (o.extraPolicies ?? 0); r++) {
    write(`policy-${r}`, { role: 'policy', model: models.policy, model_name: 'policy', replica: r });
    if (r < policies) listed.push(nodeFile(`policy-${r}`));
  }
  for (const g of gens) {
    write(g.id, { role: 'generator', model: models[g.id], model_name: g.id, tier: g.tier });
    listed.push(nodeFile(g.id));
  }
  const judges = o.judge === false ? [] : (o.judges ?? ['judge']);
  for (const j of judges) {
    write(j, { role: 'judge', judge: { type: 'heuristic', seed: 5 } });
    listed.push(nodeFile(j));
  }
  const runDir = join(root, 'run');
  const clusterConfig = join(root, 'cluster.yaml');
  writeFileSync(
    clusterConfig,
    stringify({
      cluster,
      ...nats,
      nodes: listed,
      policy_init: models.policy,
      run_dir: runDir,
      ...(judges.length > 1 ? { judge_nodes: judges } : {}),
      quorum: { policy: policies, generators: gens.length, judges: judges.length, timeout_s: 90 },
      rpc_deadline_ms: o.rpc_deadline_ms ?? 60000,
      run: { ...SMALL_RUN, ...(o.run ?? {}) },
      ...o.clusterExtra,
    }),
  );
  return { root, clusterConfig, nodeConfig: nodeFile, models, runDir };
}
