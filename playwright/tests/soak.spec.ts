import { test, expect } from './fixtures';
import { RestartableServer } from '../server';
import { bodies, connected, faultProblems, customerPath, freshRoom, openPerson, Person, send, shot, status, therapistPath } from './chat';

// Three minutes of random faults while both sides keep writing; then every
// message must be on both screens, once, in seq order.
const soakMs = 180_000;

type Fault = { name: string; run: () => Promise<void> };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// SOAK_SEED replays a run's draws: which faults in which order, how long
// each lasts, the pauses between them and between messages. Each of the
// three loops draws from a generator of its own, so how they interleave
// on a busy machine does not change what each draws.
const seed = process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) : Math.floor(Math.random() * 2 ** 31);

test('10. soak: random faults for three minutes, nothing lost or repeated', async ({ browser, watch }, testInfo) => {
  test.setTimeout(soakMs + 180_000);
  if (!Number.isSafeInteger(seed)) throw new Error(`SOAK_SEED must be an integer, not ${process.env.SOAK_SEED}`);
  console.log(`soak: seed ${seed} (replay with SOAK_SEED=${seed} make e2e)`);
  testInfo.annotations.push({ type: 'seed', description: `SOAK_SEED=${seed}` });
  watch.allow(...Object.values(faultProblems));
  const rngs = { breaker: seeded(seed), casey: seeded(seed + 1), taylor: seeded(seed + 2) };
  const between = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo));
  const server = await RestartableServer.start();
  try {
    const room = freshRoom('soak');
    const casey = await openPerson(browser, server.url, customerPath(room), 'chat-page');
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    await connected(casey.page);
    await connected(taylor.page);

    const faults: Fault[] = [
      { name: 'customer offline', run: async () => { await casey.context.setOffline(true); await sleep(between(rngs.breaker, 2_000, 6_000)); await casey.context.setOffline(false); } },
      { name: 'therapist offline', run: async () => { await taylor.context.setOffline(true); await sleep(between(rngs.breaker, 2_000, 6_000)); await taylor.context.setOffline(false); } },
      { name: 'latency 500 ms', run: async () => { await server.faults({ latency_ms: 500 }); await sleep(between(rngs.breaker, 4_000, 8_000)); await server.faults({ latency_ms: 0 }); } },
      { name: 'latency 1500 ms', run: async () => { await server.faults({ latency_ms: 1500 }); await sleep(between(rngs.breaker, 4_000, 8_000)); await server.faults({ latency_ms: 0 }); } },
      { name: 'sockets cut', run: async () => { await server.faults({ drop: 'all' }); } },
      { name: 'WebSocket refused', run: async () => { await server.faults({ refuse_websocket: true, drop: 'all' }); await sleep(between(rngs.breaker, 5_000, 10_000)); await server.faults({ refuse_websocket: false }); } },
      { name: 'half-open link', run: async () => { await server.faults({ mute_pongs: true }); await sleep(between(rngs.breaker, 5_000, 10_000)); await server.faults({ mute_pongs: false }); } },
      { name: 'server crash', run: async () => { await server.kill(); await sleep(between(rngs.breaker, 1_000, 4_000)); await server.up(); } },
      { name: 'rolling restart', run: async () => { await server.terminate(); await server.up(); } },
    ];
    const counts: Record<string, number> = {};
    const sent: Record<string, string[]> = { casey: [], taylor: [] };
    const end = Date.now() + soakMs;

    const writer = async (who: 'casey' | 'taylor', p: Person) => {
      let i = 0;
      while (Date.now() < end) {
        i += 1;
        const body = `${who} #${i}`;
        await send(p.page, body);
        sent[who].push(body);
        await sleep(between(rngs[who], 800, 2_000));
      }
    };
    const breaker = async () => {
      while (Date.now() < end - 5_000) {
        await sleep(between(rngs.breaker, 2_000, 5_000));
        const f = faults[Math.floor(rngs.breaker() * faults.length)];
        counts[f.name] = (counts[f.name] ?? 0) + 1;
        await f.run();
      }
    };
    await Promise.all([writer('casey', casey), writer('taylor', taylor), breaker()]);

    // Calm: everything must arrive. Many faults in a row may have left a
    // side suspended (no stable link for ten attempts), which retries every
    // 15–30 s (MaxReconnectDelay with equal jitter): give it one such wait.
    const settle = Date.now();
    const all = [...sent.casey, ...sent.taylor];
    const faultsSoFar = () => `${Object.values(counts).reduce((a, b) => a + b, 0)} faults (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`;
    try {
      await connected(casey.page, 45_000);
      await connected(taylor.page, 45_000);
      for (const p of [casey, taylor]) {
        await expect.poll(async () => (await bodies(p.page)).filter((b) => all.includes(b)).length,
          { timeout: 120_000, message: 'every message on both screens' }).toBe(all.length);
        await expect(p.page.getByTestId('message-list').locator('[data-testid=message][data-state=sent]')).toHaveCount(all.length, { timeout: 30_000 });
      }
    } catch (err) {
      // What each side shows, so that a failure in CI says more than a
      // count: what is missing, what is not sent, what the status says.
      const lines = [`soak: seed ${seed}, ${faultsSoFar()}; not settled after ${Date.now() - settle} ms`];
      for (const [who, p] of [['customer', casey], ['therapist', taylor]] as const) {
        try {
          const shown = await bodies(p.page);
          const notSent = await p.page.getByTestId('message-list').locator('[data-testid=message]:not([data-state=sent])')
            .evaluateAll((els) => els.map((e) => `${e.querySelector('[data-testid=message-body]')?.textContent} (${e.getAttribute('data-state')})`));
          lines.push(`${who}: shows ${shown.length} of ${all.length}; missing ${JSON.stringify(all.filter((b) => !shown.includes(b)))}; ` +
            `not sent ${JSON.stringify(notSent)}; status ${JSON.stringify(await status(p.page))}`);
        } catch (e) {
          lines.push(`${who}: could not be read (${e})`);
        }
      }
      console.log(lines.join('\n'));
      testInfo.annotations.push({ type: 'not settled', description: lines.join(' | ') });
      throw err;
    }
    const shown = { casey: await bodies(casey.page), taylor: await bodies(taylor.page) };
    const seqs = await casey.page.getByTestId('message-list').getByTestId('message')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
    const duplicates = shown.casey.length - new Set(shown.casey).size + shown.taylor.length - new Set(shown.taylor).size;
    const outOfOrder = seqs.filter((s, i) => i > 0 && s <= seqs[i - 1]).length;
    const summary = `soak: seed ${seed}, ${soakMs / 1000} s, ${faultsSoFar()}; ` +
      `customer sent ${sent.casey.length}, therapist sent ${sent.taylor.length}; ` +
      `customer shows ${shown.casey.length}, therapist shows ${shown.taylor.length}; ` +
      `duplicates ${duplicates}, out of order ${outOfOrder}; settled in ${Date.now() - settle} ms`;
    console.log(summary);
    testInfo.annotations.push({ type: 'summary', description: summary });
    await shot(testInfo, 'customer after the soak', casey.page);
    await shot(testInfo, 'therapist after the soak', taylor.page);

    expect(duplicates).toBe(0);
    expect(outOfOrder).toBe(0);
    expect(shown.casey).toEqual(shown.taylor);
    expect([...shown.casey].sort()).toEqual([...all].sort());
    // Each side's own messages in the order it typed them.
    for (const who of ['casey', 'taylor']) {
      expect(shown.casey.filter((b) => b.startsWith(`${who} #`))).toEqual(sent[who]);
    }
    await casey.context.close();
    await taylor.context.close();
  } finally {
    await server.dispose();
  }
});
