// The UI in a real browser (Debian's Chromium driven by playwright-core) on a live cluster with
// `human: { source: web }`: the dashboard opens with the token link and shows the nodes, the labelling
// page takes three answers from the keyboard, the dashboard's step chart fills while the page stays open
// (SSE), and the three answers are human decisions in pairs.jsonl. Screenshots are kept in a temp dir
// (path printed). The README's pictures come from `make ui-screenshots` (a demo-sized run).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJsonl, runClusterLogged, tail, type ClusterRunResult } from '../helpers/cluster-run.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  process.stderr.write(
    `[ui-browser] SKIPPED: ${CHROMIUM} is missing (make system-deps installs Debian's chromium)\n`,
  );

interface KeyAnswer {
  key: '1' | '2';
  prompt: string;
  first: string;
  second: string;
}

let fx: Fixture;
let run: ClusterRunResult;
let ctx: BrowserContext | undefined;
const shots = mkdtempSync(join(tmpdir(), 'tso-ui-shots-'));
const userData = mkdtempSync(join(tmpdir(), 'tso-ui-chromium-'));
const answers: KeyAnswer[] = [];
const seen = { nodes: 0, stepsAtLoad: -1, stepsLater: -1 };
let browserError: unknown;

// Page-side expressions are strings: they run in the browser (the page's `S` is its state).
const stepsOf = (page: Page) => page.evaluate<number>('S.steps.length');

async function drive(link: string): Promise<void> {
  ctx = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
    // waitForFunction polls by evaluating its expression, which the pages' CSP (no eval) would refuse.
    bypassCSP: true,
  });
  const dash = await ctx.newPage();
  await dash.goto(link);
  await dash.waitForFunction("document.querySelectorAll('#nodes tr').length >= 7", undefined, {
    timeout: 120_000,
  });
  seen.nodes = (await dash.locator('#nodes tr').count()) - 1;
  seen.stepsAtLoad = await stepsOf(dash);

  const label = await ctx.newPage();
  await label.goto(new URL('/label', link).href);
  await label.fill('#name', 'browser-test');
  await label.locator('#name').press('Tab');
  for (let i = 0; i < 3; i++) {
    await label.waitForSelector('#dispute:not([hidden])', { timeout: 240_000 });
    const status = await label.textContent('#status');
    const a: KeyAnswer = {
      key: i === 1 ? '2' : '1',
      prompt: (await label.textContent('#prompt')) ?? '',
      first: (await label.textContent('#first')) ?? '',
      second: (await label.textContent('#second')) ?? '',
    };
    if (i === 0) await label.screenshot({ path: join(shots, 'labelling.png'), fullPage: true });
    await label.keyboard.press(a.key);
    answers.push(a);
    await label.waitForFunction(
      `document.getElementById('status').textContent !== ${JSON.stringify(status)}`,
      undefined,
      {
        timeout: 60_000,
      },
    );
  }
  // Back on the dashboard, never reloaded: the steps trained on those labels arrive over SSE.
  await dash.waitForFunction(`S.steps.length > ${seen.stepsAtLoad}`, undefined, { timeout: 240_000 });
  seen.stepsLater = await stepsOf(dash);
  await dash.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
}

describe.skipIf(!hasChromium)('the UI in Chromium on a live cluster', () => {
  beforeAll(async () => {
    fx = await makeFixture({
      cluster: 'uibrowser',
      run: {
        run_id: 'ui-browser',
        minibatches: 2,
        correction: {
          mode: 'ai+human',
          threshold: 0.7,
          fallback: 'trust-prior',
          // The second mini-batch's disputes wait out 45 s while the dashboard is looked at.
          human: { source: 'web', wait_s: 45, budget_per_iteration: 3 },
        },
      },
    });
    let driving: Promise<void> | undefined;
    run = await runClusterLogged(fx.clusterConfig, (line) => {
      const m = /dashboard: (http:\/\/\S+\?token=\S+)/.exec(line);
      if (m && !driving)
        driving = drive(m[1]!).catch((e: unknown) => {
          browserError = e;
        });
    });
    await driving;
    process.stderr.write(
      `[ui-browser] screenshots in ${shots}; nodes ${seen.nodes}, steps on the open dashboard ${seen.stepsAtLoad} -> ${seen.stepsLater}${browserError ? `; browser: ${String(browserError)}` : ''}\n`,
    );
  }, 900_000);

  afterAll(async () => {
    await ctx?.close().catch(() => {});
    rmSync(userData, { recursive: true, force: true });
    if (fx) rmSync(fx.root, { recursive: true, force: true });
  });

  it('opens the dashboard with the token, sees the nodes and a chart fed live', () => {
    expect(browserError).toBeUndefined();
    expect(run.code, tail(run.lines)).toBe(0);
    expect(seen.nodes).toBe(6); // 2 policy replicas, 3 generators, 1 judge
    expect(seen.stepsLater).toBeGreaterThan(seen.stepsAtLoad);
    expect(existsSync(join(shots, 'dashboard.png'))).toBe(true);
  });

  it('turns three keyboard answers into human decisions in pairs.jsonl', () => {
    expect(answers).toHaveLength(3);
    const pairs = readJsonl<{ prompt: string; chosen: string; rejected: string; decided_by: string }>(
      fx.runDir,
      'pairs.jsonl',
    );
    for (const a of answers) {
      const [chosen, rejected] = a.key === '1' ? [a.first, a.second] : [a.second, a.first];
      const row = pairs.find((p) => p.prompt === a.prompt && p.chosen === chosen && p.rejected === rejected);
      expect(row, JSON.stringify(a)).toBeDefined();
      expect(row!.decided_by).toBe('human');
    }
    const labels = readJsonl<{ by: string }>(fx.runDir, 'labels.jsonl');
    expect(labels.filter((l) => l.by === 'browser-test')).toHaveLength(3);
  });
});
