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
  projects: [
    project('solution'),
    project('service'),
    project('sandbox'),
    project('webresources'),
    project('pcf-controls', { testEnvironment: 'jsdom' }),
    project('test'),
  ],
};
