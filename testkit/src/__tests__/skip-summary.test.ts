import { checkRequired, postgresRequirement, skipMarker } from '../skips';

// The reporter is plain CommonJS (jest loads reporters untransformed).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { summarizeSkips, formatSkips } = require('../../skip-summary-reporter.js');

type Status = 'passed' | 'pending' | 'failed';
const test = (title: string, status: Status, ancestors: string[] = []) => ({
  title,
  status,
  ancestorTitles: ancestors,
});
const file = (path: string, tests: ReturnType<typeof test>[]) => ({ testFilePath: path, testResults: tests });

const pg = `store on postgres ${skipMarker('STC_TEST_DATABASE_URL is not set', 'STC_TEST_DATABASE_URL=postgres://x npm test')}`;
const browser = `panels ${skipMarker('/usr/bin/chromium is not installed', 'apt-get install chromium, then npm test')}`;

describe('the skip summary', () => {
  it('groups skipped tests by reason, counting tests and files, and says how to enable each', () => {
    const aggregated = {
      testResults: [
        file('/repo/service/a.test.ts', [
          test('claims', 'pending', [pg]),
          test('claims', 'passed', ['store on sqlite']),
        ]),
        file('/repo/service/b.test.ts', [
          test('dead letters', 'pending', [pg, 'inner']),
          test('x', 'pending', [pg]),
        ]),
        file('/repo/test/browser/p.test.ts', [test('renders', 'pending', [browser])]),
        file('/repo/test/other.test.ts', [test('later', 'pending')]),
      ],
    };
    expect(formatSkips(summarizeSkips(aggregated), '/repo/')).toEqual([
      'Skipped: 5 tests that cannot run on this machine.',
      '  - 3 tests in 2 files: STC_TEST_DATABASE_URL is not set; enable with: STC_TEST_DATABASE_URL=postgres://x npm test',
      '  - 1 test in 1 file: /usr/bin/chromium is not installed; enable with: apt-get install chromium, then npm test',
      '  - 1 test in 1 file: skipped in the test file (it.skip or describe.skip)',
    ]);
  });

  it('says nothing when nothing was skipped', () => {
    const aggregated = { testResults: [file('/repo/a.test.ts', [test('ok', 'passed')])] };
    expect(formatSkips(summarizeSkips(aggregated))).toEqual([]);
  });
});

describe('requirements', () => {
  it('name the variable that is missing and the command that enables the PostgreSQL suites', () => {
    expect(postgresRequirement({})).toEqual({
      missing: 'STC_TEST_DATABASE_URL is not set',
      enable: 'STC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test',
      requiredBy: 'STC_REQUIRE_POSTGRES',
    });
    expect(postgresRequirement({ STC_TEST_DATABASE_URL: 'postgres://db/test' }).missing).toBeNull();
  });

  it('fail instead of skipping where CI requires the suites', () => {
    expect(() => checkRequired(postgresRequirement({}), { STC_REQUIRE_POSTGRES: '1' })).toThrow(
      'STC_REQUIRE_POSTGRES=1 but STC_TEST_DATABASE_URL is not set',
    );
    expect(() => checkRequired(postgresRequirement({}), {})).not.toThrow();
  });
});
