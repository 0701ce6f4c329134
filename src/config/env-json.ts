// Settings a launcher hands its children as JSON in one environment variable: parsed and validated by a
// schema, with errors that name the variable.
import type { z } from 'zod';

/** The value of `name` parsed as JSON and checked by `schema`; undefined when the variable is unset. */
export function jsonFromEnv<T extends z.ZodType>(
  env: NodeJS.ProcessEnv,
  name: string,
  schema: T,
): z.infer<T> | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const r = schema.safeParse(parsed);
  if (!r.success) throw new Error(`${name}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}
