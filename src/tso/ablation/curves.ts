// Learning curves of the ablation (curves.svg): held-out exact-match per iteration, the mean over seeds,
// one line per variant, with a legend of variant keys. Hand-written SVG like the run's own chart (src/tso/loop/report.ts).
import type { VariantSummary } from './summary.js';

// Ten distinguishable colours (the "tab10" palette), in variant order.
const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function curvesSvg(variants: readonly Pick<VariantSummary, 'name' | 'curve'>[]): string {
  const drawn = variants.filter((v) => v.curve.length > 0);
  const W = 720,
    L = 50,
    R = 160, // room for the legend on the right
    T = 30,
    B = 45,
    H = Math.max(360, T + B + 20 * drawn.length);
  const maxX = Math.max(1, ...drawn.flatMap((v) => v.curve.map((p) => p.iteration)));
  const x = (i: number) => L + ((W - L - R) * i) / maxX;
  const y = (v: number) => T + (H - T - B) * (1 - v);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v * 100}%</text>`,
    )
    .join('');
  const iterations = [...new Set(drawn.flatMap((v) => v.curve.map((p) => p.iteration)))].sort(
    (a, b) => a - b,
  );
  const ticks = iterations
    .map((i) => `<text x="${x(i)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${i}</text>`)
    .join('');
  const lines = drawn
    .map((v, k) => {
      const c = COLOURS[k % COLOURS.length];
      const d = v.curve
        .map((p, i) => `${i ? 'L' : 'M'}${x(p.iteration).toFixed(1)},${y(p.exact_match).toFixed(1)}`)
        .join(' ');
      const dots = v.curve
        .map(
          (p) =>
            `<circle cx="${x(p.iteration).toFixed(1)}" cy="${y(p.exact_match).toFixed(1)}" r="2.5" fill="${c}"/>`,
        )
        .join('');
      const ly = T + 10 + 20 * k;
      const legend = `<rect x="${W - R + 16}" y="${ly - 5}" width="14" height="3" fill="${c}"/><text x="${W - R + 36}" y="${ly}" font-size="12">${escapeXml(v.name)}</text>`;
      return `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>${dots}${legend}`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${(L + W - R) / 2}" y="18" text-anchor="middle" font-size="14">Held-out exact-match per iteration (mean over seeds)</text>
${grid}${ticks}
<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">iteration (0 = initial policy)</text>
${lines}
</svg>
`;
}
