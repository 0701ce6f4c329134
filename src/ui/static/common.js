// Shared by the pages: DOM building without innerHTML (every value from the run is text, never markup),
// number formatting, JSON requests and the live event stream. Plain browser JS, no build step.
'use strict';

window.tso = {
  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat())
      if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  },
  fmt(v, digits = 3) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : String(v);
  },
  pct(v) {
    return v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)}%`;
  },
  duration(s) {
    if (!Number.isFinite(s) || s < 0) return '–';
    if (s < 90) return `${s.toFixed(0)} s`;
    if (s < 5400) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  },
  async json(path, options) {
    const r = await fetch(path, { credentials: 'same-origin', ...options });
    const body = await r.json().catch(() => ({}));
    return { status: r.status, body };
  },
  /** Live updates: `handlers[event](data)`; the browser reconnects by itself (retry: 2000). */
  stream(handlers, onState) {
    const es = new EventSource('/api/events');
    for (const [name, f] of Object.entries(handlers))
      es.addEventListener(name, (ev) => f(JSON.parse(ev.data)));
    es.onopen = () => onState?.('live');
    es.onerror = () => onState?.('reconnecting…');
    return es;
  },
};
