// `tso bench --cluster`: what the cluster itself costs, measured on a real local cluster of the
// benchmark shape (its own authenticated nats-server, mTLS, every node its own process): per-phase
// wall time of an iteration, optimizer-step wall time against the slowest replica's computing
// (coordination overhead), and the same run with one replica (scaling). The transport figures for
// the same model size (gradient exchange against raw NATS, reference refresh to N readers against a
// raw loopback copy) come from runTransportBench.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { initBackend, type BackendName } from '../backend/select-backend.js';
import { runCluster } from '../cluster/launcher/run-cluster.js';
import { paramCount, type GPTConfig } from '../model/config.js';
import { saveModel } from '../model/checkpoint.js';
import { GPT } from '../model/gpt.js';

export interface ClusterBenchOptions {
  config: GPTConfig;
  /** Backend of this process (it writes the models) and of every node. */
  backend: BackendName;
  /** Generator nodes (matrix models of the same shape, different seeds). */
  generators: number;
  minibatches: number;
  stepsPerMinibatch: number;
  pairsPerStep: number;
  /** Replica counts to run, in order (default 2, then 1: the scaling figure needs both). */
  replicaCounts?: number[];
  log?: (line: string) => void;
}

interface IterationRow {
  phase: string;
  diagnostics?: {
    phase_wall_s: Record<string, number>;
    step_ms: number | null;
    step_compute_ms: number | null;
    coordination_overhead: number | null;
  };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Writes models and configs of a cluster with `policies` replicas; returns the cluster config path. */
async function writeCluster(root: string, o: ClusterBenchOptions, policies: number): Promise<string> {
  const models = join(root, 'models');
  const save = async (name: string, seed: number) => {
    const m = GPT.create(o.config, seed);
    await saveModel(m, join(models, name));
    m.dispose();
    return join(models, name);
  };
  const policy = await save('policy', 1);
  mkdirSync(join(root, 'nodes'), { recursive: true });
  const node = (id: string, cfg: Record<string, unknown>) => {
    const file = join(root, 'nodes', `${id}.yaml`);
    writeFileSync(file, stringify({ id, cluster: 'bench', backend: o.backend, ...cfg }));
    return file;
  };
  const nodes: string[] = [];
  for (let r = 0; r < policies; r++)
    nodes.push(node(`policy-${r}`, { role: 'policy', model: policy, model_name: 'policy', replica: r }));
  for (let g = 0; g < o.generators; g++) {
    const model = await save(`gen-${g}`, 100 + g);
    nodes.push(node(`gen-${g}`, { role: 'generator', model, model_name: `gen-${g}`, tier: g + 1 }));
  }
  nodes.push(node('judge', { role: 'judge', judge: { type: 'heuristic', seed: 5 } }));
  const file = join(root, 'cluster.yaml');
  writeFileSync(
    file,
    stringify({
      cluster: 'bench',
      nodes,
      policy_init: policy,
      run_dir: join(root, 'run'),
      quorum: { policy: policies, generators: o.generators, judges: 1, timeout_s: 120 },
      run: {
        run_id: 'bench',
        seed: 0,
        task: { train_prompts: 256, heldout_prompts: 32, human_fraction: 0.25 },
        minibatches: o.minibatches,
        minibatch_prompts: 16,
        steps_per_minibatch: o.stepsPerMinibatch,
        train_batch_pairs: o.pairsPerStep,
        grad_shards: 2,
        sampling: { temperature: 0.7, top_k: 0, top_p: 1, max_new_tokens: 16 },
        eval: { max_new_tokens: 16 },
      },
    }),
  );
  return file;
}

async function runOnce(o: ClusterBenchOptions, policies: number) {
  const log = o.log ?? (() => {});
  const root = mkdtempSync(join(tmpdir(), 'tso-bench-cluster-'));
  try {
    const configPath = await writeCluster(root, o, policies);
    log(`bench: cluster with ${policies} replica(s), ${o.generators} generators, a judge`);
    const t0 = performance.now();
    const code = await runCluster({
      configPath,
      out: (l) => {
        if (/\] \[tso /.test(l)) log(l);
      },
    });
    if (code !== 0) throw new Error(`bench cluster (${policies} replicas) exited with code ${code}`);
    const rows = readFileSync(join(root, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as IterationRow)
      .filter((r) => r.phase === 'minibatch' && r.diagnostics);
    // The first mini-batch is warm-up (V8 optimising the hot loops, XNNPACK packing weights, wasm heaps
    // growing): a long run pays it once, so it is not counted when there are later ones.
    const d = rows.slice(rows.length > 1 ? 1 : 0).map((r) => r.diagnostics!);
    const phases = [...new Set(d.flatMap((x) => Object.keys(x.phase_wall_s)))];
    return {
      replicas: policies,
      minibatches_counted: d.length,
      wall_s: round((performance.now() - t0) / 1000),
      // Mean over the rows that have the phase: `checkpoint` (the previous mini-batch's) is not in the first.
      iteration_phase_s: Object.fromEntries(
        phases.map((p) => [
          p,
          round(mean(d.flatMap((x) => (p in x.phase_wall_s ? [x.phase_wall_s[p]] : []))), 2),
        ]),
      ),
      step_ms: round(mean(d.map((x) => x.step_ms ?? NaN))),
      slowest_replica_compute_ms: round(mean(d.map((x) => x.step_compute_ms ?? NaN))),
      coordination_overhead: round(mean(d.map((x) => x.coordination_overhead ?? NaN)), 3),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export type ClusterRun = Awaited<ReturnType<typeof runOnce>>;

export async function runClusterBench(o: ClusterBenchOptions) {
  await initBackend(o.backend);
  const runs: ClusterRun[] = [];
  for (const n of o.replicaCounts ?? [2, 1]) runs.push(await runOnce(o, n));
  const one = runs.find((r) => r.replicas === 1);
  const two = runs.find((r) => r.replicas === 2);
  return {
    params: paramCount(o.config),
    generators: o.generators,
    pairs_per_step: o.pairsPerStep,
    grad_shards: 2,
    runs,
    // One replica computes both shards; two compute one each: ideal speed-up 2.
    scaling_efficiency_2_replicas: one && two ? round(one.step_ms / (2 * two.step_ms), 3) : null,
  };
}
