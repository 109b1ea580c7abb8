/**
 * `npm run sandbox -- --no-scenario --dataverse-port 0 --dataverse-auth none`: imports the solution, prints the
 * URL, serves, stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseSandboxArgs } from '../cli';

const cli = path.resolve(__dirname, '../cli.ts');

test('the sandbox prints "dataverse: URL", answers there, and ends on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, '--no-scenario', '--dataverse-port', '0', '--dataverse-auth', 'none'],
    {
      cwd: path.resolve(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /^dataverse: (http:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\/)$/m.exec(stdout);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${stderr}`)));
  });
  const r = await fetch(`${url}stc_payments?$top=1`, { headers: { Accept: 'application/json' } });
  expect(r.status).toBe(200);
  expect(((await r.json()) as { value: unknown[] }).value).toEqual([]);
  // The tables are there because the sandbox imported the packed solution into a new environment.
  const solutions = await fetch(`${url}solutions?$select=uniquename,ismanaged`, {
    headers: { Accept: 'application/json' },
  });
  expect(((await solutions.json()) as { value: unknown[] }).value).toEqual([
    expect.objectContaining({ uniquename: 'StripeConnector', ismanaged: true }),
  ]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  await expect(fetch(`${url}stc_payments`)).rejects.toThrow();
}, 30_000);

test('the contract flags are accepted and checked', () => {
  expect(
    parseSandboxArgs([
      '--service-port',
      '0',
      '--stripe-port',
      '4242',
      '--store',
      'postgres',
      '--dataverse-auth',
      'entra',
    ]),
  ).toEqual({
    servicePort: 0,
    stripePort: 4242,
    dataversePort: 0,
    scenario: true,
    store: 'postgres',
    dataverseAuth: 'entra',
  });
  expect(() => parseSandboxArgs(['--store', 'mysql'])).toThrow('--store must be sqlite or postgres');
  expect(() => parseSandboxArgs(['--dataverse-port', 'abc'])).toThrow(
    '--dataverse-port must be a port number',
  );
});
