// Runs `tso cluster` in-process (runCluster: every node and the coordinator are real OS processes)
// and keeps its interleaved log lines, so a test can react to progress (kill a node, start a joiner)
// and print the tail when an assertion fails.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCluster } from '../../src/cluster/launcher/run-cluster.js';

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
