// A jest reporter: gathers the suites skipped through testkit's describeWhen (their titles carry
// `[skipped: <why> | enable: <how>]`) and prints one summary at the end of the run. Plain CommonJS, because
// jest loads reporters before any transform.
const MARKER = /\[skipped: (.+?) \| enable: (.+?)\]/;

/** Groups the skipped tests of an aggregated result by reason: [{ missing, enable, tests, files }]. */
function summarizeSkips(aggregated) {
  const groups = new Map();
  for (const file of aggregated.testResults) {
    for (const test of file.testResults) {
      if (test.status !== 'pending' && test.status !== 'skipped') continue;
      const found = [...test.ancestorTitles, test.title].map((t) => MARKER.exec(t)).find(Boolean);
      const missing = found ? found[1] : 'skipped in the test file (it.skip or describe.skip)';
      const enable = found ? found[2] : '';
      const key = `${missing}\u0000${enable}`;
      const group = groups.get(key) ?? { missing, enable, tests: 0, files: new Set() };
      group.tests += 1;
      group.files.add(file.testFilePath);
      groups.set(key, group);
    }
  }
  return [...groups.values()].map((g) => ({ ...g, files: g.files.size }));
}

/** The summary's lines, or none when nothing was skipped. */
function formatSkips(groups, rootDir = '') {
  if (groups.length === 0) return [];
  const total = groups.reduce((n, g) => n + g.tests, 0);
  const lines = [`Skipped: ${total} test${total === 1 ? '' : 's'} that cannot run on this machine.`];
  for (const g of groups) {
    const where = `${g.tests} test${g.tests === 1 ? '' : 's'} in ${g.files} file${g.files === 1 ? '' : 's'}`;
    lines.push(`  - ${where}: ${g.missing}${g.enable ? `; enable with: ${g.enable}` : ''}`);
  }
  return lines.map((line) => line.replace(rootDir, ''));
}

class SkipSummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir ? `${globalConfig.rootDir}/` : '';
  }

  onRunComplete(_contexts, aggregated) {
    const lines = formatSkips(summarizeSkips(aggregated), this.rootDir);
    if (lines.length > 0) process.stderr.write(`\n${lines.join('\n')}\n`);
  }
}

module.exports = SkipSummaryReporter;
module.exports.summarizeSkips = summarizeSkips;
module.exports.formatSkips = formatSkips;
