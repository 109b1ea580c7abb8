/**
 * One jest run over every workspace. Each workspace is a project so that its own
 * environment (node or jsdom) applies; `npm test -w <workspace>` runs one alone.
 */
const tsJest = ['ts-jest', { isolatedModules: true, diagnostics: false }];
const project = (name, extra = {}) => ({
  displayName: name,
  rootDir: `<rootDir>/${name}`,
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': tsJest },
  testMatch: ['<rootDir>/**/*.test.ts', '<rootDir>/**/*.test.tsx'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/out/'],
  ...extra,
});
module.exports = {
  // One summary at the end of what was skipped on this machine, why, and how to enable it.
  reporters: ['default', '<rootDir>/testkit/skip-summary-reporter.js'],
  projects: [
    project('solution'),
    project('emulators'),
    project('testkit'),
    project('service'),
    project('sandbox'),
    project('webresources'),
    project('console'),
    project('pcf-controls', {
      testEnvironment: 'jsdom',
      // @fluentui/react 8.29 (the platform's version) deep-requires a path that its newer dependency no longer
      // exports; pointing at the file itself loads the same code.
      moduleNameMapper: {
        '^@fluentui/date-time-utilities/lib-commonjs/(.*)$':
          '<rootDir>/../node_modules/@fluentui/date-time-utilities/lib-commonjs/$1',
      },
    }),
    project('test'),
  ],
};
