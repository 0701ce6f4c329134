// The pairs browser's query over RUN_DIR/pairs.jsonl: filters by iteration, source (of either side:
// human / generator / policy, or a model name), decided-by and disputed, paged. The filter is pure;
// the reader streams the file so a large dataset is never held in memory.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface PairsFilter {
  iteration?: number;
  source?: string;
  decided_by?: string;
  disputed?: boolean;
  offset: number;
  limit: number;
}

export const MAX_PAGE = 100;
const MAX_LINE = 1 << 20;

type Row = Record<string, unknown>;
const rec = (v: unknown): Row => (typeof v === 'object' && v !== null ? (v as Row) : {});

/** Parses the query string; bad values are an error message (400), never a crash. */
export function parsePairsFilter(q: URLSearchParams): PairsFilter | string {
  const int = (name: string, min: number, max: number, dflt?: number): number | undefined | string => {
    const v = q.get(name);
    if (v === null || v === '') return dflt;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max
      ? n
      : `${name}: expected an integer in [${min}, ${max}]`;
  };
  const iteration = int('iteration', 0, 1e6);
  const offset = int('offset', 0, 1e7, 0);
  const limit = int('limit', 1, MAX_PAGE, 20);
  for (const v of [iteration, offset, limit]) if (typeof v === 'string') return v;
  const text = (name: string): string | undefined => {
    const v = q.get(name);
    return v === null || v === '' ? undefined : v.slice(0, 64);
  };
  const disputed = q.get('disputed');
  if (disputed !== null && !['', 'true', 'false'].includes(disputed))
    return 'disputed: expected true or false';
  return {
    iteration: iteration as number | undefined,
    source: text('source'),
    decided_by: text('decided_by'),
    disputed: disputed === 'true' ? true : disputed === 'false' ? false : undefined,
    offset: offset as number,
    limit: limit as number,
  };
}

export function matchesPair(row: Row, f: PairsFilter): boolean {
  const lin = rec(row.lineage);
  if (f.iteration !== undefined && lin.iteration !== f.iteration) return false;
  if (f.decided_by !== undefined && row.decided_by !== f.decided_by) return false;
  // A dispute's pair records its human label (null when unanswered); other pairs have none.
  if (f.disputed !== undefined && 'human_label' in lin !== f.disputed) return false;
  if (f.source !== undefined) {
    const sides = [rec(lin.chosen), rec(lin.rejected)];
    if (!sides.some((s) => s.source === f.source || s.model === f.source || s.node === f.source))
      return false;
  }
  return true;
}

export interface PairsPage {
  matched: number;
  offset: number;
  rows: Row[];
}

export async function queryPairs(file: string, f: PairsFilter): Promise<PairsPage> {
  const page: PairsPage = { matched: 0, offset: f.offset, rows: [] };
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.length === 0 || line.length > MAX_LINE) continue;
      let row: Row;
      try {
        row = rec(JSON.parse(line));
      } catch {
        continue; // a line being written
      }
      if (!matchesPair(row, f)) continue;
      if (page.matched >= f.offset && page.rows.length < f.limit) page.rows.push(row);
      page.matched++;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  } finally {
    lines.close();
    input.destroy();
  }
  return page;
}
