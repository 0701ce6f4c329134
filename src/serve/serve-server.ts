// `tso serve`: a tso model directory as an OpenAI-compatible HTTP API on node:http —
// GET /v1/models, GET /v1/models/{id}, POST /v1/completions, POST /v1/chat/completions (no streaming).
// Generation is synchronous tfjs work, so requests are answered one at a time; the bounds in
// SERVE_LIMITS keep any one of them short. No request can stop the server: every failure is a JSON
// error in OpenAI's shape (400 naming the field, 401, 404, 405, 413, 500 for our own bugs).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import type { GPT } from '../model/gpt.js';
import type { Logger } from '../util/log.js';
import { ApiError, fromZod, sendError, sendJson } from './api-error.js';
import { chatPrompt } from './chat-prompt.js';
import { complete, type CompletionJob } from './complete.js';
import { chatAnswer, completionAnswer, modelEntry, type AnswerMeta } from './openai-answers.js';
import { readJsonBody } from './read-body.js';
import { ChatRequestSchema, CompletionRequestSchema, SERVE_LIMITS } from './request-schemas.js';

export interface ServeOptions {
  model: GPT;
  /** The id clients put in `model` and /v1/models lists. */
  modelName: string;
  /** Identifies the weights (system_fingerprint). */
  fingerprint: string;
  host: string;
  port: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  maxBodyBytes?: number;
  log: Logger;
}

export interface ServeHandle {
  /** e.g. http://127.0.0.1:8000/v1 */
  url: string;
  close(): Promise<void>;
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (!r.success) throw fromZod(r.error);
  return r.data;
}

const stopList = (s: string | string[] | null | undefined): string[] =>
  s === null || s === undefined ? [] : typeof s === 'string' ? [s] : s;

export async function startServe(o: ServeOptions): Promise<ServeHandle> {
  const meta: AnswerMeta = { model: o.modelName, fingerprint: o.fingerprint };
  const createdS = Math.floor(Date.now() / 1000);
  const maxBody = o.maxBodyBytes ?? SERVE_LIMITS.bodyBytes;

  const checkModel = (model: string) => {
    if (model !== o.modelName)
      throw new ApiError(
        404,
        `model: "${model}" is not served here; this server serves "${o.modelName}" (GET /v1/models)`,
        'model',
        'invalid_request_error',
        'model_not_found',
      );
  };

  const completions = (body: unknown) => {
    const r = parse(CompletionRequestSchema, body);
    checkModel(r.model);
    const job: CompletionJob = {
      prompts: typeof r.prompt === 'string' ? [r.prompt] : r.prompt,
      promptParam: 'prompt',
      n: r.n ?? 1,
      temperature: r.temperature ?? 1,
      topP: r.top_p ?? 1,
      topK: r.top_k ?? 0,
      maxTokens: r.max_tokens ?? 16, // OpenAI's default for this endpoint
      seed: r.seed ?? undefined,
      stop: stopList(r.stop),
      topLogprobs: r.logprobs ?? undefined,
    };
    return completionAnswer(complete(o.model, job), job.n, meta, job.topLogprobs !== undefined);
  };

  const chat = (body: unknown) => {
    const r = parse(ChatRequestSchema, body);
    checkModel(r.model);
    if (r.top_logprobs !== null && r.top_logprobs !== undefined && r.logprobs !== true)
      throw new ApiError(400, 'top_logprobs: requires logprobs: true', 'top_logprobs');
    const job: CompletionJob = {
      prompts: [chatPrompt(r.messages)],
      promptParam: 'messages',
      n: r.n ?? 1,
      temperature: r.temperature ?? 1,
      topP: r.top_p ?? 1,
      topK: r.top_k ?? 0,
      // OpenAI's default is "until the context is full"; generation stops there by itself.
      maxTokens: r.max_completion_tokens ?? r.max_tokens ?? o.model.config.blockSize,
      seed: r.seed ?? undefined,
      stop: stopList(r.stop),
      topLogprobs: r.logprobs === true ? (r.top_logprobs ?? 0) : undefined,
    };
    return chatAnswer(complete(o.model, job), meta, r.logprobs === true);
  };

  const routes: Record<string, Partial<Record<string, (body: unknown) => unknown>>> = {
    '/v1/models': { GET: () => ({ object: 'list', data: [modelEntry(meta, createdS)] }) },
    [`/v1/models/${o.modelName}`]: { GET: () => modelEntry(meta, createdS) },
    '/v1/completions': { POST: completions },
    '/v1/chat/completions': { POST: chat },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`)
      throw new ApiError(
        401,
        'missing or wrong API key (Authorization: Bearer ...)',
        null,
        'authentication_error',
      );
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/\/+$/, '');
    const route = routes[path];
    if (route === undefined) {
      if (path.startsWith('/v1/models/'))
        throw new ApiError(
          404,
          `model "${path.slice(11)}" is not served here`,
          'model',
          undefined,
          'model_not_found',
        );
      throw new ApiError(
        404,
        `no route ${req.method} ${path}; see GET /v1/models, POST /v1/completions, POST /v1/chat/completions`,
      );
    }
    const method = req.method ?? 'GET';
    const fn = route[method];
    if (fn === undefined)
      throw new ApiError(405, `${method} is not allowed on ${path}; use ${Object.keys(route).join(', ')}`);
    const body = method === 'POST' ? await readJsonBody(req, maxBody) : undefined;
    const t0 = Date.now();
    const answer = fn(body);
    o.log.debug({ path, ms: Date.now() - t0 }, 'answered');
    sendJson(res, 200, answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      if (err.status >= 500) o.log.error({ err: e }, 'request failed');
      sendError(res, err);
    });
  });
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
