import { test, expect, takeCSPViolations, waitForApp } from './fixtures';
import { freshRoom, openPerson, therapistPath } from './chat';

// The server sends a Content Security Policy without 'unsafe-inline': every
// test fails on a violation (fixtures.ts). These prove the watcher sees one,
// on the default page and on a page of openPerson, by injecting an inline
// script as a markup injection would; the policy blocks it.

/** Adds an inline script to the page and says whether it ran. */
async function injectInlineScript(page: import('@playwright/test').Page): Promise<boolean> {
  return page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__tetherInjected = true;';
    document.body.appendChild(s);
    await new Promise((r) => setTimeout(r, 50));
    return (window as any).__tetherInjected === true;
  });
}

/** Waits until the watcher has reported a blocked inline script, and forgets the reports. */
async function expectInlineScriptReported() {
  const seen: string[] = [];
  await expect.poll(() => {
    seen.push(...takeCSPViolations());
    return seen.some((v) => /script-src/.test(v) && /inline/.test(v));
  }, { message: 'the watcher reports the blocked inline script' }).toBe(true);
  // Both channels report it: the page's event and Chromium's console line.
  expect(seen.some((v) => v.startsWith('console: '))).toBe(true);
  expect(seen.some((v) => !v.startsWith('console: '))).toBe(true);
}

test.describe('the content security policy', () => {
  test('blocks an injected inline script on the default page, and the watcher reports it', async ({ page, watch }) => {
    await page.goto(therapistPath(freshRoom('csp')));
    await waitForApp(page, 'therapist-page');
    expect(takeCSPViolations()).toEqual([]);

    expect(await injectInlineScript(page)).toBe(false);
    await expectInlineScriptReported();
    // Chromium's console line is an error too: here it is the point.
    const csp = /Content Security Policy/;
    expect(watch.problems.some((e) => csp.test(e))).toBe(true);
    watch.allow({ name: 'the injected script is blocked', pattern: csp });
  });

  test('the watcher also reports a violation on a page of openPerson', async ({ browser, baseURL, watch }) => {
    const taylor = await openPerson(browser, baseURL!, therapistPath(freshRoom('csp')), 'therapist-page');
    expect(takeCSPViolations()).toEqual([]);
    expect(await injectInlineScript(taylor.page)).toBe(false);
    await expectInlineScriptReported();
    const csp = /Content Security Policy/;
    expect(watch.problems.some((e) => csp.test(e)), 'the console line is seen in that context too').toBe(true);
    watch.allow({ name: 'the injected script is blocked', pattern: csp });
    await taylor.context.close();
  });
});
