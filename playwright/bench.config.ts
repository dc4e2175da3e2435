import { defineConfig } from '@playwright/test';
// Debian's Chromium, launched as the e2e suite launches it.
import { chromium } from './playwright.config';

// The client figures of `make bench` (bench/load runs this with the URLs of
// the servers it started). Kept apart from playwright.config.ts, whose
// testDir is ./tests, so `npx playwright test` never runs it.


export default defineConfig({
  testDir: './bench',
  testMatch: '*.bench.ts',
  outputDir: './test-results/bench',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 300_000,
  reporter: [['list']],
  // As in the e2e suite: no service worker, so every load is a first one.
  use: chromium,
});
