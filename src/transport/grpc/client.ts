// createClient: a typed client for one service at one address. Every call has a deadline
// (CallOptions.deadlineMs, else the client's defaultDeadlineMs, 30 s unless configured).
import { Client, status, type ChannelOptions } from '@grpc/grpc-js';
import { channelCredentials, type ClientTlsOptions } from './credentials.js';
import { clientStreamCall, serverStreamCall, unaryCall, type CallDefaults } from './client-calls.js';
import { buildService } from './definition.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './server.js';
import type { CallOptions, ClientMethods, ServiceName } from './services.js';
import { toRpcError } from './status.js';

export const DEFAULT_DEADLINE_MS = 30_000;

export interface ClientOptions {
  defaultDeadlineMs?: number;
  tls?: ClientTlsOptions;
  maxMessageBytes?: number;
  channelOptions?: Partial<ChannelOptions>;
}

export interface ClientControl {
  readonly serviceName: ServiceName;
  readonly address: string;
  /** Resolves once the channel is connected; rejects with RpcError(UNAVAILABLE) after deadlineMs. */
  waitForReady(deadlineMs?: number): Promise<void>;
  close(): void;
  /** The underlying grpc-js client (e.g. to share its channel). */
  readonly raw: Client;
}

export type TypedClient<S extends ServiceName> = ClientMethods<S> & ClientControl;

/** The host of a "host:port" / "[v6]:port" address (undefined for other target forms). */
function hostOf(address: string): string | undefined {
  const m = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^([^:/]+):\d+$/.exec(address);
  return m?.[1];
}

export function createClient<S extends ServiceName>(
  serviceName: S,
  address: string,
  opts: ClientOptions = {},
): TypedClient<S> {
  const built = buildService(serviceName);
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const { creds, options } = channelCredentials(opts.tls, hostOf(address));
  const raw = new Client(address, creds, {
    ...options,
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    ...opts.channelOptions,
  });
  const defaults: CallDefaults = { defaultDeadlineMs: opts.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS };
  const methods: Record<string, unknown> = {};
  for (const info of built.methods) {
    const wire = built.wire[info.name];
    if (info.kind === 'unary') {
      methods[info.implName] = (req: unknown, o?: CallOptions) =>
        unaryCall(raw, info, wire, req, o, defaults);
    } else if (info.kind === 'serverStream') {
      methods[info.implName] = (req: unknown, o?: CallOptions) =>
        serverStreamCall(raw, info, wire, req, o, defaults);
    } else {
      methods[info.implName] = (o?: CallOptions) => clientStreamCall(raw, info, wire, o, defaults);
    }
  }
  const control: ClientControl = {
    serviceName,
    address,
    raw,
    close: () => raw.close(),
    waitForReady: (deadlineMs = defaults.defaultDeadlineMs) =>
      new Promise<void>((resolve, reject) => {
        raw.waitForReady(Date.now() + deadlineMs, (err?: Error) => {
          if (!err) return resolve();
          const unavailable = { code: status.UNAVAILABLE, details: err.message, message: err.message };
          reject(toRpcError(unavailable, `${serviceName} @ ${address}`));
        });
      }),
  };
  return Object.assign(methods, control) as unknown as TypedClient<S>;
}
