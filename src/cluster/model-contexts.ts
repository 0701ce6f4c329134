// The contexts (block sizes) of a cluster's tfjs models, read from their manifests: every task prompt
// is checked against them when the run loads its task. Endpoint generators are left out: their
// context is the server's business, and it refuses a prompt that does not fit.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { loadConfigFile } from '../config/load-config.js';
import { readManifest } from '../model/checkpoint.js';
import { loadTask } from '../tasks/load-task.js';
import { fitPrompts } from '../tso/loop/prompt-fit.js';
import type { ModelContext } from '../tso/loop/session.js';
import type { ClusterConfig } from './cluster-config.js';
import { NodeConfigSchema } from './node/node-config.js';

async function readable(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * `strict` (the launcher, local runs: every file is on this machine): a missing node config or model
 * is an error. Otherwise (a coordinator whose nodes may live on other hosts, with model paths of their
 * own) what cannot be read here is left out: those nodes' contexts are not checked at load.
 */
export async function modelContexts(
  policyInit: string,
  nodeFiles: readonly string[],
  strict = true,
): Promise<ModelContext[]> {
  const dirs = new Map<string, string>([[path.basename(policyInit), policyInit]]);
  for (const f of nodeFiles) {
    if (!strict && !(await readable(f))) continue;
    const n = await loadConfigFile(f, NodeConfigSchema);
    if (n.model && n.role !== 'judge') dirs.set(n.model_name ?? path.basename(n.model), n.model);
  }
  const out: ModelContext[] = [];
  for (const [name, dir] of dirs) {
    if (!strict && !(await readable(path.join(dir, 'manifest.json')))) continue;
    out.push({ name, blockSize: (await readManifest(dir)).config.blockSize });
  }
  return out;
}

/**
 * Loads the run's task and checks its prompts against the cluster's models before anything starts, so
 * a bad task file or a prompt that does not fit fails in seconds (the coordinator checks again).
 */
export async function checkTaskFits(cfg: ClusterConfig): Promise<void> {
  const task = await loadTask(cfg.run.task);
  const fit = fitPrompts(task, await modelContexts(cfg.policy_init, cfg.nodes), cfg.run.task.too_long);
  fit.keep(await task.train(cfg.run.seed));
  fit.keep(await task.heldout());
}
