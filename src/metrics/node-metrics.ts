// Prometheus metrics of one `tso node` (`--metrics HOST:PORT`): the process, what the node is, and
// the latency and errors of every RPC it serves, measured by wrapping the service's handlers (the
// transport stays untouched).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceRegistration } from '../transport/index.js';

type Handler = (...args: unknown[]) => unknown;

export interface NodeIdentity {
  node: string;
  role: string;
  model: string;
  backend: string;
}

const isPromise = (v: unknown): v is Promise<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly duration: Histogram;
  private readonly errors: Counter;

  constructor(id: NodeIdentity) {
    const r = [this.registry];
    this.registry.setDefaultLabels({ node: id.node });
    collectDefaultMetrics({ register: this.registry, prefix: 'tso_process_' });
    new Gauge({
      name: 'tso_node_info',
      help: 'What this node is (always 1)',
      labelNames: ['role', 'model', 'backend'],
      registers: r,
    }).set({ role: id.role, model: id.model, backend: id.backend }, 1);
    this.duration = new Histogram({
      name: 'tso_node_rpc_duration_seconds',
      help: 'Wall time of each served RPC, until its answer (or its last streamed message)',
      labelNames: ['method'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: r,
    });
    this.errors = new Counter({
      name: 'tso_node_rpc_errors_total',
      help: 'Served RPCs that ended with an error',
      labelNames: ['method'],
      registers: r,
    });
  }

  /** The same service with every handler timed. */
  timed(reg: ServiceRegistration): ServiceRegistration {
    const impl: Record<string, unknown> = {};
    for (const [name, h] of Object.entries(reg.impl as Record<string, unknown>))
      impl[name] =
        typeof h === 'function' ? this.wrap(`${reg.name}/${name}`, (h as Handler).bind(reg.impl)) : h;
    return { name: reg.name, impl };
  }

  private wrap(method: string, h: Handler): Handler {
    return (...args) => {
      const end = this.duration.startTimer({ method });
      const fail = (e: unknown) => {
        end();
        this.errors.inc({ method });
        throw e;
      };
      let out: unknown;
      try {
        out = h(...args);
      } catch (e) {
        return fail(e);
      }
      if (isPromise(out))
        return out.then((v) => {
          end();
          return v;
        }, fail);
      if (isAsyncIterable(out)) return timedStream(out, end, fail);
      end();
      return out;
    };
  }
}

async function* timedStream(
  src: AsyncIterable<unknown>,
  end: () => void,
  fail: (e: unknown) => never,
): AsyncGenerator<unknown> {
  let failed = false;
  try {
    yield* src;
  } catch (e) {
    failed = true;
    fail(e);
  } finally {
    // Also when the client goes away mid-stream (the generator is returned early).
    if (!failed) end();
  }
}
