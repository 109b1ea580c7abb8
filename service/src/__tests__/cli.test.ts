import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../cli';
import { createSqliteStore, type Store } from '../store';

const REPO = path.resolve(__dirname, '../../..');

async function deadLetterIn(store: Store, eventId: string) {
  await store.insertEvent({
    source: 'stripe',
    account: '',
    eventId,
    type: 'charge.succeeded',
    objectId: `ch_${eventId}`,
    eventCreatedMs: 1_700_000_000_000,
    payload: JSON.stringify({ id: eventId, object: 'event' }),
    status: 'pending',
    receivedAtMs: Date.now(),
  });
  const [event] = await store.claimEvents({ owner: 'w', limit: 1, leaseMs: 60_000 });
  await store.completeEvent({
    event,
    owner: 'w',
    outcome: { kind: 'dead', error: 'Dataverse: the stc_amount value is out of range', code: '0x80044331' },
    startedAtMs: Date.now(),
    finishedAtMs: Date.now(),
    stampObject: true,
  });
}

describe('dlq CLI', () => {
  let dir: string;
  let file: string;
  let store: Store;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-cli-'));
    file = path.join(dir, 'connector.db');
    store = createSqliteStore({ path: file });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      env: { SQLITE_PATH: file },
      store,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  test('list, show, retry, discard', async () => {
    expect((await run('dlq', 'list')).out).toBe('The dead-letter queue is empty.');
    await deadLetterIn(store, 'evt_a');
    await deadLetterIn(store, 'evt_b');
    const list = await run('dlq', 'list');
    expect(list.code).toBe(0);
    expect(list.out.split('\n')).toHaveLength(3);
    expect(list.out).toMatch(
      /^1 .*charge\.succeeded\s+evt_a\s+0x80044331\s+1\s+Dataverse: the stc_amount value is out of range$/m,
    );
    const show = await run('dlq', 'show', '1');
    expect(JSON.parse(show.out)).toMatchObject({
      id: 1,
      eventId: 'evt_a',
      payload: { id: 'evt_a' },
      history: [{ outcome: 'dead' }],
    });
    expect((await run('dlq', 'retry', '1')).code).toBe(0);
    expect((await store.findEvent('stripe', '', 'evt_a'))?.status).toBe('pending');
    expect((await run('dlq', 'discard', '2')).code).toBe(0);
    expect((await store.findEvent('stripe', '', 'evt_b'))?.status).toBe('discarded');
    const again = await run('dlq', 'retry', '1');
    expect(again).toMatchObject({ code: 1, err: 'No open dead letter 1 (see: dlq list --all)' });
    expect(
      JSON.parse((await run('dlq', 'list', '--all', '--json')).out).map(
        (d: { resolution: string }) => d.resolution,
      ),
    ).toEqual(['retried', 'discarded']);
  });

  test('bad usage exits 2 with the usage', async () => {
    expect((await run('dlq', 'show')).code).toBe(2);
    expect((await run('queue', 'list')).err).toContain('Usage: cli dlq list');
  });

  test('mapping check and mapping dry-run are commands of the operator CLI', async () => {
    const check = await run('mapping', 'check');
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/\d+ mappings in \d+ files: valid against the table model/);
    const noEvent = await run('mapping', 'dry-run');
    expect(noEvent.code).toBe(2);
    expect(noEvent.err).toContain('dry-run needs an event file');
    expect((await run('mapping')).err).toContain('Usage: cli mapping check');
  });

  test.each([
    [['dlq', 'list', '--bogus'], "Unknown option '--bogus'", 'Usage: cli dlq list'],
    [['backfill', '--since'], "Option '--since <value>' argument missing", 'cli backfill --since YYYY-MM-DD'],
    [['reconcile', '--payout', 'po_1', '--bogus'], "Unknown option '--bogus'", 'cli reconcile --payout po_'],
  ])('%j is refused with exit 2, the reason and that command usage', async (argv, reason, usage) => {
    const { code, err } = await run(...argv);
    expect(code).toBe(2);
    expect(err).toContain(reason);
    expect(err).toContain(usage);
  });

  test('runs as a command with npx tsx against the configured store', async () => {
    await deadLetterIn(store, 'evt_cmd');
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'service/src/cli.ts', 'dlq', 'list'], {
      cwd: REPO,
      env: { ...process.env, SQLITE_PATH: file, DATABASE_URL: '' },
    });
    expect(stdout).toContain('evt_cmd');
  }, 30_000);
});
