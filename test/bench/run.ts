/**
 * Runs the benchmarks: every `test/bench/*.bench.ts`, one after the other, each in its own process (so one
 * bench's heap and timers cannot skew the next). A bench prints its figures and exits non-zero when an
 * invariant it checks fails. Usage: `npm run bench [-- <name filter>…]`, e.g. `npm run bench -- dataverse`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const benchDir = __dirname;
const tsxCli = require.resolve('tsx/cli');

function runOne(file: string): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsxCli, join(benchDir, file)], {
      stdio: 'inherit',
      env: process.env,
    });
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), ms: Date.now() - started }));
  });
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const benches = readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
    .sort();
  if (benches.length === 0) {
    console.error(
      `No benchmark matches ${filters.join(', ')}; there are: ${readdirSync(benchDir)
        .filter((f) => f.endsWith('.bench.ts'))
        .join(', ')}`,
    );
    process.exit(2);
  }
  const outcomes: { file: string; code: number; ms: number }[] = [];
  for (const file of benches) {
    console.log(`\n=== ${file} ===`);
    outcomes.push({ file, ...(await runOne(file)) });
  }
  console.log('\n=== summary ===');
  for (const o of outcomes)
    console.log(`${o.code === 0 ? 'ok  ' : 'FAIL'} ${o.file} (${(o.ms / 1000).toFixed(1)} s)`);
  const failed = outcomes.filter((o) => o.code !== 0).length;
  console.log(`${outcomes.length - failed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
