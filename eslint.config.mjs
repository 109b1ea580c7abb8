// One flat ESLint config for the whole repository.
import tseslint from 'typescript-eslint';
import { architecture, testSupport } from './eslint/architecture.mjs';

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'http',
  'https',
  'crypto',
  'child_process',
  'net',
  'stream',
  'zlib',
  'url',
];
const noNodeInBrowser = {
  'no-restricted-imports': [
    'error',
    {
      paths: nodeBuiltins
        .flatMap((m) => [m, `node:${m}`])
        .map((name) => ({
          name,
          message: 'Browser code (PCF controls, web resources) must not import Node built-ins.',
        })),
      // Browser workspaces use each other through their public entry only (`@stc/pcf-controls`).
      patterns: [
        {
          group: ['@stc/pcf-controls/*', '@stc/webresources/*'],
          message:
            'Import a browser workspace through its public entry (`@stc/pcf-controls`), not its files.',
        },
        testSupport,
      ],
    },
  ],
};

export { noNodeInBrowser };

/** Tests, their mocks and build scripts: they run in Node, not in the product. */
const NOT_PRODUCT = [
  '**/__tests__/**',
  '**/__mocks__/**',
  '**/*.test.ts',
  '**/*.test.tsx',
  'pcf-controls/scripts/**',
];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/out/**',
      '**/generated/**',
      '**/data/**',
      'coverage/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': ['error', { allow: ['warn', 'error'] }],
      'no-debugger': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['pcf-controls/**/*.{ts,tsx}', 'webresources/src/**/*.ts', 'console/src/**/*.{ts,tsx}'],
    ignores: NOT_PRODUCT,
    rules: noNodeInBrowser,
  },
  {
    files: ['**/cli.ts', '**/bin/**', 'test/bench/**', 'sandbox/src/**/*.ts', '**/scripts/**'],
    rules: { 'no-console': 'off' },
  },
  { files: ['**/*.js', '**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  ...architecture,
  {
    // Product functions stay under 80 lines; the ones not yet split are reported (a warning) until they are,
    // and a function that must stay longer says why in an eslint-disable comment with a description.
    files: [
      '{service,emulators,sandbox,solution,testkit}/src/**/*.ts',
      'pcf-controls/**/*.{ts,tsx}',
      'webresources/src/**/*.ts',
      'console/src/**/*.{ts,tsx}',
    ],
    ignores: NOT_PRODUCT,
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
);
