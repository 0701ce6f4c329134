// Shared CLI option parsers: a bad value is a clear usage error naming the option.
import { InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES } from '../backend/select-backend.js';

export function intArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${v}"`);
  return n;
}

export function nonNegIntArg(v: string): number {
  const n = intArg(v);
  if (n < 0) throw new InvalidArgumentError(`expected an integer >= 0, got "${v}"`);
  return n;
}

export function floatArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${v}"`);
  return n;
}

export function backendOption(): Option {
  return new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_NAMES]).default('auto');
}
