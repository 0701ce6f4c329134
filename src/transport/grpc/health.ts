// The standard grpc.health.v1.Health service (Check + Watch) with per-service statuses.
// The empty service name "" is the server's overall status.
import { status } from '@grpc/grpc-js';
import { GrpcStatusError } from '../errors.js';
import { ServingStatus } from '../proto/enums.js';
import type { HealthCheckResponse } from '../proto/types.js';
import { AsyncQueue } from '../util/async-queue.js';
import type { CallContext, ServiceImpl } from './services.js';

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<AsyncQueue<HealthCheckResponse>>>();
  private stopped = false;

  /** Sets the status of a service ("" = whole server) and notifies watchers. */
  setStatus(service: string, servingStatus: ServingStatus): void {
    if (this.stopped) return;
    const prev = this.statuses.get(service);
    this.statuses.set(service, servingStatus);
    if (prev !== servingStatus) this.notify(service, servingStatus);
  }

  getStatus(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Marks everything NOT_SERVING, ends every Watch stream, and ignores later updates. */
  shutdown(): void {
    for (const service of this.statuses.keys()) this.setStatus(service, ServingStatus.NOT_SERVING);
    this.stopped = true;
    for (const set of this.watchers.values()) for (const q of set) q.end();
    this.watchers.clear();
  }

  /** Handlers for startServer's services list. */
  impl(): ServiceImpl<'grpc.health.v1.Health'> {
    return {
      check: (req) => {
        const s = this.statuses.get(req.service);
        if (s === undefined) throw new GrpcStatusError(status.NOT_FOUND, `unknown service "${req.service}"`);
        return { status: s };
      },
      watch: (req, ctx) => this.watch(req.service, ctx),
    };
  }

  private watch(service: string, ctx: CallContext): AsyncIterable<HealthCheckResponse> {
    const set = this.watchers.get(service) ?? new Set<AsyncQueue<HealthCheckResponse>>();
    this.watchers.set(service, set);
    const queue: AsyncQueue<HealthCheckResponse> = new AsyncQueue<HealthCheckResponse>({
      // Drop the service's entry with its last watcher: watching made-up names must not grow the map.
      onClose: () => {
        set.delete(queue);
        if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
      },
    });
    set.add(queue);
    queue.push({ status: this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN });
    if (this.stopped) queue.end();
    ctx.signal.addEventListener('abort', () => queue.return(), { once: true });
    return queue;
  }

  private notify(service: string, servingStatus: ServingStatus): void {
    for (const q of this.watchers.get(service) ?? []) q.push({ status: servingStatus });
  }
}
