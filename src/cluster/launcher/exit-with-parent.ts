// A process the launcher (`tso cluster`) started must not outlive it, even when the launcher is
// SIGKILLed and cannot stop anyone. The launcher gives each child a pipe on stdin and sets
// TSO_EXIT_WITH_PARENT=1; the kernel closes the pipe's write end when the launcher dies, however it
// dies, so the child sees end-of-file and exits. Node has no prctl(PR_SET_PDEATHSIG); this needs none.
// A process started by hand (no variable) is unaffected.

export const EXIT_WITH_PARENT_ENV = 'TSO_EXIT_WITH_PARENT';

/** How long a cleanup may take once the parent is gone before the process exits anyway. */
export const CLEANUP_DEADLINE_MS = 3000;

export interface ParentWatch {
  /** Runs (at most once, within CLEANUP_DEADLINE_MS) when the parent is gone, before exiting. */
  onGone(cleanup: () => Promise<void>): void;
}

const INERT: ParentWatch = { onGone: () => {} };

export function exitWithParent(who: string, exitCode = 0): ParentWatch {
  if (process.env[EXIT_WITH_PARENT_ENV] !== '1') return INERT;
  // Not inherited further: whatever this process starts decides for itself.
  delete process.env[EXIT_WITH_PARENT_ENV];
  let cleanup: (() => Promise<void>) | undefined;
  let gone = false;
  const leave = () => {
    if (gone) return;
    gone = true;
    // Nobody reads our output any more: a write must not throw EPIPE and skip the cleanup.
    for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
    process.stderr.write(`[${who}] the launcher is gone: exiting\n`);
    setTimeout(() => process.exit(exitCode), CLEANUP_DEADLINE_MS).unref();
    void (cleanup?.() ?? Promise.resolve()).catch(() => {}).finally(() => process.exit(exitCode));
  };
  process.stdin.on('end', leave);
  process.stdin.on('close', leave);
  process.stdin.on('error', leave);
  process.stdin.resume(); // read (and drop) whatever comes, to see the end of the stream
  // The pipe alone must not keep a finished process alive.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
  return { onGone: (f) => void (cleanup = f) };
}
