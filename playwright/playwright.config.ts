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

export default defineConfig({
  testDir: './tests',
  // One worker: the tests share one 2-core machine with the server, and the
  // later fault tests start, stop and break servers of their own.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  // Starts the server on a free port (never one already listening) and
  // publishes its URL in TETHER_BASE_URL, which the workers inherit.
  globalSetup: './global-setup.ts',
  use: {
    baseURL: process.env.TETHER_BASE_URL,
    browserName: 'chromium',
    headless: true,
    // See docs/DEVELOPING.md: with the worker blocked, page.route sees every
    // request; tests that exercise the worker allow it in their own context.
    serviceWorkers: 'block',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: chromiumArgs,
    },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
