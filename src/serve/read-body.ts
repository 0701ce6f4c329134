// Reads a request body as JSON, refusing more than maxBytes before buffering it: a client cannot grow
// the server's memory by sending (or announcing) a huge body. Past the cap the 413 goes out at once
// and the rest of the body is read and dropped, not kept, so the client (still writing) gets its
// answer instead of a broken pipe; a client that goes on for more than DRAIN_BYTES is cut off.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

const DRAIN_BYTES = 16 * 1024 * 1024;

/** Reads and drops what is left of a refused body, up to DRAIN_BYTES. */
function drain(req: IncomingMessage): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.byteLength;
    if (dropped > DRAIN_BYTES) req.destroy();
  });
  req.resume();
}

export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, `request body exceeds this server's limit of ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    drain(req);
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= maxBytes) return void parts.push(chunk);
      req.off('data', onData);
      req.off('end', onEnd);
      parts.length = 0;
      drain(req);
      reject(tooLarge());
    };
    const onEnd = () => {
      const text = Buffer.concat(parts, total).toString('utf8');
      try {
        resolve(JSON.parse(text) as unknown);
      } catch (e) {
        reject(new ApiError(400, `request body is not valid JSON: ${(e as Error).message}`));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', (e) => reject(new ApiError(400, `request body could not be read: ${e.message}`)));
  });
}
