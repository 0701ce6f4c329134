// Runs `tso cluster` in-process (runCluster: every node and the coordinator are real OS processes)
// and keeps its interleaved log lines, so a test can react to progress (kill a node, start a joiner)
// and print the tail when an assertion fails; and the final weights' SHA-256 of a run dir, and of the
// same config run in one process.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { runCluster } from '../../src/cluster/launcher/run-cluster.js';
import { runLocal } from '../../src/cluster/local-run.js';
import { loadConfigFile } from '../../src/config/load-config.js';

export interface ClusterRunResult {
  code: number;
  lines: string[];
  children: Map<string, ChildProcess>;
}

export async function runClusterLogged(
  configPath: string,
  watch?: (line: string, children: Map<string, ChildProcess>, natsUrl: string) => void,
): Promise<ClusterRunResult> {
  const lines: string[] = [];
  let children = new Map<string, ChildProcess>();
  let natsUrl = '';
  const code = await runCluster({
    configPath,
    out: (l) => {
      lines.push(l);
      watch?.(l, children, natsUrl);
    },
    onSpawned: (c, url) => {
      children = c;
      natsUrl = url;
    },
  });
  return { code, lines, children };
}

/** The last n log lines, for assertion messages. */
export function tail(lines: string[], n = 60): string {
  return lines.slice(-n).join('\n');
}

export function readJsonl<T = Record<string, unknown>>(dir: string, file: string): T[] {
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

export function readJson<T = Record<string, unknown>>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

/** Fields of report.json the tests look at. */
export interface ReportJson {
  iterations: number;
  steps: number;
  nodes: { id: string; role: string; lost: boolean; lost_reason?: string }[];
  per_iteration: { iteration: number; missing: number; refresh_acks: string[] }[];
  events: { node: string; kind: string; detail: string }[];
}

export interface StepRow {
  step: number;
  iteration: number;
  pairs: number;
  loss: number;
  checksum: string;
  replicas: number;
  reassigned: string[];
}

/** SHA-256 of the exported policy of a run dir. */
export function policySha(runDir: string): string {
  return readJson<{ sha256: string }>(join(runDir, 'policy'), 'manifest.json').sha256;
}

/**
 * The same cluster config run in one process, never interrupted (test/integration/cluster.test.ts shows
 * it equals an uninterrupted cluster run bit for bit): the final weights a faulted cluster run must match.
 */
export async function inProcessPolicySha(clusterConfig: string, runDir: string): Promise<string> {
  await runLocal(await loadConfigFile(clusterConfig, ClusterConfigSchema), { runDir });
  return policySha(runDir);
}
