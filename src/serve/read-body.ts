// Reads a request body as JSON, refusing more than maxBytes before buffering it: a client cannot grow
// the server's memory by sending (or announcing) a huge body.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new ApiError(
      413,
      `request body exceeds this server's limit of ${maxBytes} bytes`,
      null,
      'invalid_request_error',
    );
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge();
    parts.push(chunk);
  }
  const text = Buffer.concat(parts, total).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
}
