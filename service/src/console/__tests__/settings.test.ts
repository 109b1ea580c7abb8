import { loadConfig } from '../../config';
import { createSqliteStore, type Store } from '../../store';
import type { Settings } from '../contract';
import { consoleHarness } from './support';

const SECRETS = {
  STRIPE_API_KEY: 'sk_test_51SecretStripeKeyValue0001',
  STRIPE_WEBHOOK_SECRET: 'whsec_SecretOldWebhook0002, whsec_SecretNewWebhook0003',
  AZURE_CLIENT_SECRET: 'AzureClientSecretValue~0004',
  DATAVERSE_WEBHOOK_KEY: 'dataverse-webhook-key-secret-0005',
  ADMIN_API_KEY: 'admin-api-key-secret-value-0006',
  DATABASE_URL: 'postgres://connector:Pg-Password-0007@db.internal:5432/stc',
  ALERT_WEBHOOK_URLS:
    'teams=https://contoso.webhook.office.com/webhookb2/Teams-Secret-0008, slack=https://hooks.slack.com/services/T0/B0/Slack-Secret-0009',
};
const SECRET_VALUES = [
  'sk_test_51SecretStripeKeyValue0001',
  'whsec_SecretOldWebhook0002',
  'whsec_SecretNewWebhook0003',
  'AzureClientSecretValue~0004',
  'dataverse-webhook-key-secret-0005',
  'admin-api-key-secret-value-0006',
  'Pg-Password-0007',
  'Teams-Secret-0008',
  'Slack-Secret-0009',
];

describe('console settings', () => {
  let store: Store;
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(() => store.close());

  it('shows the running configuration in sections with every secret masked', async () => {
    const config = loadConfig(
      {
        ...SECRETS,
        STRIPE_MODE: 'test',
        DATAVERSE_URL: 'https://contoso.crm.dynamics.com',
        DATAVERSE_AUTH: 'client-secret',
        AZURE_TENANT_ID: 'tenant-id',
        AZURE_CLIENT_ID: 'client-id',
      },
      '/srv/app',
    );
    const console_ = consoleHarness(store, { console: { config } });
    const res = await console_.get('/console/api/settings').expect(200);

    for (const secret of SECRET_VALUES) expect(res.text).not.toContain(secret);
    const settings = res.body as Settings;
    const entry = (section: string, key: string) =>
      settings.sections.find((s) => s.name === section)?.entries.find((e) => e.key === key);
    expect(settings.sections.map((s) => s.name)).toEqual(
      expect.arrayContaining(['General', 'Stripe', 'Dataverse', 'Store', 'HTTP', 'Workers', 'Alerts']),
    );
    expect(entry('Stripe', 'apiKey')).toEqual({ key: 'apiKey', value: '••••0001', secret: true });
    expect(entry('Stripe', 'webhookSecrets')).toEqual({
      key: 'webhookSecrets',
      value: '••••0002, ••••0003',
      secret: true,
    });
    expect(entry('Stripe', 'mode')).toEqual({ key: 'mode', value: 'test', secret: false });
    expect(entry('Dataverse', 'url')).toEqual({
      key: 'url',
      value: 'https://contoso.crm.dynamics.com',
      secret: false,
    });
    expect(entry('Dataverse', 'clientSecret')?.secret).toBe(true);
    expect(entry('Dataverse', 'webhookKey')?.secret).toBe(true);
    expect(entry('Dataverse', 'webhookHeader')?.secret).toBe(false);
    expect(entry('HTTP', 'adminApiKey')?.secret).toBe(true);
    expect(entry('Store', 'databaseUrl')).toEqual({
      key: 'databaseUrl',
      value: 'postgres://connector:••••@db.internal:5432/stc',
      secret: true,
    });
    expect(entry('Alerts', 'receivers[0].url')).toEqual({
      key: 'receivers[0].url',
      value: 'https://contoso.webhook.office.com/…',
      secret: true,
    });
    expect(entry('Workers', 'concurrency')?.value).toBe('128');
  });
});
