// startServer: one grpc-js server hosting typed services plus grpc.health.v1.
import {
  Server,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { AuthContext } from '@grpc/grpc-js/build/src/auth-context.js';
import { logger, type Logger } from '../../util/log.js';
import { ServingStatus } from '../proto/enums.js';
import { serverCredentials, type ServerTlsOptions } from './credentials.js';
import { buildService } from './definition.js';
import { unimplemented, wrapHandler } from './handlers.js';
import type { MethodInfo } from './definition.js';
import { status } from './status.js';
import { HealthService } from './health.js';
import type { ServiceImpls, ServiceName } from './services.js';

/** Default max message size in both directions (chunk streams, batched generations). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Default concurrent RPCs per connection (a coordinator runs a handful per node). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 64;

export interface ServiceRegistration {
  readonly name: ServiceName;
  readonly impl: object;
}

/** Pairs a service name with its (type-checked) implementation. */
export function defineService<S extends ServiceName>(name: S, impl: ServiceImpls[S]): ServiceRegistration {
  return { name, impl };
}

export interface StartServerOptions {
  /** Interface to bind; default "127.0.0.1". Use "0.0.0.0" (or "::") to serve other hosts. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  services: ServiceRegistration[];
  /** Serve grpc.health.v1.Health (default true); every registered service starts SERVING. */
  health?: boolean;
  tls?: ServerTlsOptions;
  /**
   * Called before every RPC with the method path and the CN of the client certificate (mTLS); a
   * returned reason refuses the call with PERMISSION_DENIED.
   */
  authorize?: Authorize;
  maxMessageBytes?: number;
  /** Concurrent RPCs per client connection (default 64): one peer cannot open unbounded streams. */
  maxConcurrentStreams?: number;
  log?: Logger;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** host:port as bound (IPv6 hosts in brackets). */
  readonly address: string;
  readonly health: HealthService;
  readonly server: Server;
  /** Health → NOT_SERVING, then graceful shutdown; forced after graceMs (default 5000). */
  shutdown(graceMs?: number): Promise<void>;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export type Authorize = (method: string, peerCn: string | undefined) => string | undefined;

interface GuardedCall {
  getAuthContext?: () => AuthContext | null;
  emit(event: 'error', err: { code: number; details: string }): boolean;
}

function peerCn(call: GuardedCall): string | undefined {
  const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

function guarded(m: MethodInfo, h: UntypedHandleCall, authorize: Authorize, log: Logger): UntypedHandleCall {
  const inner = h as (call: GuardedCall, callback?: (err: { code: number; details: string }) => void) => void;
  const g = (call: GuardedCall, callback?: (err: { code: number; details: string }) => void): void => {
    const cn = peerCn(call);
    const denied = authorize(m.path, cn);
    if (denied === undefined) return inner(call, callback);
    log.warn({ method: m.path, peerCn: cn, reason: denied }, 'rpc refused: not authorized');
    const err = { code: status.PERMISSION_DENIED, details: denied };
    if (callback) callback(err);
    else call.emit('error', err);
  };
  return g as unknown as UntypedHandleCall;
}

function implementation(
  reg: ServiceRegistration,
  log: Logger,
  authorize?: Authorize,
): UntypedServiceImplementation {
  const built = buildService(reg.name);
  const impl = reg.impl as Record<string, unknown>;
  const out: UntypedServiceImplementation = {};
  for (const m of built.methods) {
    const fn = impl[m.implName];
    const h =
      typeof fn === 'function'
        ? wrapHandler(m, fn.bind(reg.impl) as (...args: never[]) => unknown, log)
        : unimplemented(m, reg.name);
    out[m.name] = authorize ? guarded(m, h, authorize, log) : h;
  }
  return out;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? logger('grpc-server');
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    'grpc.max_concurrent_streams': opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
  });
  const health = new HealthService();
  const regs = [...opts.services];
  if (opts.health !== false) regs.push({ name: 'grpc.health.v1.Health', impl: health.impl() });
  const seen = new Set<string>();
  for (const reg of regs) {
    if (seen.has(reg.name)) throw new Error(`service ${reg.name} registered twice`);
    seen.add(reg.name);
    const def: ServiceDefinition = buildService(reg.name).definition;
    server.addService(def, implementation(reg, log, opts.authorize));
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(formatAddress(host, opts.port ?? 0), serverCredentials(opts.tls), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  health.setStatus('', ServingStatus.SERVING);
  for (const reg of opts.services) health.setStatus(reg.name, ServingStatus.SERVING);
  const address = formatAddress(host, port);
  log.info({ address, services: opts.services.map((s) => s.name) }, 'grpc server listening');

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs = 5000): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      health.shutdown();
      const timer = setTimeout(() => {
        log.warn({ address, graceMs }, 'grpc server: graceful shutdown timed out, forcing');
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return stopping;
  };
  return { host, port, address, health, server, shutdown };
}
