/**
 * The running service, configured from its environment, checks its alert rules on a schedule: webhook
 * requests with a wrong signature are notified to a local JSON receiver, and /metrics shows the alert firing.
 */
import { serviceOnEmulators } from '../../__tests__/support/service-on-emulators';
import { Receiver } from './receiver';

const fixture = serviceOnEmulators('alerts');
let receiver: Receiver;

beforeEach(async () => {
  receiver = new Receiver();
  await receiver.start();
});
afterEach(() => receiver.close());

async function until<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('webhook signature failures reach the configured JSON receiver and show in /metrics', async () => {
  const service = await fixture.start(
    fixture.configFor({
      ALERT_WEBHOOK_URLS: `json=${receiver.url}/json/hook-secret-123`,
      ALERT_INTERVAL_SECONDS: '0.1',
      ALERT_SIGNATURE_FAILURES: '2',
    }),
  );
  for (let i = 0; i < 2; i++) {
    const answer = await fetch(`${service.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=00`,
      },
      body: JSON.stringify({ id: 'evt_forged', object: 'event', type: 'charge.refunded' }),
    });
    expect(answer.status).toBe(400);
  }
  const message = await until(() => receiver.received.find((m) => m.body.alert === 'signature_failures'));
  expect(message).toMatchObject({
    path: '/json/hook-secret-123',
    body: { source: 'stripe-dataverse-connector', status: 'firing', title: 'Webhook signature failures' },
  });
  expect(message.body.summary).toContain('2 webhook request(s) refused');
  const metrics = await fetch(`${service.url}/metrics`, { headers: { 'x-api-key': fixture.adminKey } });
  const text = await metrics.text();
  expect(text).toContain('stc_alert_firing{alert="signature_failures"} 1');
  expect(text).toContain('stc_dependency_healthy{dependency="stripe"} 1');
  expect(text).toMatch(/stc_oldest_waiting_age_seconds 0/);
});
