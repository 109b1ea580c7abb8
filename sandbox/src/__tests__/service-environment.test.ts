/**
 * The service's alert settings in the sandbox: the local receiver is added beside the caller's own
 * ALERT_WEBHOOK_URLS (which stay), the rules are checked every 2 s unless the caller says otherwise, and the
 * result is what the service's own configuration reads without a problem.
 */
import { readAlertSettings } from '@stc/service/src/config/alerts';
import { parseSandboxArgs } from '../cli';
import { SANDBOX_USERS, type SandboxRun } from '../parts/run';
import { serviceEnvironment } from '../parts/service';

const run: SandboxRun = {
  dir: '/tmp/stc-sandbox-env-test',
  displayDir: 'data/sandbox/run-test',
  users: SANDBOX_USERS,
  secrets: {
    stripeWebhookSecrets: ['whsec_test'],
    dataverseWebhookKey: 'key',
    dataverseWebhookHeader: 'x-stc-webhook-key',
    adminApiKey: 'admin',
    serviceClientSecret: 'service',
    scriptsClientSecret: 'scripts',
  },
};
const receiver = ['json=http://127.0.0.1:4100/webhooks/json', 'teams=http://127.0.0.1:4100/webhooks/teams'];
const environment = (base: NodeJS.ProcessEnv) =>
  serviceEnvironment(
    {
      options: parseSandboxArgs(['--dataverse-auth', 'none']),
      run,
      stripe: { url: 'http://127.0.0.1:4200', apiKey: 'sk_test_x' },
      dataverseUrl: 'http://127.0.0.1:4300/api/data/v9.2/',
      alertWebhookUrls: receiver,
    },
    base,
  );

test('the local receiver alone, rules every 2 s', () => {
  const env = environment({});
  expect(env.ALERT_WEBHOOK_URLS).toBe(receiver.join(','));
  expect(env.ALERT_INTERVAL_SECONDS).toBe('2');
  const settings = readAlertSettings(env);
  expect(settings.receivers).toEqual([
    { format: 'json', url: 'http://127.0.0.1:4100/webhooks/json' },
    { format: 'teams', url: 'http://127.0.0.1:4100/webhooks/teams' },
  ]);
  expect(settings.intervalMs).toBe(2000);
});

test("the caller's receivers and interval stay, the local receiver beside them", () => {
  const env = environment({
    ALERT_WEBHOOK_URLS: ' slack=https://hooks.slack.com/services/T0/B0/x ',
    ALERT_INTERVAL_SECONDS: '30',
  });
  expect(readAlertSettings(env)).toMatchObject({
    receivers: [
      { format: 'slack', url: 'https://hooks.slack.com/services/T0/B0/x' },
      { format: 'json', url: 'http://127.0.0.1:4100/webhooks/json' },
      { format: 'teams', url: 'http://127.0.0.1:4100/webhooks/teams' },
    ],
    intervalMs: 30_000,
  });
});
