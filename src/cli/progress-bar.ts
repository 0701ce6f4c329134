// The launcher's terminal view: in an interactive terminal a progress bar (mini-batch, phase, ETA) stays
// under the scrolling log lines; piped or in CI the plain status lines are kept (a redrawn bar would
// garble a log file). The bar follows the coordinator's own progress lines, so it needs no channel of
// its own and shows exactly what the log says.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/** The phases of a mini-batch in the order the loop runs them. */
const PHASES = ['evaluate', 'generate', 'pairs', 'reference', 'train', 'refresh', 'checkpoint'] as const;

export interface Progress {
  minibatch: number;
  of: number;
  phase: string;
  /** Position in [0, of × phases]: mini-batches done, plus the phase reached in the current one. */
  value: number;
  total: number;
}

const LINE = /^\[coordinator\] \[tso +\d+s\] mini-batch (\d+)\/(\d+) ([a-z]+)/;

/** The run's progress from one launcher log line, or undefined when the line is not a progress line. */
export function progressOf(line: string): Progress | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const minibatch = Number(m[1]);
  const of = Number(m[2]);
  const phase = m[3];
  const k = PHASES.indexOf(phase as (typeof PHASES)[number]);
  if (k < 0 || minibatch < 1 || minibatch > of) return undefined;
  return { minibatch, of, phase, value: (minibatch - 1) * PHASES.length + k, total: of * PHASES.length };
}

export interface LauncherOutput {
  out: (line: string) => void;
  /** Ends the bar: full when the run completed, left where it stopped otherwise. */
  stop: (completed: boolean) => void;
}

/** A progress bar under the log lines when stdout is an interactive terminal (not CI); else undefined. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stdout): LauncherOutput | undefined {
  if (!stream.isTTY || process.env.CI) return undefined;
  const multi = new MultiBar(
    {
      stream,
      format:
        ' TSO {bar} {percentage}% | mini-batch {minibatch}/{of} {phase} | {duration_formatted} | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 20,
    },
    Presets.shades_classic,
  );
  let bar: SingleBar | undefined;
  return {
    out: (line) => {
      // Before the first progress line there is no bar: write straight through (MultiBar only prints
      // logged lines when it redraws a bar).
      if (bar) multi.log(`${line}\n`);
      else stream.write(`${line}\n`);
      const p = progressOf(line);
      if (!p) return;
      const payload = { minibatch: p.minibatch, of: p.of, phase: p.phase };
      bar ??= multi.create(p.total, 0, payload);
      bar.update(p.value, payload);
    },
    stop: (completed) => {
      if (!bar) return;
      if (completed) bar.update(bar.getTotal());
      multi.update(); // prints the lines logged since the last redraw
      multi.stop();
    },
  };
}

/** Runs a launcher with the terminal bar when there is one; returns its exit code. */
export async function withProgress(
  run: (out: ((line: string) => void) | undefined) => Promise<number>,
): Promise<number> {
  const bar = terminalProgress();
  let code = 1;
  try {
    code = await run(bar?.out);
  } finally {
    bar?.stop(code === 0);
  }
  return code;
}
