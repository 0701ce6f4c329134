// Which NATS a `tso cluster` run uses, and how each child connects to it. By default the launcher
// starts its own nats-server with one user per principal (random password, per-role permissions,
// nats-auth.ts) and hands every child its own credential through its environment only. An external
// NATS is explicit: the cluster config's `nats:` key (a plain URL = an open bus, said loudly).
import { basename } from 'node:path';
import { loadConfigFile } from '../../config/load-config.js';
import type { ClusterConfig } from '../cluster-config.js';
import { NATS_PASSWORD_ENV, NATS_RUN_ENV, NATS_SETTING_ENV, urlOf } from '../nats-setting.js';
import { checkNodeConfig, NodeConfigSchema } from '../node/node-config.js';
import { planNatsAuth, serverConfig, settingFor, type NatsUser, type NodePrincipal } from './nats-auth.js';
import { startNats, type NatsProcess } from './nats-process.js';

export interface ClusterNats {
  url: string;
  /** The server this launcher started (undefined: an external one). */
  server?: NatsProcess;
  /** Extra CLI arguments and environment of a node child (by its config path) or the coordinator. */
  node(configPath: string): { args: string[]; env: Record<string, string> };
  coordinator(): { args: string[]; env: Record<string, string> };
}

/** A child's environment never inherits another run's NATS credential from the launcher's own. */
const CLEARED = { [NATS_SETTING_ENV]: '', [NATS_PASSWORD_ENV]: '' };

export function childNodeName(configPath: string): string {
  return basename(configPath).replace(/\.ya?ml$/, '');
}

/** Every node config of the cluster config, checked (before anything starts), by config path. */
export async function loadPrincipals(cfg: ClusterConfig): Promise<Map<string, NodePrincipal>> {
  const principals = new Map<string, NodePrincipal>();
  for (const path of cfg.nodes) {
    const n = await loadConfigFile(path, NodeConfigSchema);
    checkNodeConfig(n, path);
    if (n.cluster !== cfg.cluster)
      throw new Error(`${path}: cluster: "${n.cluster}" is not the cluster config's "${cfg.cluster}"`);
    const seen = [...principals.entries()].find(([, p]) => p.id === n.id);
    if (seen) throw new Error(`${path}: id: node id "${n.id}" is also the id of ${seen[0]}`);
    principals.set(path, { id: n.id, role: n.role, replica: n.replica });
  }
  return principals;
}

export async function clusterNats(
  cfg: ClusterConfig,
  principals: Map<string, NodePrincipal>,
  out: (l: string) => void,
  alsoRemove: string[] = [],
): Promise<ClusterNats> {
  // The run instance the coordinator's subjects and buckets use; permissions are bound to it.
  const run = process.env[NATS_RUN_ENV] || `${cfg.run.run_id}-${Date.now().toString(36)}`;
  const runEnv = { [NATS_RUN_ENV]: run };
  if (cfg.nats !== undefined) {
    const url = urlOf(cfg.nats);
    if (typeof cfg.nats === 'string') {
      out(`[cluster] using the open NATS at ${url} (no credentials: anyone who reaches it controls the run)`);
      const args = ['--nats', url];
      return {
        url,
        node: () => ({ args, env: CLEARED }),
        coordinator: () => ({ args, env: { ...CLEARED, ...runEnv } }),
      };
    }
    // Each node connects with the credential of its own node config; the coordinator with this one.
    out(`[cluster] using the NATS at ${url} (credentials from the configs)`);
    return {
      url,
      node: () => ({ args: [], env: CLEARED }),
      coordinator: () => ({ args: [], env: { ...CLEARED, ...runEnv } }),
    };
  }
  const plan = planNatsAuth(cfg.cluster, run, [...principals.values()], cfg.run.run_id);
  const server = await startNats((l) => out(`[cluster] ${l}`), {
    config: (port, storeDir) => serverConfig(plan, { port, storeDir }),
    probe: { user: plan.coordinator.user, pass: plan.coordinator.password },
    alsoRemove,
  });
  out(`[cluster] NATS users: coordinator + ${plan.nodes.size} node(s), per-role permissions`);
  const envOf = (u: NatsUser): Record<string, string> => ({
    [NATS_SETTING_ENV]: JSON.stringify(settingFor(u, server.url, NATS_PASSWORD_ENV)),
    [NATS_PASSWORD_ENV]: u.password,
  });
  return {
    url: server.url,
    server,
    node: (path) => {
      const p = principals.get(path);
      const u = p && plan.nodes.get(p.id);
      if (!u) throw new Error(`${path}: not a node of the cluster config`);
      return { args: [], env: envOf(u) };
    },
    coordinator: () => ({ args: [], env: { ...envOf(plan.coordinator), ...runEnv } }),
  };
}
