// Reads a request body as JSON, refusing more than maxBytes before buffering it: a client cannot grow
// the server's memory by sending (or announcing) a huge body. Past the cap the rest is read and
// dropped, not buffered (destroying the request would reset the socket before the 413 is sent; the
// answer closes the connection instead).
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, `request body exceeds this server's limit of ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
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
      req.resume(); // drain without keeping anything
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
