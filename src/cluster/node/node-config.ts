// nodes/<name>.yaml: one process, one actor, one model, in one role.
import { z } from 'zod';
import { BACKEND_NAMES } from '../../backend/select-backend.js';
import { JudgeConfigSchema } from '../../judges/make-judge.js';
import type { SamplingOverride } from '../../model/generate.js';
import { GrpcTlsSchema } from '../grpc-tls.js';
import { NatsSettingSchema } from '../nats-setting.js';
import { EndpointConfigSchema } from './endpoint-config.js';

const Token = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'use 1-128 of [A-Za-z0-9_-]');
const HostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT');

export const NodeConfigSchema = z.strictObject({
  id: Token,
  role: z.enum(['policy', 'generator', 'judge']),
  /** Model directory (policy, generator; judge of type model names its own). */
  model: z.string().optional(),
  /** Name shown in lineage and membership; defaults to the model directory's name. */
  model_name: z.string().optional(),
  /** Prior tier of a generator (1 = most preferred after human responses). */
  tier: z.number().int().min(1).optional(),
  /** Replica index of a policy node. */
  replica: z.number().int().min(0).default(0),
  /** A tfjs backend for a local model, or `openai`: a generator whose model is behind `endpoint`. */
  backend: z.enum(['openai', ...BACKEND_NAMES] as [string, ...string[]]).default('auto'),
  /** The OpenAI-compatible server of a `backend: openai` generator (endpoint-config.ts). */
  endpoint: EndpointConfigSchema.optional(),
  /** Membership namespace: nodes and coordinator of one cluster share it. */
  cluster: Token.default('local'),
  /**
   * { url, creds | nkey_seed_file | user + password_env | token_env, tls }, or a plain URL (an open
   * bus). `tso cluster` hands its nodes their own per-run credentials instead (TSO_NATS_CONFIG).
   */
  nats: NatsSettingSchema.default('nats://127.0.0.1:4222'),
  listen: HostPort.default('127.0.0.1:0'),
  /**
   * gRPC certificates { ca, cert, key, coordinator } (mTLS; state-changing RPCs only for the
   * coordinator's certificate) or `plaintext`. `tso cluster` hands its nodes per-run certificates.
   */
  grpc_tls: GrpcTlsSchema.optional(),
  /** Address other hosts use to reach this node (defaults to the bound listen address). */
  advertise: HostPort.optional(),
  /**
   * Membership entries expire this long after the last heartbeat, when this node creates the bucket;
   * an existing bucket keeps its TTL and the node heartbeats at that TTL / 3 (membership.ts).
   */
  heartbeat_ttl_ms: z.number().int().min(1000).default(6000),
  /**
   * Serve Prometheus metrics (process, RPC latencies and errors) at HOST:PORT (port 0: a free one, logged
   * as "node metrics"); `tso node --metrics` overrides it. Off when absent.
   */
  metrics: HostPort.optional(),
  /** Prompts per generation batch. */
  generate_batch: z.number().int().min(1).default(64),
  judge: JudgeConfigSchema.optional(),
  /**
   * Generator nodes: this node's own sampling, overriding the run's `sampling` key by key (the run's
   * settings stay the policy's and every other node's). Lineage records what was actually used.
   */
  sampling: z
    .strictObject({
      temperature: z.number().min(0).optional(),
      top_k: z.number().int().min(0).optional(),
      top_p: z.number().gt(0).max(1).optional(),
    })
    .optional(),
});

export type NodeConfig = z.infer<typeof NodeConfigSchema>;

/** Cross-field rules zod cannot express per key; messages name the key. */
export function checkNodeConfig(c: NodeConfig, source: string): void {
  const need = (cond: boolean, key: string, why: string) => {
    if (!cond) throw new Error(`${source}: ${key}: ${why}`);
  };
  const remote = c.backend === 'openai';
  if (remote) {
    need(
      c.role === 'generator',
      'backend',
      `openai is for generator nodes only (this node's role is ${c.role})`,
    );
    need(
      c.endpoint !== undefined,
      'endpoint',
      'required with backend: openai, e.g. endpoint: { base_url: http://127.0.0.1:8000/v1, model: NAME }',
    );
    need(
      c.model === undefined,
      'model',
      'not used with backend: openai (the endpoint serves the model); remove it',
    );
  } else {
    need(
      c.endpoint === undefined,
      'endpoint',
      'only used with backend: openai; set backend: openai or remove endpoint',
    );
  }
  if (c.role !== 'judge' && !remote) need(c.model !== undefined, 'model', `required for role ${c.role}`);
  if (c.role === 'generator') need(c.tier !== undefined, 'tier', 'required for role generator');
  if (c.role === 'judge') need(c.judge !== undefined, 'judge', 'required for role judge');
  if (c.sampling) need(c.role === 'generator', 'sampling', 'only a generator node can override sampling');
}

/** The node's sampling override in the model's terms (undefined: the run's sampling). */
export function samplingOverrideOf(c: NodeConfig): SamplingOverride | undefined {
  const s = c.sampling;
  return s ? { temperature: s.temperature, topK: s.top_k, topP: s.top_p } : undefined;
}
