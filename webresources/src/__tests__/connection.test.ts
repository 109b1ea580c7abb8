/**
 * @jest-environment jsdom
 */
import { ConnectorHealth, ConnectorStatus } from '@stc/solution/tables';
import type { Platform } from '../common/record';
import { renderConnectionPage, statusCard, STALE_AFTER_MS } from '../pages/connection';

const c = ConnectorStatus.col;
const NOW = Date.parse('2026-12-05T12:00:00Z');
const ID = '5a5a5a5a-0000-4000-8000-000000000001';

function statusRow(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    [ConnectorStatus.primaryId]: ID,
    [c.serviceUrl]: 'https://stripe-connector.contoso.com',
    [c.serviceVersion]: '0.1.0',
    [c.liveMode]: false,
    [c.stripeAccount]: null,
    [c.stripeAccountName]: 'Contoso Ltd',
    [c.health]: ConnectorHealth.healthy,
    [c.healthDetail]: null,
    [c.lastHeartbeat]: '2026-12-05T11:59:30Z',
    [c.lastEventReceived]: '2026-12-05T11:58:00Z',
    [c.lastEventId]: 'evt_123',
    [c.lastEventType]: 'payment_intent.succeeded',
    [c.pendingEvents]: 2,
    [c.deadLetters]: 1,
    [c.lastTestedOn]: null,
    [c.lastTestSucceeded]: null,
    [c.lastTestResult]: null,
    ...fields,
  };
}

function fakePlatform(rows: Array<Record<string, unknown>>, languageId = 1033) {
  const updates: Array<[string, string, Record<string, unknown>]> = [];
  let answered: Record<string, unknown> | null = null;
  const host = {
    languageId,
    navigation: {} as Platform['navigation'],
    webApi: {
      retrieveMultipleRecords: jest.fn(async () => ({ entities: answered ? [answered] : rows })),
      updateRecord: jest.fn(async (table: string, id: string, data: Record<string, unknown>) => {
        updates.push([table, id, data]);
        // The service answers the test a moment later.
        answered = statusRow({
          [c.lastTestedOn]: new Date(Date.parse(String(data[c.testRequestedOn])) + 1000).toISOString(),
          [c.lastTestSucceeded]: true,
          [c.lastTestResult]: 'Stripe, Dataverse and the store answered.',
        });
        return { id, entityType: table };
      }),
      retrieveRecord: jest.fn(async () => answered ?? rows[0]),
      createRecord: jest.fn(),
    },
  } as unknown as Platform;
  return { host, updates };
}

describe('the connection page', () => {
  it('shows the mode, account, service, health, last event and queue the service reported', () => {
    const card = statusCard(statusRow(), NOW, 1033);
    expect(card.heading).toBe('Test · Contoso Ltd');
    expect(card.state).toBe('healthy');
    expect(Object.fromEntries(card.fields)).toEqual({
      Service: 'https://stripe-connector.contoso.com · 0.1.0',
      Health: 'Healthy',
      'Last report': expect.stringMatching(/11:59:30 AM UTC$/),
      'Last event received': expect.stringMatching(/11:58:00 AM UTC · payment_intent.succeeded evt_123$/),
      Queue: '2 waiting, 1 dead letters',
      'Last connection test': 'Not tested yet',
    });
  });

  it('shows a service that stopped reporting as such, in German too', () => {
    const old = new Date(NOW - STALE_AFTER_MS - 1000).toISOString();
    const card = statusCard(
      statusRow({ [c.lastHeartbeat]: old, [c.liveMode]: true, [c.stripeAccount]: 'acct_1' }),
      NOW,
      1031,
    );
    expect(card.state).toBe('stale');
    expect(card.heading).toBe('Live · Contoso Ltd (acct_1)');
    expect(Object.fromEntries(card.fields).Zustand).toMatch(/^Keine Meldung seit /);
  });

  it('says so when the service has not reported yet', async () => {
    const root = document.createElement('main');
    await renderConnectionPage(root, fakePlatform([]).host);
    expect(root.textContent).toContain('The connector service has not reported yet.');
  });

  it('asks for a connection test and shows the answer', async () => {
    const root = document.createElement('main');
    const { host, updates } = fakePlatform([statusRow()]);
    await renderConnectionPage(root, host, { pollMs: 5, timeoutMs: 1000, now: () => NOW });
    const button = root.querySelector('button')!;
    expect(button.textContent).toBe('Test connection');
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(updates).toEqual([[ConnectorStatus.logicalName, ID, { [c.testRequestedOn]: expect.any(String) }]]);
    expect(root.textContent).toContain('Passed: Stripe, Dataverse and the store answered.');
  });

  it('says why when the status cannot be read', async () => {
    const root = document.createElement('main');
    const { host } = fakePlatform([]);
    (host.webApi.retrieveMultipleRecords as jest.Mock).mockRejectedValue({
      message: 'Principal user is missing prvReadstc_connectorstatus privilege',
    });
    await renderConnectionPage(root, host);
    expect(root.querySelector('[role=alert]')?.textContent).toBe(
      'The connector status could not be read: Principal user is missing prvReadstc_connectorstatus privilege',
    );
  });
});
