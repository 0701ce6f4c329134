// Checkpoints on disk, crash-safe. Layout (RUN_DIR/checkpoint/):
//   ckpt-000003/{policy.bin, optimizer.bin, history.json, state.json}   one directory per checkpoint
//   LATEST                                                               "ckpt-000003": the one to resume
// A checkpoint is written into a temp directory, every file and the directory fsynced, renamed into
// place, and only then LATEST is switched (temp file + fsync + rename + fsync of checkpoint/). A crash at
// any point leaves LATEST naming a whole checkpoint. The previous checkpoint is kept; older ones are
// deleted only after the switch. Resume verifies every file against the SHA-256s in state.json and the
// run instance against run.json; a damaged checkpoint is refused with a clear message (never silently
// replaced by an older one: the message says how to pick the previous one by hand).
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../../model/weights-codec.js';
import type { CheckpointState } from './checkpoint-state.js';
import { fsyncDir, replaceAtomic, TMP_MARK, writeDurable } from './durable-fs.js';
import type { RunDir } from './run-dir.js';

export interface Checkpoint<H> {
  state: CheckpointState;
  weights: Uint8Array;
  optimizer: Uint8Array;
  /** What the loop needs to rebuild its record (initial evaluation, iterations so far). */
  history: H;
}

// Two checkpoints are kept: the one LATEST names and the one it named before (deleted at the next).
const NAME = /^ckpt-\d{6}$/;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  /** True when files are missing or do not match their SHA-256 (as opposed to "not this run's"). */
  constructor(
    message: string,
    readonly damaged = false,
  ) {
    super(message);
  }
}

export const checkpointName = (minibatchesDone: number) => `ckpt-${String(minibatchesDone).padStart(6, '0')}`;

/**
 * Test-only crash injection: TSO_TEST_CRASH_AT=<point>[@<minibatches_done>] makes the write path exit
 * with 137 (as if SIGKILLed) at that point. Inert when the variable is unset.
 */
function testCrashPoint(point: string, minibatchesDone: number): void {
  const want = process.env.TSO_TEST_CRASH_AT;
  if (!want) return;
  const [p, n] = want.split('@');
  if (p === point && (n === undefined || Number(n) === minibatchesDone)) process.exit(137);
}

async function readPointer(ckRoot: string): Promise<string | undefined> {
  const text = await readFile(join(ckRoot, 'LATEST'), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  return text?.trim();
}

/** Writes the checkpoint of `c.state.minibatches_done` and makes it the one resume uses. */
export async function writeCheckpoint<H>(dir: RunDir, c: Checkpoint<H>): Promise<string> {
  const ckRoot = dir.path('checkpoint');
  await mkdir(ckRoot, { recursive: true });
  const done = c.state.minibatches_done;
  const name = checkpointName(done);
  const final = join(ckRoot, name);
  const tmp = `${final}${TMP_MARK}${process.pid}`;
  const previous = await readPointer(ckRoot);
  const history = JSON.stringify(c.history) + '\n';
  const state: CheckpointState = {
    ...c.state,
    // From the bytes actually written, so that resume's verification cannot disagree with them.
    policy_sha256: sha256Hex(c.weights),
    optimizer_sha256: sha256Hex(c.optimizer),
    history_sha256: sha256Hex(new TextEncoder().encode(history)),
    run_instance: (await dir.instance(c.state.run_id)).instance_id,
  };
  let switched = false;
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    await writeDurable(join(tmp, 'policy.bin'), c.weights);
    testCrashPoint('checkpoint-after-weights', done);
    await writeDurable(join(tmp, 'optimizer.bin'), c.optimizer);
    await writeDurable(join(tmp, 'history.json'), history);
    await writeDurable(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n');
    await fsyncDir(tmp);
    // The logs' lengths are in state.json: they must be on disk before the checkpoint counts.
    await dir.syncLogs();
    await rm(final, { recursive: true, force: true }); // an unpointed leftover of a cut write
    await rename(tmp, final);
    await fsyncDir(ckRoot);
    testCrashPoint('checkpoint-before-pointer', done);
    await replaceAtomic(join(ckRoot, 'LATEST'), name + '\n');
    switched = true;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (!switched) await rm(final, { recursive: true, force: true });
    throw new CheckpointError(
      `could not write checkpoint ${final}: ${(e as Error).message}; ` +
        (previous ? `the previous checkpoint ${previous} is intact` : 'no earlier checkpoint exists'),
    );
  }
  // Only now that LATEST names the new one: everything but it and the previous one goes.
  const keep = new Set([name, previous].filter((x): x is string => x !== undefined));
  for (const e of await readdir(ckRoot))
    if ((NAME.test(e) && !keep.has(e)) || e.includes(TMP_MARK))
      await rm(join(ckRoot, e), { recursive: true, force: true });
  return name;
}

/** Reads and verifies one checkpoint directory; throws a CheckpointError saying what is wrong. */
async function readOne<H>(ckRoot: string, name: string, instanceId: string): Promise<Checkpoint<H>> {
  const at = join(ckRoot, name);
  const damaged = (what: string) => new CheckpointError(`checkpoint ${at} is damaged: ${what}`, true);
  const file = async (f: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await readFile(join(at, f)));
    } catch (e) {
      throw damaged(`${f}: ${(e as Error).message}`);
    }
  };
  const check = (f: string, bytes: Uint8Array, want: string | undefined) => {
    const got = sha256Hex(bytes);
    if (got !== want) throw damaged(`${f} has SHA-256 ${got}, state.json recorded ${want}`);
  };
  let state: CheckpointState;
  try {
    state = JSON.parse(new TextDecoder().decode(await file('state.json'))) as CheckpointState;
  } catch (e) {
    throw e instanceof CheckpointError ? e : damaged(`state.json: ${(e as Error).message}`);
  }
  if (state.format !== 'tso-checkpoint') throw damaged('state.json is not a tso checkpoint');
  if (state.run_instance !== instanceId)
    throw new CheckpointError(
      `checkpoint ${at} belongs to run instance ${state.run_instance ?? '(none)'}, but run.json names ` +
        `${instanceId}: it is not this run's, refusing to resume from it`,
    );
  const weights = await file('policy.bin');
  check('policy.bin', weights, state.policy_sha256);
  const optimizer = await file('optimizer.bin');
  check('optimizer.bin', optimizer, state.optimizer_sha256);
  const historyBytes = await file('history.json');
  check('history.json', historyBytes, state.history_sha256);
  const history = JSON.parse(new TextDecoder().decode(historyBytes)) as H;
  return { state, weights, optimizer, history };
}

/** The checkpoint LATEST names, verified; a clear CheckpointError when there is none or it is damaged. */
export async function readCheckpoint<H>(dir: RunDir): Promise<Checkpoint<H> & { name: string }> {
  const ckRoot = dir.path('checkpoint');
  const inst = await dir.readInstance();
  if (!inst)
    throw new CheckpointError(
      `${dir.path('run.json')} is missing: ${dir.root} is not a run dir of this tso version, cannot resume`,
    );
  const name = await readPointer(ckRoot);
  if (name === undefined) {
    const old = await readFile(join(ckRoot, 'state.json')).then(
      () => true,
      () => false,
    );
    throw new CheckpointError(
      old
        ? `${ckRoot} holds a checkpoint of the old single-file layout, which this tso does not resume: ` +
            'start the run again (a new run dir, or --overwrite)'
        : `${dir.root} has no checkpoint yet (the run stopped before its first mini-batch was saved): ` +
            'start it again with --overwrite',
    );
  }
  if (!NAME.test(name))
    throw new CheckpointError(`${join(ckRoot, 'LATEST')} names "${name}", not a checkpoint`);
  try {
    return { ...(await readOne<H>(ckRoot, name, inst.instance_id)), name };
  } catch (e) {
    if (!(e instanceof CheckpointError) || !e.damaged) throw e;
    // No silent fallback: say whether the previous checkpoint is intact and how to pick it by hand
    // (the run is deterministic, so resuming from it gives the same result, only later).
    const prev = (await readdir(ckRoot))
      .filter((x) => NAME.test(x) && x < name)
      .sort()
      .at(-1);
    let hint = ' No earlier checkpoint is kept.';
    if (prev) {
      const ok = await readOne(ckRoot, prev, inst.instance_id).then(
        () => true,
        () => false,
      );
      hint = ok
        ? ` The previous checkpoint ${prev} is intact: to resume from it, run ` +
          `\`echo ${prev} > ${join(ckRoot, 'LATEST')}\` and resume again.`
        : ` The previous checkpoint ${prev} is damaged too.`;
    }
    throw new CheckpointError(`${e.message}; refusing to resume.${hint}`, true);
  }
}
