// Errors of `tso serve` in OpenAI's shape, {error: {message, type, param, code}}, so OpenAI clients
// show them as they would show OpenAI's own. A zod failure becomes a 400 naming the field.
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** The first issue of a failed parse as a 400: "n: Too big: expected number to be <=16". */
export function fromZod(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return new ApiError(400, `${param ?? 'body'}: ${issue.message}${more}`, param);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } });
}
