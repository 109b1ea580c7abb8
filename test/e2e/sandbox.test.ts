/**
 * `npm run sandbox` as a person runs it: the command is spawned, its `name: URL` lines are read, the
 * scenario's own report is parsed, rows are read independently from the printed Dataverse URL (with a token
 * from the printed token endpoint in entra mode), and after SIGTERM nothing it started is left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import Stripe from 'stripe';
import { StcPaymentStatus, StcRefundRequestStatus } from '@stc/solution';
import { requestToken, SANDBOX_USERS, type ScriptCredentials } from '@stc/sandbox';
import type {
  BulkRetry,
  DeadLetterPage,
  EventPage,
  Lineage,
  MappingActivated,
  MappingDryRun,
  MappingVersionFiles,
  MappingVersionList,
  MappingVersionSummary,
} from '@stc/service/src/console/contract';

const REPO = path.resolve(__dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Sandbox {
  child: ChildProcess;
  stdout(): string;
  /** The `name: URL` line's URL and the bracketed note after it. */
  part(name: string): { url: string; note: string } | undefined;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM to npm, as a process manager stops it; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Where an https URL redirects to, trusting `ca` (the local Entra ID endpoint's own CA). */
function redirectOf(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        res.resume();
        if (res.headers.location) resolve(res.headers.location);
        else reject(new Error(`${url} answered ${res.statusCode} without a redirect`));
      })
      .on('error', reject);
  });
}

function startSandbox(args: string[], env: NodeJS.ProcessEnv = {}): Sandbox {
  const child = spawn(npm, ['run', '--silent', 'sandbox', '--', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    part(name) {
      const m = new RegExp(`^${name}: (\\S+)(?: \\((.*)\\))?$`, 'm').exec(out);
      return m ? { url: m[1], note: m[2] ?? '' } : undefined;
    },
    waitFor(pattern, timeoutMs = 45_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} in the sandbox's output:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`the sandbox exited before ${pattern}:\n${out}\nstderr:\n${err}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Whether something accepts connections on a port of 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const portOf = (url: string) => Number(new URL(url).port);
const pidOf = (note: string) => Number(/pid (\d+)/.exec(note)?.[1]);

async function expectAllGone(sandbox: Sandbox, names: string[]): Promise<void> {
  // The harness runs only when the PCF controls are built; every part that printed its line is checked.
  const parts = names.flatMap((name) => {
    const part = sandbox.part(name);
    return part ? [{ name, ...part }] : [];
  });
  expect(parts.map((p) => p.name)).toEqual(expect.arrayContaining(['dataverse', 'stripe', 'service']));
  const servicePid = pidOf(sandbox.part('service')!.note);
  expect(servicePid).toBeGreaterThan(0);
  expect(alive(servicePid)).toBe(true);
  expect(await sandbox.stop()).toBe(0);
  expect(alive(servicePid)).toBe(false);
  for (const part of parts) {
    expect({ part: part.name, listening: await listening(portOf(part.url)) }).toEqual({
      part: part.name,
      listening: false,
    });
  }
}

async function getJson(
  url: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

let running: Sandbox | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

test('entra mode: the scenario passes every check, its rows read back with a token, and SIGTERM ends every process', async () => {
  running = startSandbox(['--service-port', '0', '--stripe-port', '0', '--dataverse-port', '0']);
  const summary = await running.waitFor(/^scenario: (\d+) of (\d+) checks passed(.*)$/m, 80_000);
  const out = running.stdout();
  expect(out).not.toMatch(/✗ FAILED/);
  expect(Number(summary[2])).toBeGreaterThanOrEqual(22);
  // A payment page asked for in Dynamics 365 for an order there, paid: that same order is paid.
  expect(out).toMatch(
    /^scenario: ✓ order ORD-\d{5}-[A-Z0-9]{6} made in Dynamics 365 \(USD 2,080\.50\) → payment link request by .+ → Stripe payment page, paid → the same order Paid \(2080\.5\), request Paid: http/m,
  );
  // A payment page asked for in Dynamics 365 for a quote, paid: the quote is won and its one order is paid.
  expect(out).toMatch(
    /^scenario: ✓ quote QUO-\d{5}-[A-Z0-9]{6} made in Dynamics 365 \(USD 1,526\.00\) → payment link request by .+ → Stripe payment page, paid → quote Won, its order ORD-\d{5}-[A-Z0-9]{6} Paid \(1526\): quote http\S+ order http/m,
  );
  // A subscription asked for in Dynamics 365, renewed twice on a test clock: three paid invoices.
  expect(out).toMatch(
    /^scenario: ✓ subscription sub_\w+ asked for in Dynamics 365 \(3 × USD 12\.00 a month\) → made in Stripe, renewed twice on test clock clock_\w+ → MRR 36\.00, 3 invoices paid, each with its payment: http/m,
  );
  // Order-to-cash: the checkout's order and paid invoice, with the order's address to open.
  expect(out).toMatch(
    /^scenario: ✓ checkout cs_test_\w+ \(3 lines, 2 products, USD 242\.48\) → order ORD-\d{5}-[A-Z0-9]{6} \(3 lines, total 242\.48, 1 written in\) and invoice INV-\S+ Paid: http:\/\/127\.0\.0\.1:\d+\/(form\?entity=salesorder&id=|api\/data\/v9\.2\/salesorders\()[0-9a-f-]{36}/m,
  );
  // What the operator console shows: the journal of two payouts, one mismatched on purpose, and a dead letter.
  expect(out).toMatch(
    /^scenario: ✓ payout po_\w+ \(USD [\d.]+\) → journal Balanced: \S+; payout po_\w+ stated 0\.07 more than its transactions \(on purpose\) → journal Mismatch, difference 0\.07: /m,
  );
  expect(out).toMatch(
    /^scenario: ✓ live-mode payment pi_\w+ sent to this test-mode service → dead letter \d+ \(stripe_mode_mismatch, on purpose\), no row: /m,
  );
  // A payment whose metadata names its order as the order form gives it: dead-lettered by the shipped mapping.
  const unbound =
    /^scenario: ✓ payment (pi_\w+) \(USD 480\.00\) for order ORD-\S+, named in its metadata as the order form gives it \((\{[0-9A-F-]{36}\})\) → dead letter \d+ \(mapping_failed: .*, no row: http:\/\/127\.0\.0\.1:\d+\/console\/#\/dead-letters/m.exec(
      out,
    );
  expect(unbound).not.toBeNull();
  const [, unboundPayment, formOrderId] = unbound!;
  // The alerts they raise, printed as they reach the local receiver and listed on its page.
  expect(out).toMatch(/^alert: firing dead_letters — \d+ event\(s\) in the dead-letter queue/m);
  expect(out).toMatch(/^alert: firing reconciliation_mismatch — 1 payout journal\(s\) do not balance/m);
  expect(out).toMatch(
    /^scenario: ✓ alerts firing at the local receiver \(json and teams formats\): firing dead_letters, firing reconciliation_mismatch: http:\/\/127\.0\.0\.1:\d+\//m,
  );
  expect(summary[1]).toBe(summary[2]);
  expect(summary[3]).toBe('');
  const alertsPage = running.part('alerts')!.url;
  expect(alertsPage).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  const alertsHtml = await fetch(alertsPage);
  expect(alertsHtml.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await alertsHtml.text()).toContain('firing: reconciliation_mismatch');
  const { alerts } = (await (await fetch(`${alertsPage}alerts.json`)).json()) as {
    alerts: Array<{ format: string; status: string; alert: string; body: Record<string, unknown> }>;
  };
  for (const [format, alert] of [
    ['json', 'dead_letters'],
    ['json', 'reconciliation_mismatch'],
    ['teams', 'dead_letters'],
    ['teams', 'reconciliation_mismatch'],
  ])
    expect(alerts).toContainEqual(expect.objectContaining({ format, alert, status: 'firing' }));
  expect(alerts.find((a) => a.format === 'json')!.body).toMatchObject({
    source: 'stripe-dataverse-connector',
    status: 'firing',
  });

  // The console's line: its address and the admin key generated for this run, which signs in.
  const consoleLine = /^console: (http:\/\/127\.0\.0\.1:\d+\/console) \(admin key: (\S+)\)$/m.exec(out);
  expect(consoleLine).not.toBeNull();
  const [, consoleUrl, adminKey] = consoleLine!;
  expect(consoleUrl).toBe(`${running.part('service')!.url}/console`);
  const page = await fetch(consoleUrl);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/<html/i);
  const signIn = await fetch(`${consoleUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ adminKey }),
  });
  expect(signIn.status).toBe(204);
  expect(signIn.headers.get('set-cookie')).toMatch(/^stc_console=/);
  const wrong = await fetch(`${consoleUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ adminKey: `${adminKey}x` }),
  });
  expect(wrong.status).toBe(401);
  // Or with Microsoft Entra ID: the local tenant's operator, signed in at once, gets the console's session.
  expect(out).toMatch(
    /^console: or "Sign in with Microsoft Entra ID", which signs Olive Operator \(olive\.operator@sandbox\.onmicrosoft\.com\) in at once$/m,
  );
  const start = await fetch(`${consoleUrl}/signin/entra`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const tokenNote = running.part('token')!.note;
  const scriptCredentials = JSON.parse(
    fs.readFileSync(path.resolve(REPO, /client credentials for scripts: (\S+)/.exec(tokenNote)![1]), 'utf8'),
  ) as ScriptCredentials;
  const callback = await redirectOf(
    start.headers.get('location')!,
    fs.readFileSync(scriptCredentials.caCertPath),
  );
  const signedIn = await fetch(callback, {
    redirect: 'manual',
    headers: { cookie: start.headers.get('set-cookie')!.split(';')[0] },
  });
  expect(signedIn.status).toBe(302);
  // The session cookie and its sealed refresh and id token cookies, as a browser sends them back.
  const session = signedIn.headers
    .getSetCookie()
    .filter(
      (c) =>
        c.startsWith('stc_console=') || c.startsWith('stc_console_rt=') || c.startsWith('stc_console_idt='),
    )
    .map((c) => c.split(';')[0])
    .join('; ');
  expect(session).toContain('stc_console_rt=');
  const me = await fetch(`${consoleUrl}/api/me`, { headers: { cookie: session } });
  expect(await me.json()).toMatchObject({ name: 'Olive Operator', method: 'entra' });

  const dataverse = running.part('dataverse')!.url;
  expect(dataverse).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\/$/);
  expect(running.part('stripe')!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(running.part('service')!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const token = running.part('token')!;
  expect(token.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}\/oauth2\/v2\.0\/token$/);
  // Service logs stay out of standard output: only part lines and scenario lines.
  for (const line of out.trim().split('\n'))
    expect(line).toMatch(/^(token|dataverse|stripe|alerts|service|console|harness|scenario|alert): /);

  // Independently of the scenario: a token from the printed endpoint, rows from the printed URL.
  const credentialsFile = path.resolve(REPO, /client credentials for scripts: (\S+)/.exec(token.note)![1]);
  const credentials = JSON.parse(fs.readFileSync(credentialsFile, 'utf8')) as ScriptCredentials;
  expect((fs.statSync(credentialsFile).mode & 0o077).toString(8)).toBe('0');
  const { token: bearer } = await requestToken(credentials);
  expect((await getJson(`${dataverse}stc_payments`)).status).toBe(401);

  // The dead letter fixed as the walkthrough does, through the console's API with the admin key's session:
  // a new mapping version that takes the braces off the order's id, its dry run, activate, retry.
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  const consoleApi = async <T>(method: 'GET' | 'POST', route: string, body?: unknown) => {
    const answer = await fetch(`${consoleUrl}/api/${route}`, {
      method,
      headers: { cookie, 'content-type': 'application/json', 'x-requested-with': 'stc-console' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: answer.status, body: (await answer.json()) as T };
  };
  const open = await consoleApi<DeadLetterPage>('GET', 'dead-letters?status=open');
  const letter = open.body.deadLetters.find((d) => d.objectId === unboundPayment)!;
  expect(letter).toMatchObject({ errorCode: 'mapping_failed' });
  expect(letter.error).toContain(`link id "${formOrderId}" is not a GUID`);
  const { versions } = (await consoleApi<MappingVersionList>('GET', 'mappings')).body;
  const active = versions.find((v) => v.active)!;
  const current = (await consoleApi<MappingVersionFiles>('GET', `mappings/${active.version}`)).body;
  const shipped = current.files['payments.yaml'];
  const fixedPayments = shipped.replaceAll(
    'id: metadata.d365_salesorderid',
    `id: "$replace(metadata.d365_salesorderid, /[{}]/, '')"`,
  );
  expect(fixedPayments).not.toBe(shipped);
  const created = await consoleApi<MappingVersionSummary>('POST', 'mappings', {
    files: { ...current.files, 'payments.yaml': fixedPayments },
    note: 'order ids as the order form gives them: braces taken off',
  });
  expect(created).toMatchObject({ status: 201, body: { version: active.version + 1, active: false } });
  // The payment's own events, found by its id as on the events page; the new version dry-run on one of them.
  const { events } = (await consoleApi<EventPage>('GET', `events?q=${unboundPayment}`)).body;
  const intentEvent = events.find((e) => e.type.startsWith('payment_intent.'))!;
  expect(intentEvent).toBeDefined();
  const dryRun = await consoleApi<MappingDryRun>('POST', 'mappings/dry-run', {
    version: created.body.version,
    inboxId: intentEvent.id,
  });
  expect(dryRun.status).toBe(200);
  expect(JSON.stringify(dryRun.body.active)).toContain('is not a GUID');
  expect(JSON.stringify(dryRun.body.version)).not.toContain('is not a GUID');
  expect(
    await consoleApi<MappingActivated>('POST', `mappings/${created.body.version}/activate`),
  ).toMatchObject({
    status: 200,
    body: { active: created.body.version },
  });
  const retried = await consoleApi<BulkRetry>('POST', 'dead-letters/retry', { errorCode: 'mapping_failed' });
  expect(retried.status).toBe(200);
  expect(retried.body.ids).toContain(letter.id);
  const orderId = formOrderId.slice(1, -1).toLowerCase();
  let fixed: { status: number; body: Record<string, unknown> };
  const fixDeadline = Date.now() + 20_000;
  do {
    await new Promise((r) => setTimeout(r, 200));
    fixed = await getJson(
      `${dataverse}stc_payments(stc_stripeid='${unboundPayment}')?$select=stc_amount,stc_status,_stc_salesorderid_value`,
      bearer,
    );
  } while (
    (fixed.status !== 200 || fixed.body.stc_status !== StcPaymentStatus.Succeeded) &&
    Date.now() < fixDeadline
  );
  expect(fixed.body).toMatchObject({
    stc_amount: 480,
    stc_status: StcPaymentStatus.Succeeded,
    _stc_salesorderid_value: orderId,
  });
  // The retried event's lineage: applied under the new version, the payment's row among its writes.
  const lineage = (await consoleApi<Lineage>('GET', `events/${letter.inboxId}`)).body;
  expect(lineage.attempts.at(-1)).toMatchObject({
    outcome: 'applied',
    mappingVersion: String(created.body.version),
  });
  expect(lineage.writes).toContainEqual(
    expect.objectContaining({ table: 'stc_payment', mappingVersion: String(created.body.version) }),
  );
  const after = await consoleApi<DeadLetterPage>('GET', 'dead-letters?status=open');
  expect(after.body.deadLetters.map((d) => d.errorCode)).toEqual(['stripe_mode_mismatch']);

  const kwd = /payment (pi_\w+) KWD 12\.350 succeeded/.exec(out)![1];
  const payment = await getJson(
    `${dataverse}stc_payments(stc_stripeid='${kwd}')?$select=stc_amount,stc_currency,stc_status,_createdby_value`,
    bearer,
  );
  expect(payment.status).toBe(200);
  expect(payment.body).toMatchObject({
    stc_amount: 12.35,
    stc_currency: 'kwd',
    stc_status: StcPaymentStatus.Succeeded,
    // Written by the service's application user, signed in through the token endpoint.
    _createdby_value: SANDBOX_USERS.service.systemuserid,
  });
  const requests = await getJson(
    `${dataverse}stc_refundrequests?$select=stc_amount,stc_status,stc_striperefundid,_stc_requestedby_value`,
    bearer,
  );
  expect(requests.body.value).toEqual([
    expect.objectContaining({
      stc_amount: 30,
      stc_status: StcRefundRequestStatus.Succeeded,
      stc_striperefundid: expect.stringMatching(/^re_/),
      _stc_requestedby_value: SANDBOX_USERS.requester.systemuserid,
    }),
  ]);

  await expectAllGone(running, ['token', 'dataverse', 'stripe', 'alerts', 'service', 'harness']);
}, 120_000);

test('none mode without the scenario: no token endpoint, no scenario, a payment made on the printed Stripe URL lands in the printed Dataverse, SIGTERM ends everything', async () => {
  running = startSandbox(
    [
      '--service-port',
      '0',
      '--stripe-port',
      '0',
      '--dataverse-port',
      '0',
      '--dataverse-auth',
      'none',
      '--no-scenario',
    ],
    { STRIPE_WEBHOOK_SECRET: 'whsec_caller_given_secret' },
  );
  await running.waitFor(/^service: /m);
  expect(running.part('token')).toBeUndefined();
  const dataverse = running.part('dataverse')!.url;
  const stripeUrl = new URL(running.part('stripe')!.url);
  const stripe = new Stripe('sk_test_sandbox_check', {
    host: stripeUrl.hostname,
    port: Number(stripeUrl.port),
    protocol: 'http',
  });
  const intent = await stripe.paymentIntents.create({
    amount: 2500,
    currency: 'eur',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  const deadline = Date.now() + 15_000;
  let row: { status: number; body: Record<string, unknown> };
  do {
    await new Promise((r) => setTimeout(r, 100));
    row = await getJson(
      `${dataverse}stc_payments(stc_stripeid='${intent.id}')?$select=stc_amount,stc_status`,
    );
  } while (
    (row.status !== 200 || row.body.stc_status !== StcPaymentStatus.Succeeded) &&
    Date.now() < deadline
  );
  expect(row.body).toMatchObject({ stc_amount: 25, stc_status: StcPaymentStatus.Succeeded });
  expect(running.stdout()).not.toMatch(/^scenario:/m);

  await expectAllGone(running, ['dataverse', 'stripe', 'alerts', 'service']);
}, 60_000);

test('a sandbox killed outright (SIGKILL, no chance to stop its parts) still leaves no service behind', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'sandbox/src/cli.ts', '--no-scenario', '--dataverse-auth', 'none'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const service = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^service: (\S+) \(pid (\d+)/m.exec(out);
      if (m) resolve({ url: m[1], pid: Number(m[2]) });
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${out}`)));
  });
  expect(alive(service.pid)).toBe(true);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  // The service notices its stdin close and stops itself gracefully.
  const deadline = Date.now() + 20_000;
  while (alive(service.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(alive(service.pid)).toBe(false);
  expect(await listening(portOf(service.url))).toBe(false);
}, 40_000);
