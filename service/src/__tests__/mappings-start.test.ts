/**
 * `npm start` (src/main.ts) loads and checks the mapping files before it listens: a bad file stops the
 * process with the mapping engine's message (file, mapping, column) on stderr; the shipped files start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAPPINGS_DIR } from '../handlers';

const MAIN = path.join(__dirname, '../main.ts');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-mappings-start-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const env = (mappingsDir: string) => ({
  ...process.env,
  STRIPE_API_KEY: 'sk_test_mappings_start',
  STRIPE_MODE: 'test',
  STRIPE_WEBHOOK_SECRET: 'whsec_mappings_start',
  DATAVERSE_URL: 'http://127.0.0.1:9/',
  DATAVERSE_AUTH: 'none',
  DATAVERSE_WEBHOOK_KEY: 'mappings-start-dataverse-key',
  ADMIN_API_KEY: 'mappings-start-admin-key-0123',
  SQLITE_PATH: path.join(dir, 'connector.db'),
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  MAPPINGS_DIR: mappingsDir,
});

/** Runs `main.ts`; resolves with its exit code and stderr, or with `listening` once it serves (then stops it). */
function start(mappingsDir: string): Promise<{ code: number | null; stderr: string; listening: boolean }> {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), MAIN], {
    env: env(mappingsDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let listening = false;
  child.stderr!.on('data', (d) => (stderr += String(d)));
  child.stdout!.on('data', (d) => {
    if (!listening && String(d).includes('service listening')) {
      listening = true;
      child.kill('SIGTERM');
    }
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr, listening })));
}

test('a mapping file naming an unknown column stops the start with file, mapping and column', async () => {
  const mappings = path.join(dir, 'mappings');
  fs.cpSync(DEFAULT_MAPPINGS_DIR, mappings, { recursive: true });
  const file = path.join(mappings, 'payments.yaml');
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain('      stc_currency: { expr: currency, required: true }');
  fs.writeFileSync(
    file,
    text.replace('      stc_currency: { expr: currency, required: true }', '      stc_colour: currency'),
  );

  const { code, stderr, listening } = await start(mappings);
  expect(listening).toBe(false);
  expect(code).not.toBe(0);
  expect(code).not.toBeNull();
  expect(stderr).toMatch(/payments\.yaml/);
  expect(stderr).toMatch(/payment_intent/);
  expect(stderr).toMatch(/stc_colour/);
  expect(fs.existsSync(path.join(dir, 'connector.db'))).toBe(false);
}, 60_000);

test('a missing mappings folder stops the start and names the folder', async () => {
  const missing = path.join(dir, 'no-such-folder');
  const { code, stderr, listening } = await start(missing);
  expect(listening).toBe(false);
  expect(code).not.toBe(0);
  expect(stderr).toContain(missing);
}, 60_000);

test('the shipped mapping files start the service', async () => {
  const { code, listening, stderr } = await start(DEFAULT_MAPPINGS_DIR);
  expect(stderr).toBe('');
  expect(listening).toBe(true);
  expect(code).toBe(0);
}, 60_000);
