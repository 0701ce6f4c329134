// Reads what a run has written (steps.jsonl, metrics.jsonl, report.json, labels.jsonl) into the UI's
// views: used at every checkpoint of a live run (the loop appends there) and once by `tso ui RUN_DIR`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunStore } from './run-store.js';
import {
  iterationPoint,
  stepPointOfRow,
  type IterationPoint,
  type NodeView,
  type StepPoint,
} from './views.js';

type Row = Record<string, unknown>;

/** JSONL rows of a run file; a missing file is empty, a bad line (e.g. mid-write) is skipped. */
export async function readRows(file: string): Promise<Row[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) rows.push(v as Row);
    } catch {
      /* mid-write */
    }
  }
  return rows;
}

export async function readSteps(runDir: string): Promise<StepPoint[]> {
  return (await readRows(join(runDir, 'steps.jsonl'))).flatMap((r) => stepPointOfRow(r) ?? []);
}

export async function readIterations(runDir: string): Promise<IterationPoint[]> {
  return (await readRows(join(runDir, 'metrics.jsonl'))).flatMap((r) => iterationPoint(r) ?? []);
}

/** The newest labels (labels.jsonl), newest first, for the labelling page's history. */
export async function recentLabels(runDir: string, n = 50): Promise<Row[]> {
  return (await readRows(join(runDir, 'labels.jsonl'))).slice(-n).reverse();
}

async function readJson(file: string): Promise<Row | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Row) : undefined;
  } catch {
    return undefined;
  }
}

/** Fills a read-only store from a run dir (finished, or stopped at a checkpoint). */
export async function loadRunDir(store: RunStore, runDir: string): Promise<void> {
  const report = await readJson(join(runDir, 'report.json'));
  const run = await readJson(join(runDir, 'run.json'));
  const iterations = await readIterations(runDir);
  const steps = await readSteps(runDir);
  const nodes: NodeView[] = Array.isArray(report?.nodes)
    ? (report.nodes as Row[]).map((n) => ({
        id: String(n.id),
        role: String(n.role ?? ''),
        model: String(n.model ?? ''),
        tier: Number(n.tier ?? 0),
        backend: String(n.backend ?? ''),
        address: '',
        weight_version: '',
        heartbeat_age_s: null,
        lost: n.lost === true,
        ...(typeof n.lost_reason === 'string' ? { lost_reason: n.lost_reason } : {}),
      }))
    : [];
  const done = iterations.filter((i) => i.iteration > 0).length;
  const created = Date.parse(String(run?.created_at ?? ''));
  store.updateRun({
    run_id: String(report?.run_id ?? run?.run_id ?? runDir),
    minibatch: done,
    of: Number(report?.iterations ?? done) || done,
    phase: report ? 'done' : 'stopped',
    state: report ? 'done' : 'failed',
    message: report ? `finished in ${Number(report.wall_s ?? 0).toFixed(1)} s` : 'no report.json: stopped',
    started_at_ms: Number.isFinite(created) ? created : Date.now(),
    human_source: String(report?.human_source ?? ''),
  });
  store.setNodes(nodes);
  store.setSteps(steps);
  store.setIterations(iterations);
}
