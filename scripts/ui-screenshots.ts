// `make ui-screenshots`: the README's pictures of the UI (docs/dashboard.png, docs/labelling.png) from a
// demo-sized run with the shipped models and `human: { source: web }` (scripts/ui-screenshots.yaml).
// A person is played by Chromium answering each dispute with the key of the response the gold scorer
// prefers. Takes ~2 min on 2 cores; needs /usr/bin/chromium (make system-deps).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runClusterLogged } from '../test/helpers/cluster-run.js';
import { goldScore } from '../src/tasks/demo/gold.js';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let done = false;

async function drive(link: string): Promise<void> {
  const userData = mkdtempSync(join(tmpdir(), 'tso-shots-'));
  const ctx = await chromium.launchPersistentContext(userData, {
    executablePath: '/usr/bin/chromium',
    args: [...ARGS, '--disable-component-update', '--disable-sync', '--no-first-run'],
    headless: true,
    viewport: { width: 1280, height: 900 },
    bypassCSP: true, // evaluate() below
  });
  const dash = await ctx.newPage();
  await dash.goto(link);
  const label = await ctx.newPage();
  await label.goto(new URL('/label', link).href);
  await label.fill('#name', 'ana');
  await label.locator('#name').press('Tab');
  let shotLabel = false;
  let shotDash = false;
  while (!done) {
    if (await label.isVisible('#dispute').catch(() => false)) {
      const prompt = (await label.textContent('#prompt')) ?? '';
      const a = (await label.textContent('#first')) ?? '';
      const b = (await label.textContent('#second')) ?? '';
      if (!shotLabel) await label.screenshot({ path: 'docs/labelling.png' });
      shotLabel = true;
      const [ga, gb] = [goldScore(prompt, a), goldScore(prompt, b)];
      const status = JSON.stringify(await label.textContent('#status'));
      await label.keyboard.press(ga > gb ? '1' : gb > ga ? '2' : '3');
      await label
        .waitForFunction(`document.getElementById('status').textContent !== ${status}`, undefined, {
          timeout: 30_000,
        })
        .catch(() => {});
    }
    if (!shotDash && (await dash.evaluate<number>('S.iterations.length').catch(() => 0)) >= 3) {
      await sleep(3000);
      await dash.selectOption('#pair-filter [name=decided_by]', 'human');
      await dash.click('#pair-filter button[type=submit]');
      await sleep(1500);
      await dash.screenshot({ path: 'docs/dashboard.png', fullPage: true });
      shotDash = true;
    }
    await sleep(500);
  }
  await ctx.close();
  rmSync(userData, { recursive: true, force: true });
}

// A fresh run dir each time (a used one would be refused): the config with run_dir added, in a temp dir.
const runDir = mkdtempSync(join(tmpdir(), 'tso-shots-run-'));
const config = join(runDir, 'cluster.yaml');
writeFileSync(
  config,
  readFileSync('scripts/ui-screenshots.yaml', 'utf8') + `run_dir: ${join(runDir, 'run')}\n`,
);
let driving: Promise<void> | undefined;
const run = await runClusterLogged(config, (line) => {
  const m = /dashboard: (http:\/\/\S+\?token=\S+)/.exec(line);
  if (m && !driving) driving = drive(m[1]!);
});
done = true;
await driving;
rmSync(runDir, { recursive: true, force: true });
process.stdout.write(`run exited ${run.code}; wrote docs/dashboard.png and docs/labelling.png\n`);
process.exit(run.code);
