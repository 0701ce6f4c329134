// Writes that survive a crash (of the process or of the machine): data is fsynced before it is renamed
// into place, and the directory holding the new name is fsynced after, so after a crash a reader finds
// the old file or the new one, never a torn or missing one. Temp names carry TMP_MARK so that a later
// start can recognise (and delete) the litter of a write that was cut short.
import { link, open, rename, rm, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export const TMP_MARK = '.tmp-';

/** A temp name next to `target`, unique to this process and call. */
export function tempPath(target: string): string {
  return `${target}${TMP_MARK}${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Writes `data` to `file` (created or truncated) and fsyncs it before returning. */
export async function writeDurable(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes the names in `dir` (new, renamed, removed entries) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs an existing file (e.g. an append-only log before a checkpoint records its length). */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** temp file + fsync + rename + fsync of the parent: `target` is the old content or the new, whole. */
export async function replaceAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(target);
  try {
    await writeDurable(tmp, data);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(target));
}

/**
 * Like replaceAtomic but fails with EEXIST when `target` exists (link(2) is atomic and exclusive):
 * two runs started into one directory at once cannot both claim it.
 */
export async function createExclusive(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(target);
  try {
    await writeDurable(tmp, data);
    await link(tmp, target);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await fsyncDir(dirname(target));
}
