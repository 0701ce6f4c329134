// Runs fn over items with at most `limit` calls in flight; results in input order. After the first
// failure (or when the signal aborts) no new call starts, and the first error is thrown once the
// calls in flight have settled (so no request outlives the caller unnoticed).
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined && !signal?.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  if (signal?.aborted) throw signal.reason;
  return out;
}
