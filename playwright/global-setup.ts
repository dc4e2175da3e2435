import type { FullConfig } from '@playwright/test';
import { TetherServer } from './server';

// Starts the shared dev server for the suite; Playwright calls the returned
// function as the teardown.
export default async function globalSetup(_config: FullConfig) {
  const server = await TetherServer.start({ dev: true });
  process.env.TETHER_BASE_URL = server.url;
  return async () => {
    const code = await server.stop();
    if (code !== 0) throw new Error(`server exited with ${code} on SIGTERM:\n${server.output.join('')}`);
  };
}
