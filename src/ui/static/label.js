// The labelling page: shows one open dispute (the prompt and two responses in a random order), takes
// 1 / 2 / 3 from buttons or keys, and moves on. Several people can label at once: a dispute someone
// else answered first comes back as 409 and the page simply shows the next one.
'use strict';

const { el, json, stream } = window.tso;
const nameInput = document.getElementById('name');
nameInput.value = localStorage.getItem('tso-labeller') ?? '';
nameInput.addEventListener('change', () => localStorage.setItem('tso-labeller', nameInput.value.trim()));

let current = null;
let busy = false;
let readOnly = false;

function setStatus(text) {
  document.getElementById('status').textContent = text;
}

function show(d) {
  current = d;
  document.getElementById('dispute').hidden = !d;
  if (!d) return;
  document.getElementById('prompt').textContent = d.prompt;
  document.getElementById('first').textContent = d.first;
  document.getElementById('second').textContent = d.second;
}

function drawSummary(s) {
  const text = s
    ? `${s.waiting} waiting · ${s.budget_left} of ${s.budget_per_iteration} labels left in this mini-batch · ${s.answered_total} answered in this run`
    : '';
  document.getElementById('summary').textContent = text;
}

async function refresh() {
  const { status, body } = await json('/api/disputes');
  if (status !== 200) {
    setStatus(`error ${status}: ${body.error ?? ''}`);
    return;
  }
  readOnly = !body.live;
  drawSummary(body.summary);
  const rows = body.recent.map((l) =>
    el(
      'tr',
      {},
      [l.at, l.by, l.id, l.label].map((v) => el('td', {}, v ?? '–')),
    ),
  );
  document.getElementById('recent').replaceChildren(
    el(
      'tr',
      {},
      ['when', 'who', 'dispute', 'label'].map((h) => el('th', {}, h)),
    ),
    ...rows,
  );
  // Keep showing the dispute in hand while it is still open; else take the first open one.
  const still = current && body.open.find((d) => d.id === current.id);
  const next = still ?? body.open[0] ?? null;
  show(next);
  if (readOnly)
    setStatus('read-only: this run takes no labels (finished run, or its human source is not "web")');
  else
    setStatus(
      next
        ? `dispute ${next.id} (mini-batch ${next.iteration + 1})`
        : 'no dispute waiting — new ones appear here by themselves',
    );
}

async function answer(choice) {
  if (!current || busy || readOnly) return;
  const by = nameInput.value.trim();
  if (!by) {
    setStatus('type your name first (it is recorded with each label)');
    nameInput.focus();
    return;
  }
  busy = true;
  try {
    const id = current.id;
    const { status, body } = await json(`/api/disputes/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ choice, by }),
    });
    if (status === 409 || status === 404) setStatus(`${id}: ${body.error} — next one`);
    else if (status !== 200) setStatus(`error ${status}: ${body.error ?? ''}`);
    current = null;
    await refresh();
  } finally {
    busy = false;
  }
}

for (const b of document.querySelectorAll('button[data-choice]'))
  b.addEventListener('click', () => void answer(b.dataset.choice));
document.addEventListener('keydown', (e) => {
  if (e.target === nameInput || e.ctrlKey || e.metaKey || e.altKey) return;
  const choice = { 1: 'first', 2: 'second', 3: 'tie' }[e.key];
  if (choice) {
    e.preventDefault();
    void answer(choice);
  }
});

stream(
  {
    snapshot: () => void refresh(),
    human: (s) => {
      drawSummary(s);
      void refresh();
    },
  },
  (state) => (document.getElementById('conn').textContent = state),
);
