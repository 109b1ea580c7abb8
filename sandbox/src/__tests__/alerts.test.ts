/**
 * The sandbox's local alert receiver takes what the service's alerter really posts (its rounds, formats and
 * delivery, over HTTP) in the JSON and Teams formats: one printed line per alert, the page and alerts.json
 * listing both copies with their bodies; anything else is refused with a clear status.
 */
import { Registry } from 'prom-client';
import {
  createAlerter,
  DEFAULT_ALERT_THRESHOLDS,
  type AlertReceiver as ServiceReceiver,
} from '@stc/service/src/alerts';
import { parseAlertReceivers } from '@stc/service/src/config/alerts';
import { startAlertReceiver, type AlertReceiver } from '../parts/alerts';

let receiver: AlertReceiver;
let printed: string[];
beforeEach(async () => {
  printed = [];
  receiver = await startAlertReceiver({ print: (line) => printed.push(line) });
});
afterEach(() => receiver.close());

const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

test('the service’s firing and resolved alerts arrive in both formats, one printed line each, listed on the page', async () => {
  const problems: string[] = [];
  const receivers: ServiceReceiver[] = parseAlertReceivers(receiver.webhookUrls.join(','), problems);
  expect(problems).toEqual([]);
  expect(receivers.map((r) => r.format)).toEqual(['json', 'teams']);
  const facts = { dead: 2, mismatched: 1 };
  const alerter = createAlerter({
    store: {
      queueDepth: async () => ({ pending: 0, processing: 0, dead: facts.dead }),
      oldestWaitingMs: async () => null,
    },
    dataverse: {
      retrieveMultiple: async () =>
        Array.from({ length: facts.mismatched }, (_, i) => ({ stc_stripepayoutid: `po_${i}` })),
    } as never,
    registry: new Registry(),
    log: silent as never,
    settings: {
      receivers,
      intervalMs: 1000,
      renotifyMs: 0,
      timeoutMs: 2000,
      thresholds: DEFAULT_ALERT_THRESHOLDS,
    },
  });

  const firing = await alerter.round();
  expect(firing).toMatchObject({ delivered: 4, waiting: 0 });
  expect(printed).toEqual([
    'alert: firing dead_letters — 2 event(s) in the dead-letter queue (alert at 1). See Sync Issues in Dynamics 365 or GET /admin/dead-letters, fix the cause and retry them.',
    'alert: firing reconciliation_mismatch — 1 payout journal(s) do not balance (alert at 1). See the reconciliation mismatches in Sync Issues.',
  ]);
  facts.dead = 0;
  await alerter.round();
  expect(printed[2]).toBe(
    'alert: resolved dead_letters — 0 event(s) in the dead-letter queue (alert at 1). See Sync Issues in Dynamics 365 or GET /admin/dead-letters, fix the cause and retry them.',
  );
  expect(printed).toHaveLength(3);

  const received = receiver.received();
  // The two receivers are posted to side by side: their messages interleave.
  const said = (format: string) =>
    received.filter((a) => a.format === format).map((a) => `${a.status} ${a.alert}`);
  for (const format of ['json', 'teams'])
    expect(said(format)).toEqual([
      'firing dead_letters',
      'firing reconciliation_mismatch',
      'resolved dead_letters',
    ]);
  const teams = received.find((a) => a.format === 'teams' && a.alert === 'reconciliation_mismatch')!;
  expect(teams).toMatchObject({
    status: 'firing',
    title: 'Payout journals that do not balance',
    summary: expect.stringContaining('1 payout journal(s) do not balance'),
    body: { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive' }] },
  });

  const page = await fetch(receiver.url);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await page.text();
  expect(html).toContain('<title>Alerts received (6)</title>');
  expect(html).toContain('resolved: dead_letters');
  expect(html).toContain('&quot;source&quot;: &quot;stripe-dataverse-connector&quot;');
  const json = (await (await fetch(`${receiver.url}alerts.json`)).json()) as { alerts: unknown[] };
  expect(json.alerts).toHaveLength(6);
});

test('a body that is not an alert is refused with its reason and nothing is recorded', async () => {
  const post = (path: string, body: string) =>
    fetch(new URL(path, receiver.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
  const notJson = await post('webhooks/json', 'not json');
  expect([notJson.status, await notJson.text()]).toEqual([400, 'the body is not JSON\n']);
  const noStatus = await post('webhooks/json', JSON.stringify({ alert: 'dead_letters' }));
  expect([noStatus.status, await noStatus.text()]).toEqual([400, 'a JSON alert carries alert and status\n']);
  const plainTeams = await post('webhooks/teams', JSON.stringify({ text: 'hello' }));
  expect(plainTeams.status).toBe(400);
  expect((await post('webhooks/slack', '{}')).status).toBe(404);
  const html = await post(
    'webhooks/json',
    JSON.stringify({ alert: '<b>x</b>', status: 'firing', summary: '<script>' }),
  );
  expect(html.status).toBe(204);
  const page = await (await fetch(receiver.url)).text();
  expect(page).toContain('&lt;script&gt;');
  expect(page).not.toContain('<script>');
  expect(receiver.received()).toHaveLength(1);
  expect(printed).toEqual(['alert: firing <b>x</b> — <script>']);
});
