// NATS subject and JetStream bucket names of the data plane (DESIGN.md "Planes").
// Every variable part must be a safe token: [A-Za-z0-9_-], 1..128 chars (no dots/wildcards),
// so it can be both a subject token and part of a bucket name.
import { InvalidNameError } from '../errors.js';

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Returns s if it is a safe token, else throws InvalidNameError naming what it is. */
export function token(what: string, s: string | number): string {
  const v = String(s);
  if (!TOKEN.test(v)) {
    throw new InvalidNameError(`${what} "${v}" is not a valid name: use 1-128 of [A-Za-z0-9_-]`);
  }
  return v;
}

function int(what: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidNameError(`${what} must be an integer >= 0, got ${n}`);
  return String(n);
}

export const subjects = {
  /** Responses of one node for one iteration: tso.<run>.<iter>.responses.<node> */
  responses: (run: string, iter: number, node: string): string =>
    `tso.${token('run', run)}.${int('iteration', iter)}.responses.${token('node', node)}`,
  /** All nodes' responses for one iteration. */
  responsesAll: (run: string, iter: number): string =>
    `tso.${token('run', run)}.${int('iteration', iter)}.responses.*`,
  /** A replica's gradient shard: tso.<run>.grad.<step>.<replica> */
  grad: (run: string, step: number, replica: number): string =>
    `tso.${token('run', run)}.grad.${int('step', step)}.${int('replica', replica)}`,
  /** All replicas' gradient shards for one step. */
  gradAll: (run: string, step: number): string => `tso.${token('run', run)}.grad.${int('step', step)}.*`,
  /** The averaged update of a step: tso.<run>.update.<step> */
  update: (run: string, step: number): string => `tso.${token('run', run)}.update.${int('step', step)}`,
  /** Every step's update (a replica subscribes once). */
  updateAll: (run: string): string => `tso.${token('run', run)}.update.*`,
  /**
   * One replica's weight checksum after a step: tso.<run>.checksum.<step>.<node>. Per node, so the
   * server's permissions let a replica speak only for itself.
   */
  checksum: (run: string, step: number, node: string): string =>
    `tso.${token('run', run)}.checksum.${int('step', step)}.${token('node', node)}`,
  /** Every replica's checksum of one step. */
  checksumAll: (run: string, step: number): string =>
    `tso.${token('run', run)}.checksum.${int('step', step)}.*`,
  /** New reference/policy weight version announced: tso.<run>.ref */
  ref: (run: string): string => `tso.${token('run', run)}.ref`,
  /** One node's acknowledgement of a weight version: tso.<run>.ack.<version>.<node> */
  ack: (run: string, version: string, node: string): string =>
    `tso.${token('run', run)}.ack.${token('version', version)}.${token('node', node)}`,
  /** Every node's acknowledgement of a weight version. */
  ackAll: (run: string, version: string): string =>
    `tso.${token('run', run)}.ack.${token('version', version)}.*`,
  /** Every subject of a run (for debugging / recording). */
  all: (run: string): string => `tso.${token('run', run)}.>`,
} as const;

export const buckets = {
  /** KV of live members: key = node id, value = MemberRecord. */
  nodes: (cluster: string): string => `tso_${token('cluster', cluster)}_nodes`,
  /** Object store of weight versions: name = version. */
  weights: (run: string): string => `tso_${token('run', run)}_weights`,
  /** KV of run state pointers (e.g. latest weight version). */
  state: (run: string): string => `tso_${token('run', run)}_state`,
  /**
   * KV holding the coordinator's lease on a run (key LEASE_KEY). Named by the run id of the config,
   * not the instance: two coordinators of one run meet here whatever instance suffix each picked.
   */
  lease: (runId: string): string => `tso_${token('run id', runId)}_lease`,
} as const;

/** Key of the latest weight version pointer in the state bucket. */
export const LATEST_WEIGHTS_KEY = 'weights.latest';

/** Key of the coordinator's lease in buckets.lease(runId). */
export const LEASE_KEY = 'coordinator';

/** The last token of a subject (the node a per-node subject belongs to). */
export function lastToken(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
