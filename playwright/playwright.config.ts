import os from 'node:os';
import { defineConfig } from '@playwright/test';

// Debian's Chromium: Playwright cannot download its own browser here. The
// background-networking flags keep Chromium from flooding a closed network
// with connections that are refused.
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Debian's Chromium with those flags, and no service worker: every load is
// a first one. See docs/DEVELOPING.md: with the worker blocked, page.route
// sees every request; tests that exercise the worker allow it in their own
// context. The benchmark's pages (bench.config.ts) load the same way.
export const chromium = {
  browserName: 'chromium',
  headless: true,
  serviceWorkers: 'block',
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: chromiumArgs,
  },
} as const;

export default defineConfig({
  testDir: './tests',
  // Tests run side by side: every fault test breaks a server of its own, and
  // they mostly wait on the service's timers (a run keeps the two cores
  // about a fifth busy). Tests wait for states in the DOM, never for a
  // time. The soak (three minutes) is its own project, listed first so it
  // starts first and the rest runs beside it.
  // One worker per core, at most four: on two cores four workers (each
  // with its own Chromium, beside the soak) starved the pages' wasm
  // compile past 30 s, while one test alone mounts in seconds.
  workers: Math.max(1, Math.min(4, os.cpus().length)),
  fullyParallel: true,
  projects: [
    { name: 'soak', testMatch: /soak\.spec\.ts/ },
    { name: 'suite', testIgnore: /soak\.spec\.ts/ },
  ],
  forbidOnly: !!process.env.CI,
  retries: 0,
  // A budget, not a measure: beside the soak on two cores tests that take
  // 15–25 s alone took 40–60 s, and the waits inside are tied to the page.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  // The JSON report feeds failures.mjs, which `make e2e` runs after a
  // failed run to repeat what failed at the end of the log.
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: 'playwright-report' }],
    ['json', { outputFile: 'test-results/report.json' }],
  ],
  use: {
    ...chromium,
    screenshot: 'only-on-failure',
    // Off unless E2E_TRACE=1: a trace is recorded for every test (kept only
    // on failure), and recording it (DOM snapshots, a screencast through
    // the GPU process) cost 40% of the suite's CPU on two cores and made
    // tests fail that pass without it (docs/TESTING.md, "What starves").
    trace: process.env.E2E_TRACE === '1' ? 'retain-on-failure' : 'off',
  },
});
