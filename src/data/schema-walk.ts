import type { z } from 'zod';

/*
 * Reads zod 4 schema definitions (`_zod.def`) to answer two questions error messages need:
 * which keys does the object at a path accept (for "did you mean"), and which objects would
 * silently strip unknown keys (config schemas must reject them instead).
 */

interface Def {
  type: string;
  shape?: Record<string, Walkable>;
  catchall?: Walkable;
  innerType?: Walkable;
  element?: Walkable;
  valueType?: Walkable;
  items?: readonly Walkable[];
  rest?: Walkable | null;
  options?: readonly Walkable[];
  left?: Walkable;
  right?: Walkable;
  in?: Walkable;
  getter?: () => Walkable;
  format?: string;
  checks?: readonly { _zod: { def: { format?: string } } }[];
}

interface Walkable {
  _zod: { def: Def };
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'catch', 'readonly']);

function asWalkable(schema: z.ZodType): Walkable {
  return schema as unknown as Walkable;
}

/** The concrete schemas behind wrappers, pipes, lazies, unions and intersections. */
function expand(s: Walkable, seen: Set<Walkable> = new Set()): Walkable[] {
  if (seen.has(s)) return [];
  seen.add(s);
  const def = s._zod.def;
  if (WRAPPERS.has(def.type) && def.innerType) return expand(def.innerType, seen);
  if (def.type === 'pipe' && def.in) return expand(def.in, seen);
  if (def.type === 'lazy' && def.getter) return expand(def.getter(), seen);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => expand(o, seen));
  if (def.type === 'intersection' && def.left && def.right) {
    return [...expand(def.left, seen), ...expand(def.right, seen)];
  }
  return [s];
}

function child(s: Walkable, seg: PropertyKey): Walkable | undefined {
  const def = s._zod.def;
  switch (def.type) {
    case 'object':
      return (
        (typeof seg === 'string' && def.shape && Object.hasOwn(def.shape, seg)
          ? def.shape[seg]
          : undefined) ?? def.catchall
      );
    case 'array':
      return def.element;
    case 'record':
    case 'map':
      return def.valueType;
    case 'tuple':
      return (typeof seg === 'number' ? def.items?.[seg] : undefined) ?? def.rest ?? undefined;
    default:
      return undefined;
  }
}

/** The concrete schemas that could apply at `path` (several when unions are involved). */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[]): Walkable[] {
  let level = expand(asWalkable(schema));
  for (const seg of path) {
    level = level.flatMap((s) => {
      const c = child(s, seg);
      return c ? expand(c) : [];
    });
  }
  return level;
}

const INT_FORMATS = new Set(['safeint', 'int32', 'uint32', 'int64', 'uint64']);

/** Whether the value at `path` must be an integer (`z.int()`, `z.number().int()`). */
export function isIntegerAt(schema: z.ZodType, path: readonly PropertyKey[]): boolean {
  const nums = schemasAt(schema, path).filter((s) => s._zod.def.type === 'number');
  const isInt = (d: Def): boolean =>
    INT_FORMATS.has(d.format ?? '') || (d.checks ?? []).some((c) => INT_FORMATS.has(c._zod.def.format ?? ''));
  return nums.length > 0 && nums.every((s) => isInt(s._zod.def));
}

/** Keys the object schema(s) at `path` declare; empty when the path leads nowhere known. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema, path)) {
    if (s._zod.def.type === 'object') for (const k of Object.keys(s._zod.def.shape ?? {})) keys.add(k);
  }
  return [...keys];
}

/**
 * Paths (like `training`, `nodes[]`) of objects in strip mode, i.e. plain `z.object`, which drop
 * unknown keys without a word. `z.strictObject` rejects them; `z.looseObject` keeps them on purpose.
 */
export function findStripObjects(schema: z.ZodType): string[] {
  const found: string[] = [];
  const seen = new Set<Walkable>();
  const visit = (s: Walkable, path: string): void => {
    for (const c of expand(s)) {
      if (seen.has(c)) continue;
      seen.add(c);
      const def = c._zod.def;
      if (def.type === 'object') {
        if (def.catchall === undefined) found.push(path === '' ? '(root)' : path);
        for (const [k, v] of Object.entries(def.shape ?? {})) visit(v, path === '' ? k : `${path}.${k}`);
        if (def.catchall) visit(def.catchall, `${path}.*`);
      } else if (def.type === 'array' && def.element) {
        visit(def.element, `${path}[]`);
      } else if ((def.type === 'record' || def.type === 'map') && def.valueType) {
        visit(def.valueType, `${path}.*`);
      } else if (def.type === 'tuple') {
        (def.items ?? []).forEach((it, i) => visit(it, `${path}[${i}]`));
        if (def.rest) visit(def.rest, `${path}[]`);
      }
    }
  };
  visit(asWalkable(schema), '');
  return found;
}
