// The `nats:` key of node and cluster configs: a plain URL (an explicitly open bus, no credentials)
// or { url, one credential, tls } for a bus that keeps strangers out. Secrets never sit in a config:
// a config names the file or environment variable that holds them.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from 'nats';
import { z } from 'zod';
import { jsonFromEnv } from '../config/env-json.js';
import { connectNats, type NatsConnection } from '../transport/index.js';
import type { Logger } from '../util/log.js';

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

export const NatsAuthSchema = z.strictObject({
  url: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** A .creds file (user JWT + nkey seed), as `nsc` writes them. */
  creds: z.string().optional(),
  /** A file holding an nkey user seed (SU...). */
  nkey_seed_file: z.string().optional(),
  /** A user of the server's `authorization.users`; its password comes from `password_env`. */
  user: z.string().min(1).optional(),
  password_env: EnvName.optional(),
  /** An environment variable holding the server's authorization token. */
  token_env: EnvName.optional(),
  /**
   * Prefix of this connection's reply inboxes (default _INBOX). A server that lets each user
   * subscribe only to its own inboxes (so nobody reads another's replies) needs it.
   */
  inbox_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected subject tokens without wildcards')
    .optional(),
  tls: z
    .strictObject({
      /** CA that signed the server's certificate. */
      ca: z.string().optional(),
      /** Client certificate and key (servers that verify clients). */
      cert: z.string().optional(),
      key: z.string().optional(),
    })
    .optional(),
});

export const NatsSettingSchema = z.union([z.string().min(1), NatsAuthSchema]);

export type NatsAuth = z.infer<typeof NatsAuthSchema>;
export type NatsSetting = z.infer<typeof NatsSettingSchema>;

/** Environment variable through which `tso cluster` hands each child its NATS setting (JSON). */
export const NATS_SETTING_ENV = 'TSO_NATS_CONFIG';
/** Environment variable naming the run instance (subjects, buckets) the coordinator must use. */
export const NATS_RUN_ENV = 'TSO_NATS_RUN';
/** Environment variable holding the password of the launcher-generated NATS user of a child. */
export const NATS_PASSWORD_ENV = 'TSO_NATS_PASSWORD';

export interface ResolvedNats {
  servers: string | string[];
  /** Connection options carrying the credential, inbox prefix and TLS. */
  extra: Partial<ConnectionOptions>;
  /** True when no credential is configured (an open bus). */
  open: boolean;
}

/** Replaces the URL of a setting, keeping its credentials (the --nats override). */
export function withUrl(s: NatsSetting, url: string): NatsSetting {
  return typeof s === 'string' ? url : { ...s, url };
}

export function urlOf(s: NatsSetting): string {
  const u = typeof s === 'string' ? s : s.url;
  return Array.isArray(u) ? u.join(',') : u;
}

/** The setting a `tso cluster` child was handed in TSO_NATS_CONFIG, if any. */
export function settingFromEnv(env: NodeJS.ProcessEnv = process.env): NatsSetting | undefined {
  return jsonFromEnv(env, NATS_SETTING_ENV, NatsSettingSchema);
}

/**
 * Reads the credential the setting names (files, environment) into nats.js options. Errors name the
 * config key (`key` is where the setting sits, e.g. "nats").
 */
export function resolveNats(
  s: NatsSetting,
  key = 'nats',
  env: NodeJS.ProcessEnv = process.env,
): ResolvedNats {
  if (typeof s === 'string') return { servers: s, extra: {}, open: true };
  const methods = (['creds', 'nkey_seed_file', 'user', 'token_env'] as const).filter(
    (m) => s[m] !== undefined,
  );
  if (methods.length > 1)
    throw new Error(`${key}: give one credential, not ${methods.map((m) => `${key}.${m}`).join(' and ')}`);
  const readFile = (k: string, path: string): Uint8Array => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${key}.${k}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  };
  const fromEnv = (k: string, name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${key}.${k}: environment variable ${name} is not set`);
    return v;
  };
  const extra: Partial<ConnectionOptions> = {};
  if (s.creds !== undefined) extra.authenticator = credsAuthenticator(readFile('creds', s.creds));
  if (s.nkey_seed_file !== undefined) {
    const seed = new TextDecoder().decode(readFile('nkey_seed_file', s.nkey_seed_file)).trim();
    extra.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (s.user !== undefined) {
    if (s.password_env === undefined) throw new Error(`${key}.password_env: required with ${key}.user`);
    extra.user = s.user;
    extra.pass = fromEnv('password_env', s.password_env);
  } else if (s.password_env !== undefined) {
    throw new Error(`${key}.user: required with ${key}.password_env`);
  }
  if (s.token_env !== undefined) extra.token = fromEnv('token_env', s.token_env);
  if (s.inbox_prefix !== undefined) extra.inboxPrefix = s.inbox_prefix;
  if (s.tls) {
    if ((s.tls.cert === undefined) !== (s.tls.key === undefined))
      throw new Error(`${key}.tls: cert and key go together`);
    for (const k of ['ca', 'cert', 'key'] as const) {
      const p = s.tls[k];
      if (p !== undefined) readFile(`tls.${k}`, p); // fail here, naming the key, not inside nats.js
    }
    extra.tls = { caFile: s.tls.ca, certFile: s.tls.cert, keyFile: s.tls.key };
  }
  return { servers: s.url, extra, open: methods.length === 0 };
}

/** Connects with a setting; an open bus is logged as such, so nobody runs one by accident. */
export async function connectSetting(
  s: NatsSetting,
  name: string,
  o: { key?: string; log: Logger },
): Promise<NatsConnection> {
  const r = resolveNats(s, o.key);
  if (r.open)
    o.log.warn(
      { url: urlOf(s) },
      'NATS without credentials: anyone who reaches this server can read and change the run',
    );
  return connectNats(r.servers, name, { log: o.log, extra: r.extra });
}
