// Reads an HTTP response body up to a byte cap: an endpoint (or whatever answers at its address) that
// sends a huge body must not grow this process's memory without bound. Over the cap the read stops,
// the rest is cancelled and BodyTooLargeError says how far it got.

export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    readonly seen: number,
  ) {
    super(`response body exceeds ${limit} bytes (stopped after ${seen})`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body as text, refusing more than maxBytes (a larger Content-Length is refused unread). */
export async function readCappedText(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(maxBytes, 0);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(maxBytes, total);
    }
    parts.push(value);
  }
  return Buffer.concat(parts, total).toString('utf8');
}
