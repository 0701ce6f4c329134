// connectNats: a NATS connection that reconnects forever and logs its status changes.
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { logger, type Logger } from '../../util/log.js';

export type { NatsConnection };

export interface ConnectNatsOptions {
  /**
   * Keep trying when no server answers the first connect (default false: fail fast, so a
   * launcher can detect "no NATS here"). Once connected, reconnects never give up.
   */
  waitOnFirstConnect?: boolean;
  /** Timeout of each connection attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Delay between reconnect attempts to the same server (default 1000 ms). */
  reconnectTimeWaitMs?: number;
  /** Extra nats.js options (user/pass, token, tls, ...), applied last. */
  extra?: Partial<ConnectionOptions>;
  log?: Logger;
}

/** Connects to one URL or a list (a NATS cluster), e.g. "nats://127.0.0.1:4222". */
export async function connectNats(
  url: string | string[],
  name: string,
  opts: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const log = opts.log ?? logger('nats', { connection: name });
  const nc = await connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 1000,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
    timeout: opts.timeoutMs ?? 5000,
    pingInterval: 10_000,
    maxPingOut: 3,
    ...opts.extra,
  });
  log.info({ server: nc.getServer(), maxPayload: nc.info?.max_payload }, 'nats connected');
  void watchStatus(nc, log);
  nc.closed()
    .then((err) => {
      if (err) log.error({ err }, 'nats connection closed with error');
      else log.info('nats connection closed');
    })
    .catch(() => {});
  return nc;
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    for await (const s of nc.status()) {
      const data = typeof s.data === 'object' ? JSON.stringify(s.data) : s.data;
      switch (s.type) {
        case 'disconnect':
          log.warn({ server: data }, 'nats disconnected; reconnecting');
          break;
        case 'reconnect':
          log.info({ server: data }, 'nats reconnected');
          break;
        case 'error':
          log.error({ detail: data }, 'nats async error');
          break;
        case 'ldm':
          log.warn({ server: data }, 'nats server entering lame duck mode');
          break;
        case 'reconnecting':
          log.debug({ server: data }, 'nats reconnecting');
          break;
        case 'staleConnection':
          log.warn('nats connection stale');
          break;
        default:
          log.debug({ type: s.type, data }, 'nats status');
      }
    }
  } catch (err) {
    log.debug({ err }, 'nats status iterator ended');
  }
}

/**
 * True if a NATS server answers at url within timeoutMs (connects once, then closes). `extra` carries
 * the credential of a server that requires one.
 */
export async function probeNats(
  url: string,
  timeoutMs = 1500,
  extra: Partial<ConnectionOptions> = {},
): Promise<boolean> {
  try {
    const nc = await connect({
      servers: url,
      timeout: timeoutMs,
      maxReconnectAttempts: 0,
      reconnect: false,
      ...extra,
    });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}
