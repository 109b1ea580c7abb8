// The architecture's import rules, enforced by `npm run lint` (see docs/ARCHITECTURE.md).
//
// Service folders and the arrows allowed between them. Arrows run down the data flow; the table is a DAG, so no
// cycle between folders can be written. The files at the root of service/src (main, cli, service, handlers,
// index) compose the parts and may import any folder; no folder imports them.
//
// Written as ESLint's own no-restricted-imports, generated per folder and per depth from this table, rather than
// with a boundaries plugin: the imports between folders are relative, so a file at depth d reaches a sibling
// folder as exactly d times `../` followed by its name, which a pattern matches without an import resolver
// (and without mistaking `intake/stripe.ts` for the `stripe` folder).
const PLATFORM = ['config', 'store', 'dataverse', 'stripe', 'observability'];
const HANDLING = [...PLATFORM, 'pipeline', 'mapping', 'write'];
export const SERVICE_ARROWS = {
  config: [],
  store: ['config'],
  stripe: ['config'],
  dataverse: ['config'],
  observability: ['config', 'store'],
  mapping: ['config', 'dataverse'],
  pipeline: ['config', 'store', 'dataverse', 'observability'],
  write: ['config', 'pipeline', 'mapping', 'dataverse'],
  // Mapping versions at run time: the store's versions compiled by the mapping engine, pinned per event.
  'mapping-versions': ['config', 'store', 'mapping', 'observability', 'pipeline'],
  history: ['config', 'store', 'stripe', 'observability'],
  reconciliation: HANDLING,
  inbound: [...HANDLING, 'reconciliation'],
  outbound: [...HANDLING, 'reconciliation', 'inbound'],
  intake: ['config', 'store', 'dataverse', 'observability', 'mapping-versions'],
  commands: [...HANDLING, 'reconciliation', 'history', 'mapping-versions'],
  issues: ['config', 'store', 'dataverse', 'observability', 'pipeline'],
};
const ROOT_MODULES = ['main', 'cli', 'service', 'handlers', 'index'];
const MAX_DEPTH = 4;

/**
 * Only the HTTP edges (intake and the admin API in it, the operator console's API and pages) and the
 * composition root know HTTP.
 */
const HTTP_MODULES = [
  'koa',
  '@koa/router',
  'raw-body',
  'supertest',
  'http',
  'node:http',
  'https',
  'node:https',
];

const TESTS = ['**/__tests__/**', '**/__mocks__/**', '**/*.test.ts', '**/*.test.tsx'];

const testSupport = {
  group: ['@stc/testkit', '@stc/testkit/*', '@stc/test', '@stc/test/*', '**/__tests__', '**/__tests__/**'],
  message: 'Product code never imports test support (testkit, the test workspace, __tests__ folders).',
};
const emulators = {
  group: ['@stc/emulators', '@stc/emulators/*', '@stc/sandbox', '@stc/sandbox/*'],
  message: 'The service never imports the emulators or the sandbox; tests reach them through @stc/testkit.',
};
const service = {
  group: ['@stc/service', '@stc/service/*', '@stc/sandbox', '@stc/sandbox/*'],
  message: 'The emulators and the test kit stand apart from the service, so that no package cycle forms.',
};
const http = HTTP_MODULES.map((name) => ({
  name,
  message:
    'Only the HTTP edges (service/src/intake, service/src/console) and the composition root (service.ts) may use HTTP.',
}));

const restrict = (options) => ({ 'no-restricted-imports': ['error', options] });

function folderBlocks() {
  const folders = Object.keys(SERVICE_ARROWS);
  const blocks = [];
  for (const [folder, allowed] of Object.entries(SERVICE_ARROWS)) {
    const forbidden = [...folders.filter((f) => f !== folder && !allowed.includes(f)), ...ROOT_MODULES];
    for (let depth = 1; depth <= MAX_DEPTH; depth++) {
      const up = '../'.repeat(depth);
      const files = `service/src/${folder}/${'*/'.repeat(depth - 1)}*.ts`;
      blocks.push({
        files: [files],
        ignores: TESTS,
        rules: {
          '@typescript-eslint/no-restricted-imports': [
            'error',
            {
              patterns: [
                {
                  group: forbidden.flatMap((name) => [`${up}${name}`, `${up}${name}/**`]),
                  message: `service/src/${folder} may import only: ${allowed.join(', ') || 'nothing'} (the arrows in eslint/architecture.mjs).`,
                },
              ],
            },
          ],
        },
      });
    }
  }
  return blocks;
}

export const architecture = [
  ...folderBlocks(),
  {
    files: ['service/src/**/*.ts'],
    ignores: [...TESTS, 'service/src/intake/**', 'service/src/console/**', 'service/src/service.ts'],
    rules: restrict({ paths: http, patterns: [testSupport, emulators] }),
  },
  {
    files: ['service/src/intake/**/*.ts', 'service/src/console/**/*.ts', 'service/src/service.ts'],
    ignores: TESTS,
    rules: restrict({ patterns: [testSupport, emulators] }),
  },
  {
    files: ['emulators/src/**/*.ts', 'testkit/src/**/*.ts'],
    ignores: TESTS,
    rules: restrict({ patterns: [service] }),
  },
  {
    files: [
      'sandbox/src/**/*.ts',
      'solution/src/**/*.ts',
      'solution/scripts/**/*.ts',
      'service/scripts/**/*.ts',
    ],
    ignores: TESTS,
    rules: restrict({ patterns: [testSupport] }),
  },
];

export { testSupport };
