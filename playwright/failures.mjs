// Prints each failed test and the head of its error, last, so that a log
// cut to its tail (as CI keeps it) still says what failed and why. It reads
// the JSON report the suite writes (playwright.config.ts).
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/report.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`failures: no report at ${file} (${err.message})`);
  process.exit(0);
}

const strip = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');
const failed = [];
const walk = (suite, titles) => {
  for (const spec of suite.specs ?? []) {
    for (const t of spec.tests ?? []) {
      const last = t.results?.at(-1);
      if (!last || last.status === 'passed' || last.status === 'skipped') continue;
      failed.push({ title: [...titles, spec.title].filter(Boolean).join(' › '), project: t.projectName, last, annotations: [...(t.annotations ?? []), ...(last.annotations ?? [])] });
    }
  }
  for (const s of suite.suites ?? []) walk(s, [...titles, s.title]);
};
for (const s of report.suites ?? []) walk(s, [s.title]);

if (failed.length === 0) process.exit(0);
// The pages' consoles first, the errors after them: a log cut to its tail
// keeps the words of each failure.
for (const f of failed) {
  const notes = new Set(f.annotations.map((a) => `${a.type}: ${a.description}`));
  if (notes.size === 0) continue;
  console.log(`\n--- [${f.project}] ${f.title}: what its pages logged ---`);
  for (const a of notes) console.log(`  ${a}`);
}
console.log(`\n=== ${failed.length} failed (the head of each error; the whole report: playwright/playwright-report) ===`);
for (const f of failed) {
  console.log(`\n[${f.project}] ${f.title}: ${f.last.status} after ${Math.round(f.last.duration / 1000)} s`);
  for (const e of f.last.errors ?? []) {
    // The code frame is in the report; here the words.
    const lines = strip(e.message ?? String(e.value ?? '')).split('\n')
      .filter((l) => l.trim() !== '' && !/^\s*(>\s*)?\d*\s*\|/.test(l));
    for (const l of lines.slice(0, 12)) console.log(`  ${l}`);
    if (e.location) console.log(`  at ${e.location.file.replace(/^.*\/playwright\//, '')}:${e.location.line}`);
  }
}
