#!/usr/bin/env node
// `node scripts/ship-service.js <target> [--dist <folder>]`: copies from a built repository exactly what a
// deployment of the service needs into <target>, for `npm ci --omit=dev --workspace @stc/service` there:
//   package.json, package-lock.json, .npmrc           the root (workspaces, lockfile, npm settings)
//   service/package.json, service/dist, service/mappings
//   <workspace>/package.json                           each workspace package the service depends on
//   console/dist                                       the operator console's pages (npm run build -w @stc/console)
// The service bundle holds the workspace packages' code; npm needs their package.json for their dependencies.
// No TypeScript source is copied. `--dist` takes the compiled service from another folder than service/dist
// (a build made with `npm run build -w @stc/service -- --outdir <folder>`).
// Used by the Dockerfile and by test/production/compiled-service.test.ts. Plain JavaScript, no dependencies.
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const REPO = path.resolve(__dirname, '..');
const ROOT_FILES = ['package.json', 'package-lock.json', '.npmrc'];
const USAGE = 'Usage: node scripts/ship-service.js <target folder> [--dist <compiled service folder>]';

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Workspace folders (from the root package.json) of the `@stc/…` packages among the service's dependencies. */
function workspaceDependencies(repo) {
  const root = readJson(path.join(repo, 'package.json'));
  const service = readJson(path.join(repo, 'service/package.json'));
  const byName = new Map(
    root.workspaces.map((folder) => [readJson(path.join(repo, folder, 'package.json')).name, folder]),
  );
  return Object.keys(service.dependencies)
    .filter((name) => byName.has(name))
    .map((name) => byName.get(name));
}

/** Copies the deployment of the service built in `repo` (compiled into `dist`) into `target`. */
function shipService(target, { repo = REPO, dist = path.join(repo, 'service/dist') } = {}) {
  if (!fs.existsSync(path.join(dist, 'main.js'))) {
    throw new Error(`${dist}/main.js is missing: build the service first (npm run build -w @stc/service)`);
  }
  const copy = (from, to) => fs.cpSync(from, path.join(target, to), { recursive: true });
  fs.mkdirSync(path.join(target, 'service'), { recursive: true });
  for (const file of ROOT_FILES) copy(path.join(repo, file), file);
  copy(path.join(repo, 'service/package.json'), 'service/package.json');
  copy(dist, 'service/dist');
  copy(path.join(repo, 'service/mappings'), 'service/mappings');
  for (const folder of workspaceDependencies(repo)) {
    copy(path.join(repo, folder, 'package.json'), path.join(folder, 'package.json'));
  }
  // Served at /console; without it the deployed service answers /console with 503 naming the build command.
  const consoleDist = path.join(repo, 'console/dist');
  if (fs.existsSync(path.join(consoleDist, 'index.html'))) copy(consoleDist, 'console/dist');
  else
    console.warn(`${consoleDist} is missing: /console will answer 503 (npm run build -w @stc/console first)`);
}

function main() {
  const { values, positionals } = parseArgs({
    options: { dist: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    console.error(USAGE);
    process.exit(2);
  }
  const target = path.resolve(positionals[0]);
  shipService(target, values.dist ? { dist: path.resolve(values.dist) } : {});
  console.log(`service shipped to ${target}`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}

module.exports = { shipService, workspaceDependencies };
