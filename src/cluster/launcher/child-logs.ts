// Interleaves the children's output with a name prefix; pino JSON lines are shown as "LEVEL msg".
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

export function formatLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time: _t, pid: _p, component: _c, hostname: _h, node: _n, ...rest } = o;
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    return `${LEVELS[level as number] ?? level} ${String(msg ?? '')}${extra}`;
  } catch {
    return line;
  }
}

export function pipeWithPrefix(stream: Readable | null, prefix: string, out: (l: string) => void): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (l) => out(`${prefix} ${formatLine(l)}`));
}
