// A cluster config run in ONE process (LocalPort): the same models, tiers, judge and seeds as the
// cluster. It is the single-process reference the cluster must match, and what `tso ablate` runs.
import { loadConfigFile } from '../config/load-config.js';
import { makeJudge } from '../judges/make-judge.js';
import type { Judge } from '../judges/types.js';
import { loadModel } from '../model/checkpoint.js';
import { LocalPort, type LocalGenerator } from '../tso/local-port.js';
import type { RunConfig } from '../tso/loop/run-config.js';
import { RunDir } from '../tso/loop/run-dir.js';
import { runTso } from '../tso/loop/run-loop.js';
import { optimizerOptionsOf } from '../tso/loop/train-pairs.js';
import { writeReport, type NodeSummary, type Report } from '../tso/loop/report.js';
import { humanSource, modelHooks, prepareData, progressPrinter } from '../tso/loop/session.js';
import type { ClusterConfig } from './cluster-config.js';
import { modelContexts } from './model-contexts.js';
import {
  checkNodeConfig,
  NodeConfigSchema,
  samplingOverrideOf,
  type NodeConfig,
} from './node/node-config.js';

export interface LocalRunOptions {
  runDir: string;
  /** Overrides of the run config (ablations). */
  run?: RunConfig;
  /** Print progress lines. */
  progress?: boolean;
  resume?: boolean;
  /** A new run into a non-empty run dir deletes the old run first (otherwise it is refused). */
  overwrite?: boolean;
  /** Replaces the judge node's judge (the oracle-labels ablation's gold-scorer upper bound). */
  judge?: Judge;
}

export async function runLocal(cfg: ClusterConfig, o: LocalRunOptions): Promise<Report> {
  const t0 = performance.now();
  const run = o.run ?? cfg.run;
  // One run per directory (run-dir.ts), checked before any model is loaded.
  const dir = new RunDir(o.runDir);
  if (o.resume) await dir.openForResume();
  else await dir.startNew({ runId: run.run_id, overwrite: o.overwrite });
  const nodes: NodeConfig[] = [];
  for (const f of cfg.nodes) {
    const n = await loadConfigFile(f, NodeConfigSchema);
    checkNodeConfig(n, f);
    nodes.push(n);
  }
  const policyNode = nodes.find((n) => n.role === 'policy');
  if (!policyNode?.model) throw new Error('the cluster config lists no policy node with a model');
  const generators: LocalGenerator[] = [];
  const seenModels = new Set<string>();
  for (const n of nodes.filter((x) => x.role === 'generator')) {
    const name = n.model_name ?? n.model!.split('/').pop()!;
    if (seenModels.has(name)) continue; // replicas of one model are fail-over targets in the cluster
    seenModels.add(name);
    generators.push({
      name,
      tier: n.tier!,
      model: (await loadModel(n.model!, false)).model,
      sampling: samplingOverrideOf(n),
    });
  }
  const judgeNode = nodes.find((n) => n.role === 'judge');
  const judge = o.judge ?? (judgeNode?.judge ? await makeJudge(judgeNode.judge) : undefined);
  const policy = (await loadModel(policyNode.model, true)).model;
  const reference = (await loadModel(policyNode.model, false)).model;
  const port = new LocalPort({
    policy,
    reference,
    generators,
    judge,
    gradShards: run.grad_shards,
    optimizer: optimizerOptionsOf(run),
    policyName: policyNode.model_name ?? policyNode.model.split('/').pop(),
    generateBatch: policyNode.generate_batch,
  });
  const data = await prepareData(run, dir, await modelContexts(cfg.policy_init, cfg.nodes));
  const hooks = await modelHooks(run, data, cfg.policy_init, judge);
  const human = humanSource(run, dir, data.task);
  try {
    const result = await runTso(
      port,
      run,
      data,
      dir,
      { ...hooks, human: human.human, onProgress: o.progress ? progressPrinter() : undefined },
      { resume: o.resume ?? false },
    );
    const summary: NodeSummary[] = [
      {
        id: 'local-policy',
        role: 'policy',
        model: policyNode.model_name ?? 'policy',
        tier: 0,
        backend: 'in-process',
        lost: false,
      },
      ...generators.map((g) => ({
        id: `local-${g.name}`,
        role: 'generator',
        model: g.name,
        tier: g.tier,
        backend: 'in-process',
        lost: false,
      })),
    ];
    return await writeReport(dir, {
      cfg: run,
      result,
      nodes: summary,
      wall_s: (performance.now() - t0) / 1000,
      human_source: human.label,
      task: data.summary,
      resumed: o.resume ?? false,
    });
  } finally {
    hooks.dispose();
    port.dispose();
    for (const m of [policy, reference, ...generators.map((g) => g.model)]) m.dispose();
  }
}
