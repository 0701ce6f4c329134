// The pages' files, served from the project and node_modules only (no CDN, no build step): a fixed
// list, so no request path ever reaches the file system.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), 'static');
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot'));

const FILES: Record<string, { path: string; type: string }> = {
  'dashboard.html': { path: join(here, 'dashboard.html'), type: 'text/html' },
  'label.html': { path: join(here, 'label.html'), type: 'text/html' },
  'common.js': { path: join(here, 'common.js'), type: 'text/javascript' },
  'dashboard.js': { path: join(here, 'dashboard.js'), type: 'text/javascript' },
  'label.js': { path: join(here, 'label.js'), type: 'text/javascript' },
  'style.css': { path: join(here, 'style.css'), type: 'text/css' },
  'uPlot.iife.min.js': { path: join(uplotDist, 'uPlot.iife.min.js'), type: 'text/javascript' },
  'uPlot.min.css': { path: join(uplotDist, 'uPlot.min.css'), type: 'text/css' },
};

const cache = new Map<string, Buffer>();

/** The file's bytes and content type, or undefined for a name not on the list. */
export async function staticFile(name: string): Promise<{ body: Buffer; type: string } | undefined> {
  const f = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!f) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = await readFile(f.path);
    cache.set(name, body);
  }
  return { body, type: f.type };
}
