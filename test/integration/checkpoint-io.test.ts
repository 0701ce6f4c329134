// Crash-safe state on a real filesystem: one directory per checkpoint behind an atomically switched
// LATEST pointer, the previous one kept, damage and foreign checkpoints refused clearly, temp litter
// cleaned, a full filesystem (a 1 MiB tmpfs) leaving the previous checkpoint valid; and a run dir that
// holds one run only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshRunDir } from '../../src/cli/demo-command.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../../src/tso/loop/checkpoint-io.js';
import type { CheckpointState } from '../../src/tso/loop/checkpoint-state.js';
import { RunDir } from '../../src/tso/loop/run-dir.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'tso-ckpt-'));
  roots.push(r);
  return r;
}

function ckpt(done: number, bytes = 1000): Checkpoint<{ n: number }> {
  const fill = (seed: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
  const state: CheckpointState = {
    format: 'tso-checkpoint',
    version: 1,
    run_id: 'ck',
    minibatches_done: done,
    steps_done: done * 2,
    rows: { pairs: 0, steps: 0, metrics: 0, events: 0 },
    reference_version: `v${done}`,
    policy_sha256: '',
    optimizer_sha256: '',
    seed: 1,
    totals: { pairs: 0, disputes: 0, human_labels: 0, missing: 0 },
    saved_at: new Date().toISOString(),
  };
  return { state, weights: fill(done, bytes), optimizer: fill(done + 7, 2 * bytes), history: { n: done } };
}

/** Every name under `dir` (recursively) that is a temp file of a write. */
function litter(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.includes('.tmp-'));
}

async function newRun(root = join(tempRoot(), 'run')): Promise<RunDir> {
  const dir = new RunDir(root);
  await dir.startNew({ runId: 'ck' });
  return dir;
}

describe('checkpoint files', () => {
  it('writes one dir per checkpoint, switches LATEST last, keeps the previous one', async () => {
    const dir = await newRun();
    for (const n of [1, 2, 3]) await writeCheckpoint(dir, ckpt(n));
    expect(readdirSync(dir.path('checkpoint')).sort()).toEqual(['LATEST', 'ckpt-000002', 'ckpt-000003']);
    expect(readFileSync(dir.path('checkpoint/LATEST'), 'utf8')).toBe('ckpt-000003\n');
    expect(readdirSync(dir.path('checkpoint/ckpt-000003')).sort()).toEqual([
      'history.json',
      'optimizer.bin',
      'policy.bin',
      'state.json',
    ]);
    const got = await readCheckpoint<{ n: number }>(new RunDir(dir.root));
    expect(got.name).toBe('ckpt-000003');
    expect(got.state.minibatches_done).toBe(3);
    expect(got.history).toEqual({ n: 3 });
    expect(got.weights).toEqual(ckpt(3).weights);
    expect(got.optimizer).toEqual(ckpt(3).optimizer);
    expect(litter(dir.root)).toEqual([]);
  });

  it('refuses a damaged checkpoint and says whether the previous one is intact', async () => {
    const dir = await newRun();
    for (const n of [1, 2]) await writeCheckpoint(dir, ckpt(n));
    const bin = dir.path('checkpoint/ckpt-000002/policy.bin');
    const bytes = readFileSync(bin);
    bytes[10] ^= 1;
    writeFileSync(bin, bytes);
    await expect(readCheckpoint(new RunDir(dir.root))).rejects.toThrow(
      /ckpt-000002 is damaged: policy.bin has SHA-256 .*refusing to resume\. The previous checkpoint ckpt-000001 is intact: to resume from it, run `echo ckpt-000001 > .*LATEST`/,
    );
    rmSync(dir.path('checkpoint/ckpt-000002/history.json'));
    rmSync(dir.path('checkpoint/ckpt-000001/optimizer.bin'));
    await expect(readCheckpoint(new RunDir(dir.root))).rejects.toThrow(
      /ckpt-000002 is damaged: (policy|history).*The previous checkpoint ckpt-000001 is damaged too/,
    );
  });

  it("refuses another run instance's checkpoint, an old layout, and no checkpoint at all", async () => {
    const a = await newRun();
    await writeCheckpoint(a, ckpt(1));
    const b = await newRun();
    await writeCheckpoint(b, ckpt(1));
    // b's run.json with a's checkpoints: the instance ids differ.
    writeFileSync(a.path('run.json'), readFileSync(b.path('run.json')));
    await expect(readCheckpoint(new RunDir(a.root))).rejects.toThrow(
      /belongs to run instance .* not this run's/,
    );
    const c = await newRun();
    await expect(readCheckpoint(c)).rejects.toThrow(/has no checkpoint yet.*--overwrite/);
    mkdirSync(c.path('checkpoint'), { recursive: true });
    writeFileSync(c.path('checkpoint/state.json'), '{}');
    await expect(readCheckpoint(c)).rejects.toThrow(/old single-file layout/);
  });

  it('deletes the temp litter of a cut write when the run is opened for resume', async () => {
    const dir = await newRun();
    await writeCheckpoint(dir, ckpt(1));
    mkdirSync(dir.path('checkpoint/ckpt-000002.tmp-4242'));
    writeFileSync(dir.path('checkpoint/ckpt-000002.tmp-4242/policy.bin'), 'x');
    writeFileSync(dir.path('report.json.tmp-4242-abc'), '{');
    expect(litter(dir.root)).toHaveLength(3);
    await new RunDir(dir.root).openForResume();
    expect(litter(dir.root)).toEqual([]);
    expect((await readCheckpoint(new RunDir(dir.root))).name).toBe('ckpt-000001');
  });

  it('leaves the previous checkpoint valid and no temp files when the filesystem is full', async (ctx) => {
    const mnt = tempRoot();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip('cannot mount a 1 MiB tmpfs here (needs root / CAP_SYS_ADMIN)');
    }
    try {
      const dir = await newRun(join(mnt, 'run'));
      await writeCheckpoint(dir, ckpt(1, 100_000)); // ~300 KB
      // Fill the filesystem, then leave ~150 KB: the next checkpoint's first file fits, a later one not.
      const fh = await open(join(mnt, 'filler'), 'w');
      const chunk = new Uint8Array(64 * 1024);
      let size = 0;
      try {
        for (;;) size += (await fh.write(chunk)).bytesWritten;
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      await fh.truncate(Math.max(0, size - 150_000));
      await fh.close();
      await expect(writeCheckpoint(dir, ckpt(2, 100_000))).rejects.toThrow(
        /could not write checkpoint .*ckpt-000002: ENOSPC.*the previous checkpoint ckpt-000001 is intact/,
      );
      expect(litter(dir.root)).toEqual([]);
      expect(readdirSync(dir.path('checkpoint')).sort()).toEqual(['LATEST', 'ckpt-000001']);
      const got = await readCheckpoint<{ n: number }>(new RunDir(dir.root));
      expect(got.state.minibatches_done).toBe(1);
      expect(got.weights).toEqual(ckpt(1, 100_000).weights);
    } finally {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    }
  });
});

describe('run dir: one run per directory', () => {
  it('refuses a new run into a non-empty dir, naming it and what it holds', async () => {
    const dir = await newRun();
    await writeCheckpoint(dir, ckpt(1));
    writeFileSync(dir.path('pairs.jsonl'), '{}\n');
    const before = readFileSync(dir.path('run.json'), 'utf8');
    await expect(new RunDir(dir.root).startNew({ runId: 'ck' })).rejects.toThrow(
      new RegExp(
        `run dir ${dir.root} is not empty: it holds run "ck" started .*; checkpoint ckpt-000001; ` +
          'files: checkpoint, pairs.jsonl, run.json.*tso resume.*--overwrite',
      ),
    );
    expect(readFileSync(dir.path('run.json'), 'utf8')).toBe(before);
    // --overwrite deletes the old run (and only what a run writes) and gives a new instance id.
    const again = await new RunDir(dir.root).startNew({ runId: 'ck', overwrite: true });
    expect(readdirSync(dir.root)).toEqual(['run.json']);
    expect(again.instance_id).not.toBe((JSON.parse(before) as { instance_id: string }).instance_id);
    writeFileSync(dir.path('notes.txt'), 'mine');
    await expect(new RunDir(dir.root).startNew({ runId: 'ck', overwrite: true })).rejects.toThrow(
      /--overwrite: .* holds files a tso run does not write \(notes.txt\)/,
    );
    expect(readFileSync(dir.path('notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses to resume when a log holds fewer rows than the checkpoint recorded', async () => {
    const dir = await newRun();
    writeFileSync(dir.path('steps.jsonl'), '{"a":1}\n{"a":2}\n{"a":3}\n');
    await dir.truncateJsonl('steps.jsonl', 2);
    expect(readFileSync(dir.path('steps.jsonl'), 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    await expect(dir.truncateJsonl('steps.jsonl', 5)).rejects.toThrow(
      /holds 2 rows but the checkpoint recorded 5/,
    );
  });

  it('gives each `tso demo` a fresh timestamped dir', () => {
    const t = new Date(2026, 11, 1, 9, 5, 7);
    expect(freshRunDir('runs/demo', t, () => false)).toBe('runs/demo-20261201-090507');
    const taken = new Set(['runs/demo-20261201-090507', 'runs/demo-20261201-090507-2']);
    expect(freshRunDir('runs/demo', t, (p) => taken.has(p))).toBe('runs/demo-20261201-090507-3');
  });
});
