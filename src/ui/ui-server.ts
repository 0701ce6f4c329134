// The run's HTTP UI: the dashboard, the labelling page, their JSON API, live updates over SSE and
// Prometheus' /metrics. Every route needs the run's token (auth.ts). A bad request is answered with a
// 4xx and never reaches the loop; a failure inside a handler is a 500, never a crash of the coordinator.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunMetrics } from '../metrics/run-metrics.js';
import type { WebChoice, WebFeedback } from '../tso/web-feedback.js';
import type { Logger } from '../util/log.js';
import { newToken, requestToken, sameToken, sessionCookie } from './auth.js';
import { HttpError, readJsonBody, sendJson, sendText } from './http-io.js';
import { parsePairsFilter, queryPairs } from './pairs-query.js';
import { recentLabels } from './run-files.js';
import type { RunStore, StoreChange } from './run-store.js';
import { SseHub } from './sse-hub.js';
import { staticFile } from './static-files.js';

export interface UiServerOptions {
  host: string;
  port: number;
  store: RunStore;
  runDir: string;
  /** The labelling source; absent for a run without `human: { source: web }` and for `tso ui`. */
  web?: WebFeedback;
  metrics?: RunMetrics;
  log: Logger;
}

export interface UiServer {
  url: string;
  /** The link to print once: it carries the token. */
  link: string;
  token: string;
  /** The labelling source, known only once the run has started (after the quorum). */
  attachWeb(web: WebFeedback): void;
  close(): Promise<void>;
}

const MAX_BODY = 4096;
const CHOICES = new Set<WebChoice>(['first', 'second', 'tie']);
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function parseAnswer(body: unknown): { choice: WebChoice; by: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof b.choice !== 'string' || !CHOICES.has(b.choice as WebChoice))
    throw new HttpError(400, 'choice: expected "first", "second" or "tie"');
  const by = typeof b.by === 'string' ? b.by.trim() : '';
  if (by.length === 0 || by.length > 64) throw new HttpError(400, 'by: your name, 1 to 64 characters');
  return { choice: b.choice as WebChoice, by };
}

export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const token = newToken();
  const hub = new SseHub();
  let port = 0;

  const snapshot = () => ({
    run: o.store.run,
    nodes: o.store.nodes,
    steps: o.store.steps,
    iterations: o.store.iterations,
    human: web?.summary() ?? null,
  });
  const onChange = (c: StoreChange) => {
    if (c.kind === 'step') hub.broadcast('step', c.point);
    else if (c.kind === 'run') hub.broadcast('run', o.store.run);
    else if (c.kind === 'nodes') hub.broadcast('nodes', o.store.nodes);
    else if (c.kind === 'steps') hub.broadcast('steps', o.store.steps);
    else if (c.kind === 'iterations') hub.broadcast('iterations', o.store.iterations);
  };
  const unsubscribe = o.store.subscribe(onChange);
  let web: WebFeedback | undefined;
  let unsubscribeWeb: (() => void) | undefined;
  const attachWeb = (w: WebFeedback) => {
    unsubscribeWeb?.();
    web = w;
    unsubscribeWeb = w.subscribe(() => {
      const s = w.summary();
      o.metrics?.setDisputesWaiting(s.waiting);
      hub.broadcast('human', s);
    });
  };
  if (o.web) attachWeb(o.web);

  async function disputes(): Promise<unknown> {
    return {
      live: o.store.run.live && web !== undefined,
      summary: web?.summary() ?? null,
      open: web?.openDisputes() ?? [],
      recent: await recentLabels(o.runDir, 20),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // browsers ask for it unasked; nothing to show, nothing to guard
      return;
    }
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const given = requestToken(req, url, port);
    if (!sameToken(given, token)) {
      sendText(res, 401, 'tso UI: missing or wrong token — open the link the coordinator printed at start\n');
      return;
    }
    const method = req.method ?? 'GET';
    const page =
      url.pathname === '/' ? 'dashboard.html' : url.pathname === '/label' ? 'label.html' : undefined;
    if (page && url.searchParams.has('token')) {
      // Trade the link's token for a cookie and drop it from the address bar.
      res.writeHead(303, { 'set-cookie': sessionCookie(port, token), location: url.pathname });
      res.end();
      return;
    }
    const name =
      page ?? (url.pathname.startsWith('/static/') ? url.pathname.slice('/static/'.length) : undefined);
    if (name !== undefined && method === 'GET') {
      const f = await staticFile(name);
      if (!f) throw new HttpError(404, 'not found');
      res.writeHead(200, { 'content-type': `${f.type}; charset=utf-8`, 'content-length': f.body.length });
      res.end(f.body);
      return;
    }
    if (method === 'GET' && url.pathname === '/api/state') return sendJson(res, 200, snapshot());
    if (method === 'GET' && url.pathname === '/api/events') {
      if (!hub.add(res, snapshot())) throw new HttpError(503, 'too many open dashboards');
      return;
    }
    if (method === 'GET' && url.pathname === '/api/pairs') {
      const f = parsePairsFilter(url.searchParams);
      if (typeof f === 'string') throw new HttpError(400, f);
      return sendJson(res, 200, await queryPairs(join(o.runDir, 'pairs.jsonl'), f));
    }
    if (method === 'GET' && url.pathname === '/api/disputes') return sendJson(res, 200, await disputes());
    const answer = /^\/api\/disputes\/([^/]{1,512})$/.exec(url.pathname);
    if (method === 'POST' && answer) {
      if (!web || !o.store.run.live)
        throw new HttpError(403, 'this run takes no answers (read-only or not `web`)');
      let id: string;
      try {
        id = decodeURIComponent(answer[1]!);
      } catch {
        throw new HttpError(400, 'bad dispute id');
      }
      const { choice, by } = parseAnswer(await readJsonBody(req, MAX_BODY));
      const r = await web.answer(id, choice, by);
      if (!r.ok) throw new HttpError(r.status, r.reason);
      return sendJson(res, 200, { id, label: r.label, summary: web.summary() });
    }
    if (method === 'GET' && url.pathname === '/metrics' && o.metrics) {
      const text = await o.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
      res.end(text);
      return;
    }
    throw new HttpError(404, 'not found');
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) o.log.warn({ err: (e as Error).message, path: req.url }, 'UI request failed');
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: status === 500 ? 'internal error' : (e as Error).message });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 64;
  // Open sockets are bounded too (SSE streams have their own, lower cap).
  server.maxConnections = 256;
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`UI at ${o.host}:${o.port}: ${e.message}`)));
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => o.log.warn({ err: e.message }, 'UI server error'));
  port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${host}:${port}/`;
  return {
    url,
    link: `${url}?token=${token}`,
    token,
    attachWeb,
    close: async () => {
      unsubscribe();
      unsubscribeWeb?.();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
