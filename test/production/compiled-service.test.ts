/**
 * The service as operators deploy it, by the steps of the Dockerfile (read from it, since no Docker daemon runs
 * here): compiled by `npm run build -w @stc/service`, shipped without sources by scripts/ship-service.js (root
 * package.json and lockfile, the service's package.json, dist/ and mappings/, the package.json of each
 * workspace package it depends on), installed by the deps stage's `npm ci --omit=dev …`, started by the image's
 * CMD with the image's ENV, and watched by the image's HEALTHCHECK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import Stripe from 'stripe';
import { freePort } from '@stc/sandbox';
import {
  envOf,
  healthcheckCommand,
  execForm,
  onlyArgsOf,
  readDockerfile,
  runStartingWith,
  stageNamed,
} from './dockerfile';

const REPO = path.resolve(__dirname, '../..');
const IMAGE = readDockerfile();
const BUILD_STAGE = stageNamed(IMAGE, 'build');
const DEPS_STAGE = stageNamed(IMAGE, 'deps');
const RUNTIME_STAGE = stageNamed(IMAGE, 'runtime');
/** `node scripts/ship-service.js /app`: what a deployment needs, copied from the built repository. */
const SHIP = runStartingWith(BUILD_STAGE, 'node', 'scripts/ship-service.js');
/** How the image starts the service (exec form: node itself receives SIGTERM). */
const CMD = execForm(onlyArgsOf(RUNTIME_STAGE, 'CMD'));
const HEALTHCHECK = healthcheckCommand(onlyArgsOf(RUNTIME_STAGE, 'HEALTHCHECK'));
const WEBHOOK_SECRET = 'whsec_compiled_service_test';
const ADMIN_KEY = 'admin-key-compiled-service-test';
/** Building, and above all `npm ci` compiling better-sqlite3, take a minute or two on a small machine. */
const INSTALL_TIMEOUT_MS = 8 * 60_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** npm settings of the machine, kept: where the (warm) cache, the user config and the registry are. */
const MACHINE_NPM_SETTINGS = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry']);

/** The environment without the settings of an npm that may be running this test (`npm test -w …`). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) || MACHINE_NPM_SETTINGS.has(name.toLowerCase())) env[name] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env = cleanEnv()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function expectSuccess(result: Run, what: string): void {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
}

/** Every installed package folder under a node_modules tree, nested ones included. */
function installedPackages(nodeModules: string): string[] {
  if (!fs.existsSync(nodeModules)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(nodeModules, entry.name);
    const packages = entry.name.startsWith('@')
      ? fs.readdirSync(dir).map((name) => [`${entry.name}/${name}`, path.join(dir, name)])
      : [[entry.name, dir]];
    for (const [name, packageDir] of packages) {
      found.push(name, ...installedPackages(path.join(packageDir, 'node_modules')));
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !file.split(path.sep).includes('node_modules'));
}

describe("the compiled service, deployed by the Dockerfile's steps", () => {
  let work: string;
  let deployed: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-deploy-'));
    deployed = path.join(work, 'app');
    const built = path.join(work, 'build');

    // The build stage's commands, run in the repository; the build goes to a scratch folder (--outdir, --dist)
    // instead of service/dist, and the deployment to `deployed` instead of the image's /app.
    const [buildCommand, ...buildArgs] = runStartingWith(BUILD_STAGE, 'npm', 'run', 'build');
    expectSuccess(
      await run(buildCommand!, [...buildArgs, '--', '--outdir', built], REPO),
      `${buildCommand} ${buildArgs.join(' ')}`,
    );
    // The console's pages, built where the image builds them (console/dist) and shipped with the service.
    const [consoleCommand, ...consoleArgs] = runStartingWith(BUILD_STAGE, 'npm', 'run', '-w', '@stc/console');
    expectSuccess(
      await run(consoleCommand!, consoleArgs, REPO),
      `${consoleCommand} ${consoleArgs.join(' ')}`,
    );
    const [shipCommand, ...shipArgs] = SHIP.slice(0, -1);
    expectSuccess(await run(shipCommand!, [...shipArgs, deployed, '--dist', built], REPO), SHIP.join(' '));

    // The deps stage's npm ci, word for word; the machine's warm npm cache is preferred to the registry.
    const [installCommand, ...installArgs] = runStartingWith(DEPS_STAGE, 'npm', 'ci');
    expectSuccess(
      await run(installCommand!, installArgs, deployed, cleanEnv({ npm_config_prefer_offline: 'true' })),
      `${installCommand} ${installArgs.join(' ')}`,
    );
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the image ships to the folder its deps stage installs in and its runtime stage runs from', () => {
    const target = SHIP.at(-1);
    expect({
      deps: onlyArgsOf(DEPS_STAGE, 'WORKDIR'),
      depsCopiesBuild: onlyArgsOf(DEPS_STAGE, 'COPY'),
      runtime: onlyArgsOf(RUNTIME_STAGE, 'WORKDIR'),
      runtimeCopiesDeps: onlyArgsOf(RUNTIME_STAGE, 'COPY'),
    }).toEqual({
      deps: target,
      depsCopiesBuild: `--from=build ${target} ./`,
      runtime: target,
      runtimeCopiesDeps: `--from=deps ${target} ./`,
    });
  });

  test('ships no TypeScript source and installs no TypeScript runner or compiler', () => {
    expect(sourceFiles(deployed)).toEqual([]);
    const installed = installedPackages(path.join(deployed, 'node_modules'));
    expect(installed).toContain('better-sqlite3');
    expect(installed.filter((name) => ['tsx', 'ts-node', 'typescript', 'esbuild'].includes(name))).toEqual(
      [],
    );
  });

  test('the compiled operator CLI runs from the deployed tree', async () => {
    const result = await run(
      'npm',
      ['run', '--silent', 'cli', '--', 'mapping', 'check'],
      deployed,
      cleanEnv({ SQLITE_PATH: path.join(work, 'cli.db') }),
    );
    expectSuccess(result, 'npm run cli -- mapping check');
    expect(result.stdout).toMatch(/\d+ mappings in \d+ files: valid against the table model/);
  });

  /** The image's HEALTHCHECK command, run in the deployed tree with the image's ENV and the service's port. */
  const healthcheck = (port: number): Promise<Run> => {
    const [command, ...args] = HEALTHCHECK;
    return run(command!, args, deployed, cleanEnv({ ...envOf(RUNTIME_STAGE), PORT: String(port) }));
  };

  test("the image's CMD serves /healthz (its HEALTHCHECK passes), stores a signed Stripe webhook and stops cleanly on SIGTERM (its HEALTHCHECK fails)", async () => {
    const port = await freePort();
    const closedPort = await freePort(); // Stripe and Dataverse: nothing listens there, nothing is called
    const database = path.join(work, 'data', 'connector.db');
    const [command, ...args] = CMD;
    const service = spawn(command!, args, {
      cwd: deployed,
      env: cleanEnv({
        ...envOf(RUNTIME_STAGE),
        STRIPE_API_KEY: 'sk_test_compiled_service',
        STRIPE_MODE: 'test',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: `http://127.0.0.1:${closedPort}`,
        DATAVERSE_URL: `http://127.0.0.1:${closedPort}`,
        DATAVERSE_AUTH: 'none',
        DATAVERSE_WEBHOOK_KEY: 'dataverse-key-compiled-service',
        ADMIN_API_KEY: ADMIN_KEY,
        SQLITE_PATH: database,
        HOST: '127.0.0.1',
        PORT: String(port),
        PAYOUT_SWEEP_INTERVAL_MINUTES: '0',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = service;
    let output = '';
    service.stdout!.on('data', (chunk) => (output += chunk));
    service.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      service.on('close', (code, signal) => resolve({ code, signal })),
    );
    const url = `http://127.0.0.1:${port}`;

    const deadline = Date.now() + 60_000;
    let health: unknown;
    while (health === undefined) {
      if (service.exitCode !== null)
        throw new Error(`${CMD.join(' ')} exited ${service.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`no answer on ${url}/healthz within 60 s:\n${output}`);
      const res = await fetch(`${url}/healthz`).catch(() => undefined);
      if (res?.ok) health = await res.json();
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(health).toEqual({ status: 'ok', store: 'sqlite' });
    // The operator console's page and its bundle, from the shipped console/dist.
    const consolePage = await fetch(`${url}/console/`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.headers.get('content-security-policy')).toContain("script-src 'self'");
    const bundle = /src="(\/console\/console-[A-Z0-9]+\.js)"/.exec(await consolePage.text())?.[1];
    expect((await fetch(`${url}${bundle}`)).headers.get('content-type')).toBe(
      'text/javascript; charset=utf-8',
    );
    const healthy = await healthcheck(port);
    expect({ code: healthy.code, stderr: healthy.stderr }).toEqual({ code: 0, stderr: '' });

    const eventId = `evt_compiled_${Date.now()}`;
    const payload = JSON.stringify({
      id: eventId,
      object: 'event',
      api_version: '2025-09-30.clover',
      created: Math.floor(Date.now() / 1000),
      type: 'customer.created',
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: {
        object: { id: 'cus_compiled', object: 'customer', email: 'ada@example.com', name: 'Ada Lovelace' },
      },
    });
    const res = await fetch(`${url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
      },
      body: payload,
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);

    service.kill('SIGTERM');
    const exit = await exited;
    expect({ exit, stopped: output.includes('"msg":"stopped"') }).toEqual({
      exit: { code: 0, signal: null },
      stopped: true,
    });
    expect((await healthcheck(port)).code).toBe(1);

    const db = new Database(database, { readonly: true });
    try {
      expect(db.prepare('SELECT source, type FROM inbox WHERE event_id = ?').get(eventId)).toEqual({
        source: 'stripe',
        type: 'customer.created',
      });
    } finally {
      db.close();
    }
  }, 120_000);
});
