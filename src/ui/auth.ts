// Access to the UI: one random token per run, printed once as a link. The link's `?token=` is traded
// for an HttpOnly, SameSite=Strict cookie (and the page reloads without it, so the token does not stay
// in the address bar or the history); scripts and scrapers may send `Authorization: Bearer <token>`.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fixed token (e.g. for a Prometheus scrape config) instead of a random one per run. */
export const UI_TOKEN_ENV = 'TSO_UI_TOKEN';

export function newToken(): string {
  const fixed = process.env[UI_TOKEN_ENV];
  if (fixed !== undefined && fixed.length >= 16) return fixed;
  return randomBytes(24).toString('base64url');
}

/** Cookies are per host, not per port: the port in the name keeps two runs' pages apart. */
export function cookieName(port: number): string {
  return `tso_ui_${port}`;
}

export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * The token a request carries: bearer header, cookie, or the query (the printed link; accepted on any
 * route so a tool without headers can scrape, at the price of the token in its URL).
 */
export function requestToken(req: IncomingMessage, url: URL, port: number): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return cookieValue(req.headers.cookie, cookieName(port)) ?? url.searchParams.get('token') ?? undefined;
}

export function sessionCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
