// The dashboard: run progress, nodes, per-step and per-iteration charts (uPlot), and the pairs browser.
// State arrives over SSE: a snapshot first, then one event per change.
'use strict';

const { el, fmt, duration, json, stream } = window.tso;
const S = { run: null, nodes: [], steps: [], iterations: [], human: null };
const PHASES = ['generate', 'pairs', 'reference', 'train', 'refresh', 'evaluate', 'checkpoint'];
// Rough share of a mini-batch's time before each phase starts (for the progress bar between events).
const PHASE_AT = {
  generate: 0,
  pairs: 0.15,
  reference: 0.3,
  train: 0.35,
  refresh: 0.85,
  evaluate: 0.9,
  checkpoint: 0.98,
};
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];

function chart(parent, title, labels) {
  const box = el('div', { class: 'chart' });
  parent.append(box);
  const series = [
    { label: 'x' },
    ...labels.map((label, i) => ({ label, stroke: COLORS[i], width: 1.5, spanGaps: true })),
  ];
  const plot = new uPlot(
    {
      title,
      width: 380,
      height: 200,
      series,
      scales: { x: { time: false } },
      axes: [{ incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] }, {}],
    },
    [[], ...labels.map(() => [])],
    box,
  );
  return plot;
}

const stepCharts = {};
const iterCharts = {};
function makeCharts() {
  const sc = document.getElementById('step-charts');
  stepCharts.loss = chart(sc, 'loss', ['loss']);
  stepCharts.acc = chart(sc, 'reward accuracy', ['reward accuracy']);
  stepCharts.margin = chart(sc, 'margin', ['margin']);
  stepCharts.rewards = chart(sc, 'rewards', ['chosen', 'rejected']);
  stepCharts.clip = chart(sc, 'clipped fraction', ['chosen side', 'rejected side']);
  const ic = document.getElementById('iter-charts');
  iterCharts.gold = chart(ic, 'held-out', ['gold reward', 'exact-match']);
  iterCharts.kl = chart(ic, 'KL to the initial policy', ['KL']);
  iterCharts.disputes = chart(ic, 'disputes and human labels', ['disputes', 'human labels']);
  iterCharts.agree = chart(ic, 'agreement', ['prior–AI', 'AI–human']);
}

function drawSteps() {
  const x = S.steps.map((s) => s.step);
  const col = (k) => S.steps.map((s) => s[k]);
  stepCharts.loss.setData([x, col('loss')]);
  stepCharts.acc.setData([x, col('reward_accuracy')]);
  stepCharts.margin.setData([x, col('margin')]);
  stepCharts.rewards.setData([x, col('chosen_reward'), col('rejected_reward')]);
  stepCharts.clip.setData([x, col('clipped_chosen'), col('clipped_rejected')]);
}

function drawIterations() {
  const its = S.iterations;
  const x = its.map((i) => i.iteration);
  const col = (k) => its.map((i) => i[k]);
  iterCharts.gold.setData([x, col('gold_reward'), col('exact_match')]);
  iterCharts.kl.setData([x, col('kl')]);
  iterCharts.disputes.setData([x, col('disputes'), col('human_labels')]);
  iterCharts.agree.setData([x, col('prior_ai_agreement'), col('ai_human_agreement')]);
  drawPhases();
}

function progressOf(r) {
  if (r.state === 'done') return 1;
  if (!r.of) return 0;
  const within = r.phase in PHASE_AT ? PHASE_AT[r.phase] : 0;
  return Math.min(1, (r.minibatch + within) / r.of);
}

function drawRun() {
  const r = S.run;
  if (!r) return;
  document.getElementById('run-id').textContent = r.run_id;
  document.title = `tso ${r.run_id}`;
  const human = S.human
    ? ` · labelling: ${S.human.waiting} waiting, ${S.human.budget_left} labels left in this mini-batch`
    : '';
  document.getElementById('run-line').textContent =
    `${r.state} · mini-batch ${Math.min(r.minibatch + 1, r.of)}/${r.of} · phase ${r.phase} · step ${r.step}` +
    ` · human feedback: ${r.human_source || '–'}${human}${r.message && r.state === 'failed' ? ' · ' + r.message : ''}`;
  const p = progressOf(r);
  document.getElementById('bar-fill').style.width = `${(100 * p).toFixed(1)}%`;
  const elapsed = (Date.now() - r.started_at_ms) / 1000;
  const eta = p > 0.02 && r.state === 'running' ? duration((elapsed * (1 - p)) / p) : '–';
  const phaseFor =
    r.live && r.state === 'running'
      ? ` · in ${r.phase} for ${duration((Date.now() - r.phase_started_ms) / 1000)}`
      : '';
  document.getElementById('eta-line').textContent =
    `${(100 * p).toFixed(0)}% · elapsed ${duration(elapsed)} · ETA ${eta}${phaseFor}`;
}

function drawPhases() {
  const rows = S.iterations.filter((i) => i.iteration > 0);
  const head = el(
    'tr',
    {},
    el('th', {}, 'wall time (s)'),
    PHASES.map((p) => el('th', {}, p)),
  );
  const body = rows.map((i) =>
    el(
      'tr',
      {},
      el('td', {}, `mini-batch ${i.iteration}`),
      PHASES.map((p) => el('td', {}, fmt(i.phase_wall_s[p], 1))),
    ),
  );
  document.getElementById('phases').replaceChildren(head, ...body);
}

function drawNodes() {
  const cols = ['id', 'role', 'model', 'tier', 'backend', 'address', 'heartbeat', 'weights', 'status'];
  const head = el(
    'tr',
    {},
    cols.map((c) => el('th', {}, c)),
  );
  const rows = S.nodes.map((n) =>
    el(
      'tr',
      { class: n.lost ? 'lost' : '' },
      [n.id, n.role, n.model, n.tier, n.backend, n.address || '–'].map((v) => el('td', {}, fmt(v))),
      el('td', {}, n.heartbeat_age_s === null ? '–' : `${n.heartbeat_age_s.toFixed(1)} s ago`),
      el('td', {}, n.weight_version || '–'),
      el('td', {}, n.lost ? `lost: ${n.lost_reason ?? ''}` : 'live'),
    ),
  );
  document.getElementById('nodes').replaceChildren(head, ...rows);
}

// Pairs browser: the server filters pairs.jsonl and pages it.
let pairOffset = 0;
async function loadPairs() {
  const form = new FormData(document.getElementById('pair-filter'));
  const q = new URLSearchParams({ offset: String(pairOffset), limit: '20' });
  for (const [k, v] of form.entries()) if (String(v).trim() !== '') q.set(k, String(v).trim());
  // Mini-batches count from 1 on the pages; pairs.jsonl's lineage.iteration counts from 0.
  if (q.has('minibatch')) q.set('iteration', String(Number(q.get('minibatch')) - 1));
  q.delete('minibatch');
  const { status, body } = await json(`/api/pairs?${q}`);
  const box = document.getElementById('pairs');
  if (status !== 200) {
    box.replaceChildren(el('p', { class: 'error' }, body.error ?? `error ${status}`));
    return;
  }
  document.getElementById('pairs-count').textContent =
    `${body.matched} pairs match; showing ${body.rows.length ? pairOffset + 1 : 0}–${pairOffset + body.rows.length}`;
  box.replaceChildren(...body.rows.map(pairCard));
}

function side(name, text, lin) {
  const who = lin ? [lin.source, lin.model ?? lin.node, lin.weight_version].filter(Boolean).join(' · ') : '';
  const also = lin?.also_written_by?.length ? ` (also ${lin.also_written_by.length} other source(s))` : '';
  return el(
    'div',
    { class: `side ${name}` },
    el('div', { class: 'who' }, `${name}: ${who}${also}`),
    el('pre', {}, text),
  );
}

function pairCard(p) {
  const lin = p.lineage ?? {};
  const judge = lin.judge
    ? `judge ${lin.judge.verdict} (${fmt(lin.judge.confidence, 2)})`
    : 'no judge verdict';
  const human = 'human_label' in lin ? (lin.human_label ? 'human chose' : 'disputed, unanswered') : '';
  const meta = `mini-batch ${lin.iteration + 1} · decided by ${p.decided_by} · prior ${fmt(p.prior, 2)} · confidence ${fmt(p.confidence, 2)} · weight ${fmt(p.weight, 2)} · ${judge}${human ? ' · ' + human : ''}${p.verified ? ' · verified' : ''}`;
  return el(
    'div',
    { class: 'pair' },
    el('div', { class: 'prompt' }, p.prompt),
    el('div', { class: 'meta' }, meta),
    el(
      'div',
      { class: 'sides' },
      side('chosen', p.chosen, lin.chosen),
      side('rejected', p.rejected, lin.rejected),
    ),
  );
}

document.getElementById('pair-filter').addEventListener('submit', (e) => {
  e.preventDefault();
  pairOffset = 0;
  void loadPairs();
});
document.getElementById('pairs-prev').addEventListener('click', () => {
  pairOffset = Math.max(0, pairOffset - 20);
  void loadPairs();
});
document.getElementById('pairs-next').addEventListener('click', () => {
  pairOffset += 20;
  void loadPairs();
});

makeCharts();
stream(
  {
    snapshot(d) {
      Object.assign(S, d);
      drawRun();
      drawNodes();
      drawSteps();
      drawIterations();
    },
    run(r) {
      S.run = r;
      drawRun();
    },
    nodes(n) {
      S.nodes = n;
      drawNodes();
    },
    step(p) {
      S.steps.push(p);
      drawSteps();
    },
    steps(all) {
      S.steps = all;
      drawSteps();
    },
    iterations(its) {
      S.iterations = its;
      drawIterations();
      void loadPairs();
    },
    human(h) {
      S.human = h;
      drawRun();
    },
  },
  (state) => (document.getElementById('conn').textContent = state),
);
setInterval(drawRun, 1000);
void loadPairs();
