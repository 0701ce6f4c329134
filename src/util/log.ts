// Structured logs (pino, JSON lines on stderr) so stdout stays free for command output.
import { pino, type Logger } from 'pino';

export type { Logger };

const level = process.env.TSO_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');

export const rootLogger: Logger = pino({ level, base: { pid: process.pid } }, pino.destination(2));

/** Commands that talk to a person (status, generate, ...) log warnings only unless TSO_LOG_LEVEL says otherwise. */
export function quietUnlessConfigured(): void {
  if (process.env.TSO_LOG_LEVEL) return;
  rootLogger.level = 'warn';
  process.env.TSO_LOG_LEVEL = 'warn'; // worker threads and child processes start with this environment
}

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
