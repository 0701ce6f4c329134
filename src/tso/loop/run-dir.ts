// The run directory: every file a run writes, written so that a crash never leaves a half-written file.
// A directory holds ONE run: a new run into a non-empty directory is refused (or, with overwrite, the
// old run is deleted first), and run.json names the run instance that every checkpoint must belong to.
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createExclusive, fsyncFile, replaceAtomic, TMP_MARK } from './durable-fs.js';

/** run.json: which run (and which start of it) this directory holds. */
export interface RunInstance {
  format: 'tso-run';
  run_id: string;
  /** Random per new run: a checkpoint of another instance is never resumed here. */
  instance_id: string;
  created_at: string;
}

/** Names a tso run writes at the top of its directory; --overwrite deletes nothing else. */
const RUN_ENTRIES = new Set([
  'run.json',
  'cluster-config.json',
  'checkpoint',
  'data',
  'policy',
  'pairs.jsonl',
  'steps.jsonl',
  'metrics.jsonl',
  'events.jsonl',
  'disputes.jsonl',
  'labels.jsonl',
  'report.json',
  'report.md',
  'chart.svg',
  'cell.json',
]);

const LOGS = ['pairs.jsonl', 'steps.jsonl', 'metrics.jsonl', 'events.jsonl'];

async function entriesOf(root: string): Promise<string[]> {
  try {
    return (await readdir(root)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/** One line on what an existing run dir holds (for the refusal message). */
async function describeRun(root: string, entries: string[]): Promise<string> {
  const facts: string[] = [];
  const run = await readText(join(root, 'run.json'));
  if (run) {
    try {
      const r = JSON.parse(run) as Partial<RunInstance>;
      facts.push(`run "${r.run_id}" started ${r.created_at}`);
    } catch {
      facts.push('an unreadable run.json');
    }
  }
  const latest = (await readText(join(root, 'checkpoint', 'LATEST')))?.trim();
  if (latest) facts.push(`checkpoint ${latest}`);
  if (entries.includes('report.json')) facts.push('finished (report.json)');
  const shown = entries.slice(0, 10).join(', ') + (entries.length > 10 ? `, … (${entries.length})` : '');
  return `${facts.length ? facts.join('; ') + '; ' : ''}files: ${shown}`;
}

/**
 * Read-only check that a NEW run may start in `root`: absent or empty, or (with overwrite) holding only
 * what a tso run writes. Throws a message naming the dir, what it holds and the ways out.
 */
export async function checkNewRunDir(root: string, overwrite: boolean): Promise<string[]> {
  const entries = await entriesOf(root);
  if (entries.length === 0) return entries;
  if (!overwrite) {
    const resume = entries.includes('report.json') ? '' : `continue it with \`tso resume ${root}\`, `;
    throw new Error(
      `run dir ${root} is not empty: it holds ${await describeRun(root, entries)}. ` +
        `A new run never appends to an old one: ${resume}` +
        'pass --overwrite to delete it and start again, or choose another --run-dir',
    );
  }
  const foreign = entries.filter((e) => !RUN_ENTRIES.has(e) && !e.includes(TMP_MARK));
  if (foreign.length > 0)
    throw new Error(
      `--overwrite: ${root} holds files a tso run does not write (${foreign.join(', ')}); ` +
        'not deleting a directory that may not be a run dir: remove them yourself or choose another --run-dir',
    );
  return entries;
}

export class RunDir {
  private instanceCache: RunInstance | undefined;

  constructor(readonly root: string) {}

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /**
   * Claims the directory for a new run: refuses a non-empty one unless overwrite (which deletes the
   * old run first), then writes run.json with a fresh instance id.
   */
  async startNew(o: { runId: string; overwrite?: boolean }): Promise<RunInstance> {
    const old = await checkNewRunDir(this.root, o.overwrite ?? false);
    // Entries, not the directory itself: it may be a mount point or a symlink the user made.
    for (const e of old) await rm(this.path(e), { recursive: true, force: true });
    return this.claim(o.runId);
  }

  /** Writes run.json with a fresh instance id; fails when another run claimed the directory first. */
  private async claim(runId: string): Promise<RunInstance> {
    await mkdir(this.root, { recursive: true });
    const inst: RunInstance = {
      format: 'tso-run',
      run_id: runId,
      instance_id: randomUUID(),
      created_at: new Date().toISOString(),
    };
    try {
      await createExclusive(this.path('run.json'), JSON.stringify(inst, null, 2) + '\n');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new Error(`run dir ${this.root}: another run claimed it at the same moment`, { cause: e });
      throw e;
    }
    this.instanceCache = inst;
    return inst;
  }

  /** Opens the directory of an interrupted run for `resume`; deletes the temp litter of a cut write. */
  async openForResume(): Promise<RunInstance> {
    const inst = await this.readInstance();
    if (!inst)
      throw new Error(
        `${this.path('run.json')} is missing: ${this.root} is not a run dir of this tso version, ` +
          'so it cannot be resumed (start a new run with --overwrite)',
      );
    for (const sub of ['', 'checkpoint', 'data'])
      for (const e of await entriesOf(this.path(sub)))
        if (e.includes(TMP_MARK)) await rm(this.path(sub, e), { recursive: true, force: true });
    return inst;
  }

  /** run.json, or undefined when there is none. */
  async readInstance(): Promise<RunInstance | undefined> {
    if (this.instanceCache) return this.instanceCache;
    const text = await readText(this.path('run.json'));
    if (text === undefined) return undefined;
    const r = JSON.parse(text) as RunInstance;
    if (r.format !== 'tso-run' || typeof r.instance_id !== 'string')
      throw new Error(`${this.path('run.json')}: not a tso run record`);
    this.instanceCache = r;
    return r;
  }

  /**
   * The instance a checkpoint records. A caller that drives runTso itself without startNew (a library
   * user, a test) gets one made at its first checkpoint.
   */
  async instance(runId: string): Promise<RunInstance> {
    const have = await this.readInstance();
    return have ?? this.claim(runId);
  }

  async init(): Promise<void> {
    await mkdir(this.path('checkpoint'), { recursive: true });
    await mkdir(this.path('data'), { recursive: true });
  }

  /** Write to a temp file, fsync, rename: readers see the old file or the new one, never a torn one. */
  async writeAtomic(rel: string, data: string | Uint8Array): Promise<void> {
    await replaceAtomic(this.path(rel), data);
  }

  async writeJson(rel: string, value: unknown): Promise<void> {
    await this.writeAtomic(rel, JSON.stringify(value, null, 2) + '\n');
  }

  async readJson<T>(rel: string): Promise<T> {
    return JSON.parse(await readFile(this.path(rel), 'utf8')) as T;
  }

  async appendJsonl(rel: string, rows: readonly unknown[]): Promise<void> {
    if (rows.length === 0) return;
    await appendFile(this.path(rel), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  /** fsyncs the JSONL logs: a checkpoint records their lengths, which must survive a power cut too. */
  async syncLogs(): Promise<void> {
    for (const f of LOGS)
      await fsyncFile(this.path(f)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
  }

  /** Rewrites a JSONL log to its first `keep` rows (resume drops rows written after the checkpoint). */
  async truncateJsonl(rel: string, keep: number): Promise<void> {
    const text = await readText(this.path(rel));
    const lines = (text ?? '').split('\n').filter((l) => l.length > 0);
    // Fewer rows than the checkpoint counted: the log lost rows, and resuming would leave a hole.
    if (lines.length < keep)
      throw new Error(
        `${this.path(rel)} holds ${lines.length} rows but the checkpoint recorded ${keep}: ` +
          'the log does not match the checkpoint, refusing to resume',
      );
    if (text === undefined) return; // nothing written yet, nothing expected
    await this.writeAtomic(rel, lines.length ? lines.slice(0, keep).join('\n') + '\n' : '');
  }

  async remove(rel: string): Promise<void> {
    await rm(this.path(rel), { recursive: true, force: true });
  }
}
