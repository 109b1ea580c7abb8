/**
 * How long an event's attempts last (RETRY_MAX_ATTEMPTS, RETRY_BASE_MS, RETRY_MAX_MS): the retries' delays
 * added up, for the settings an operator would run with. A transient failure that is not an outage is
 * dead-lettered after them (an outage waits up to RETRY_OUTAGE_HOURS instead). The runbook quotes these figures.
 */
import { loadConfig } from '../../config';
import { retryDelayMs } from '../failure';

const ENV = {
  STRIPE_API_KEY: 'sk_test_123',
  STRIPE_MODE: 'test',
  STRIPE_WEBHOOK_SECRET: 'whsec_budget',
  DATAVERSE_URL: 'https://contoso.crm.dynamics.com',
  DATAVERSE_AUTH: 'client-secret',
  AZURE_TENANT_ID: 'tenant',
  AZURE_CLIENT_ID: 'client',
  AZURE_CLIENT_SECRET: 'secret',
  DATAVERSE_WEBHOOK_KEY: 'a-long-dataverse-key',
  ADMIN_API_KEY: 'a-long-admin-api-key',
};

/** From the first failed try to the last, in minutes: the shortest (no jitter) and the longest. */
function attemptsLastMinutes(env: Record<string, string> = {}): [number, number] {
  const { retry } = loadConfig({ ...ENV, ...env }, '/srv/app').worker;
  const total = (random: number) => {
    let ms = 0;
    // A try that fails with attempts left is retried after its delay; the last one is dead-lettered.
    for (let attempt = 1; attempt < retry.maxAttempts; attempt++)
      ms += retryDelayMs(attempt, retry, undefined, () => random);
    return Math.round((ms / 60_000) * 10) / 10;
  };
  return [total(0), total(1)];
}

test('with the defaults an event’s attempts last 4.3 to 8.5 minutes', () => {
  expect(attemptsLastMinutes()).toEqual([4.3, 8.5]);
});

test('each retry more doubles it, up to RETRY_MAX_MS (an hour): 12 tries last 17 to 34 minutes, 14 one to two hours', () => {
  expect(attemptsLastMinutes({ RETRY_MAX_ATTEMPTS: '12' })).toEqual([17.1, 34.1]);
  expect(attemptsLastMinutes({ RETRY_MAX_ATTEMPTS: '14' })).toEqual([64.1, 128.3]);
});

test('a lower RETRY_MAX_MS keeps events close behind a recovery: 20 tries, at most 5 minutes apart, 29 to 59 minutes', () => {
  expect(attemptsLastMinutes({ RETRY_MAX_ATTEMPTS: '20', RETRY_MAX_MS: '300000' })).toEqual([29.3, 58.5]);
});
