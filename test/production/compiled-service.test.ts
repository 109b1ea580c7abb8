/**
 * The service as operators deploy it: compiled by `npm run build -w @stc/service`, shipped without sources by
 * scripts/ship-service.js (root package.json and lockfile, the service's package.json, dist/ and mappings/,
 * the package.json of each workspace package it depends on), installed with `npm ci --omit=dev`, started with
 * `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import Stripe from 'stripe';
import { freePort } from '@stc/sandbox';

const REPO = path.resolve(__dirname, '../..');
/** Copies what a deployment needs from the built repository; the Dockerfile ships with it too. */
const SHIP_SCRIPT = path.join(REPO, 'scripts/ship-service.js');
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

describe('the compiled service, deployed with npm ci --omit=dev', () => {
  let work: string;
  let deployed: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-deploy-'));
    deployed = path.join(work, 'app');
    const built = path.join(work, 'build');

    expectSuccess(
      await run('npm', ['run', 'build', '-w', '@stc/service', '--', '--outdir', built], REPO),
      'npm run build -w @stc/service',
    );
    expectSuccess(
      await run('node', [SHIP_SCRIPT, deployed, '--dist', built], REPO),
      'node scripts/ship-service.js',
    );

    expectSuccess(
      await run(
        'npm',
        [
          'ci',
          '--omit=dev',
          '--workspace',
          '@stc/service',
          '--include-workspace-root=false',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
        ],
        deployed,
      ),
      'npm ci --omit=dev',
    );
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (work) fs.rmSync(work, { recursive: true, force: true });
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

  test('npm start serves /healthz, stores a signed Stripe webhook and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const closedPort = await freePort(); // Stripe and Dataverse: nothing listens there, nothing is called
    const database = path.join(work, 'data', 'connector.db');
    const service = spawn('npm', ['start'], {
      cwd: deployed,
      env: cleanEnv({
        STRIPE_API_KEY: 'sk_test_compiled_service',
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
      if (service.exitCode !== null) throw new Error(`npm start exited ${service.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`no answer on ${url}/healthz within 60 s:\n${output}`);
      const res = await fetch(`${url}/healthz`).catch(() => undefined);
      if (res?.ok) health = await res.json();
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(health).toEqual({ status: 'ok', store: 'sqlite' });

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
