#!/usr/bin/env node
// Run by `npm test` before jest: where Chromium is installed and the build of the PCF controls or of the operator
// console is missing or older than its sources, builds it, so that the browser suites run; where Chromium is
// missing, says that the browser suites will be skipped and how to enable them. Plain JavaScript, so it needs no
// TypeScript runner.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const CONTROLS = ['PaymentPanel', 'CustomerPanel'];
/**
 * What the browser suites need built: the files a build writes, and what they are built from (the controls: their
 * folder, and the table names and currencies they import; the console: its folder, the API contract, currencies).
 */
const BUILDS = [
  {
    title: 'the PCF controls',
    workspace: '@stc/pcf-controls',
    outputs: CONTROLS.map((c) => join('pcf-controls/out/controls', c, 'bundle.js')),
    sources: ['pcf-controls', 'solution/src/generated/tables.ts', 'solution/src/currencies.ts'],
  },
  {
    title: 'the operator console',
    workspace: '@stc/console',
    outputs: ['console/dist/index.html'],
    sources: [
      'console/src',
      'console/scripts',
      'service/src/console/contract.ts',
      'solution/src/currencies.ts',
    ],
  },
];
const SKIPPED_DIRS = new Set(['node_modules', 'out', 'generated', '__tests__', '__mocks__', 'obj', 'bin']);

/** The newest modification time under a file or folder, leaving out builds, dependencies and tests. */
function newestSource(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIPPED_DIRS.has(entry.name)) continue;
    newest = Math.max(newest, newestSource(join(path, entry.name)));
  }
  return newest;
}

/** Whether to build: a bundle is missing (undefined) or older than the newest source. */
function needsBuild(bundleTimes, newestSourceTime) {
  return bundleTimes.some((t) => t === undefined || t < newestSourceTime);
}

function main() {
  const chromium = process.env.STC_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    process.stderr.write(
      `${chromium} is not installed: the browser suites will be skipped (apt-get install chromium to run them).\n`,
    );
    return;
  }
  for (const { title, workspace, outputs, sources } of BUILDS) {
    const outputTimes = outputs
      .map((o) => join(root, o))
      .map((o) => (existsSync(o) ? statSync(o).mtimeMs : undefined));
    const newest = Math.max(...sources.map((s) => newestSource(join(root, s))));
    if (!needsBuild(outputTimes, newest)) continue;
    process.stderr.write(`Building ${title} for the browser suites (npm run build -w ${workspace})\n`);
    execFileSync('npm', ['run', 'build', '-w', workspace], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, PP_TOOLS_TELEMETRY_OPTOUT: 'true' },
    });
  }
}

if (require.main === module) main();
module.exports = { needsBuild, newestSource };
