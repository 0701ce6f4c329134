// The run directory: every file a run writes, written so that a crash never leaves a half-written file.
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class RunDir {
  constructor(readonly root: string) {}

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  async init(): Promise<void> {
    await mkdir(this.path('checkpoint'), { recursive: true });
    await mkdir(this.path('data'), { recursive: true });
  }

  /** Write to a temp file then rename: readers see the old file or the new one, never a torn one. */
  async writeAtomic(rel: string, data: string | Uint8Array): Promise<void> {
    const target = this.path(rel);
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await rename(tmp, target);
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

  /** Rewrites a JSONL log to its first `keep` rows (resume drops rows written after the checkpoint). */
  async truncateJsonl(rel: string, keep: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path(rel), 'utf8');
    } catch {
      return; // nothing written yet
    }
    const lines = text
      .split('\n')
      .filter((l) => l.length > 0)
      .slice(0, keep);
    await this.writeAtomic(rel, lines.length ? lines.join('\n') + '\n' : '');
  }

  async remove(rel: string): Promise<void> {
    await rm(this.path(rel), { recursive: true, force: true });
  }
}
