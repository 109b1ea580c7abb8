import { ConfigError, loadConfig } from '../config';

const valid = {
  STRIPE_API_KEY: 'sk_test_123',
  STRIPE_MODE: 'test',
  STRIPE_WEBHOOK_SECRET: 'whsec_old, whsec_new',
  DATAVERSE_URL: 'https://contoso.crm.dynamics.com',
  DATAVERSE_AUTH: 'client-secret',
  AZURE_TENANT_ID: 'tenant',
  AZURE_CLIENT_ID: 'client',
  AZURE_CLIENT_SECRET: 'secret',
  DATAVERSE_WEBHOOK_KEY: 'a-long-dataverse-key',
  ADMIN_API_KEY: 'a-long-admin-api-key',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv/app');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

test('a complete environment gives typed settings with defaults', () => {
  const config = loadConfig(valid, '/srv/app');
  expect(config.stripe.webhookSecrets).toEqual(['whsec_old', 'whsec_new']);
  expect(config.stripe.api).toBeUndefined();
  expect(config.store).toEqual({
    engine: 'sqlite',
    path: '/srv/app/data/connector.db',
    synchronous: 'normal',
  });
  expect(loadConfig({ ...valid, SQLITE_PATH: ':memory:' }, '/srv/app').store).toMatchObject({
    path: ':memory:',
  });
  expect(config.http).toMatchObject({ port: 3000, maxBodyBytes: 1_048_576 });
  expect(config.worker).toMatchObject({ concurrency: 128, retry: { maxAttempts: 10 } });
  expect(config.dataverse.batch).toEqual({ maxBatchSize: 100, maxDelayMs: 150, maxInFlight: 4 });
  expect(config.dataverse.webhookHeader).toBe('x-stc-webhook-key');
});

test('STRIPE_MODE names the one mode served, and the key must be of it', () => {
  expect(loadConfig(valid, '/srv/app').stripe.mode).toBe('test');
  expect(loadConfig({ ...valid, STRIPE_API_KEY: 'rk_test_abc' }, '/srv/app').stripe.mode).toBe('test');
  expect(
    loadConfig({ ...valid, STRIPE_API_KEY: 'rk_live_abc', STRIPE_MODE: 'live' }, '/srv/app'),
  ).toMatchObject({
    stripe: { mode: 'live' },
    outbound: { stripeMode: 'live' },
  });
  expect(problems({ ...valid, STRIPE_API_KEY: 'sk_live_secretpart', STRIPE_MODE: 'test' })).toEqual([
    'STRIPE_MODE is test but STRIPE_API_KEY is a live-mode key (sk_live_…): the service serves one mode, set both to the same',
  ]);
  expect(problems({ ...valid, STRIPE_API_KEY: 'rk_test_secretpart', STRIPE_MODE: 'live' })).toEqual([
    'STRIPE_MODE is live but STRIPE_API_KEY is a test-mode key (rk_test_…): the service serves one mode, set both to the same',
  ]);
  expect(problems({ ...valid, STRIPE_MODE: 'production' })).toEqual(['STRIPE_MODE must be test or live']);
  expect(problems({ ...valid, STRIPE_MODE: '' })).toEqual(['STRIPE_MODE is required']);
  expect(problems({ ...valid, HANDLER_TIMEOUT_MS: '600001' })).toEqual([
    'HANDLER_TIMEOUT_MS must be at most 600000 (10 minutes)',
  ]);
  expect(loadConfig({ ...valid, HANDLER_TIMEOUT_MS: '600000' }, '/srv/app').worker.handlerTimeoutMs).toBe(
    600_000,
  );
  expect(problems({ ...valid, STRIPE_API_KEY: 'pk_test_123' })).toEqual([
    expect.stringMatching(
      /^STRIPE_API_KEY must be a secret or restricted key \(sk_test_, rk_test_, sk_live_ or rk_live_\)/,
    ),
  ]);
  // The secret part of the key never shows in a message.
  const all = problems({ ...valid, STRIPE_API_KEY: 'sk_live_secretpart' }).join('\n');
  expect(all).not.toContain('secretpart');
});

test("the Stripe budget is half of Stripe's limits by default, of the mode served, and can be set", () => {
  expect(loadConfig(valid, '/srv/app').stripe.budget).toEqual({ perSecond: 12, endpointPerSecond: 12 });
  const live = { ...valid, STRIPE_API_KEY: 'sk_live_abc', STRIPE_MODE: 'live' };
  expect(loadConfig(live, '/srv/app').stripe.budget).toEqual({ perSecond: 50, endpointPerSecond: 12 });
  expect(
    loadConfig(
      { ...live, STRIPE_BUDGET_SHARE: '0.8', STRIPE_RATE_LIMIT: '200', STRIPE_ENDPOINT_RATE_LIMIT: '50' },
      '/srv/app',
    ).stripe.budget,
  ).toEqual({ perSecond: 160, endpointPerSecond: 40 });
  expect(problems({ ...valid, STRIPE_BUDGET_SHARE: '1.5' })).toEqual([
    'STRIPE_BUDGET_SHARE must be above 0 and at most 1, e.g. 0.5',
  ]);
  expect(problems({ ...valid, STRIPE_BUDGET_SHARE: '0' })).toEqual([
    'STRIPE_BUDGET_SHARE must be above 0 and at most 1, e.g. 0.5',
  ]);
  expect(loadConfig({ ...valid, STRIPE_RATE_LIMIT: '' }, '/srv/app').stripe.budget.perSecond).toBe(12);
  expect(problems({ ...valid, STRIPE_RATE_LIMIT: '0' })).toEqual(['STRIPE_RATE_LIMIT must be at least 1']);
  expect(problems({ ...valid, STRIPE_BUDGET_SHARE: 'half' })).toEqual([
    'STRIPE_BUDGET_SHARE must be a number above 0 and at most 1, e.g. 0.5',
  ]);
});

test('STRIPE_API_BASE points the SDK at an emulator; DATABASE_URL selects PostgreSQL', () => {
  const config = loadConfig({
    ...valid,
    STRIPE_API_BASE: 'http://127.0.0.1:12111',
    DATABASE_URL: 'postgres://u@h/db',
    DATABASE_SCHEMA: 'stc',
  });
  expect(config.stripe.api).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
  expect(config.store).toEqual({
    engine: 'postgres',
    databaseUrl: 'postgres://u@h/db',
    schema: 'stc',
    poolMax: 10,
    queryTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
  });
  const tighter = loadConfig({
    ...valid,
    DATABASE_URL: 'postgres://u@h/db',
    DATABASE_QUERY_TIMEOUT_MS: '5000',
    DATABASE_CONNECT_TIMEOUT_MS: '2000',
  });
  expect(tighter.store).toMatchObject({ queryTimeoutMs: 5_000, connectTimeoutMs: 2_000 });
  expect(problems({ ...valid, DATABASE_QUERY_TIMEOUT_MS: '0' })).toEqual([
    'DATABASE_QUERY_TIMEOUT_MS: Too small: expected number to be >=100',
  ]);
});

test('an empty environment names every missing variable at once', () => {
  expect(problems({})).toEqual([
    'STRIPE_API_KEY is required',
    'STRIPE_MODE is required',
    'STRIPE_WEBHOOK_SECRET is required',
    'DATAVERSE_URL is required',
    'DATAVERSE_WEBHOOK_KEY is required',
    'ADMIN_API_KEY is required',
    'AZURE_TENANT_ID is required when DATAVERSE_AUTH=client-secret',
    'AZURE_CLIENT_ID is required when DATAVERSE_AUTH=client-secret',
    'AZURE_CLIENT_SECRET is required when DATAVERSE_AUTH=client-secret',
  ]);
});

test('wrong values are named with what is expected', () => {
  expect(
    problems({
      ...valid,
      STRIPE_WEBHOOK_SECRET: 'not-a-secret',
      DATAVERSE_AUTH: 'certificate',
      AZURE_AUTHORITY_HOST: 'http://127.0.0.1:4000',
      PORT: '70000',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
    }),
  ).toEqual([
    'STRIPE_WEBHOOK_SECRET: every secret starts with whsec_',
    'DATABASE_URL must be a postgres:// URL',
    'PORT must be at most 65535',
    'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    'AZURE_CLIENT_CERTIFICATE_PATH is required when DATAVERSE_AUTH=certificate',
    'AZURE_AUTHORITY_HOST must be an https URL (MSAL refuses http)',
  ]);
});

test('an empty variable is unset: a number left blank takes its default, a required one is named', () => {
  const config = loadConfig(
    { ...valid, PORT: '', WORKER_CONCURRENCY: ' ', RETRY_MAX_ATTEMPTS: '' },
    '/srv/app',
  );
  expect(config.http.port).toBe(3000);
  expect(config.worker).toMatchObject({ concurrency: 128, retry: { maxAttempts: 10 } });
  expect(problems({ ...valid, STRIPE_WEBHOOK_SECRET: '', AZURE_CLIENT_SECRET: '  ' })).toEqual([
    'STRIPE_WEBHOOK_SECRET is required',
    'AZURE_CLIENT_SECRET is required when DATAVERSE_AUTH=client-secret',
  ]);
});

test('in live mode Stripe and Dataverse are reached over https only', () => {
  const live = { ...valid, STRIPE_MODE: 'live', STRIPE_API_KEY: 'sk_live_123' };
  expect(loadConfig({ ...live, STRIPE_API_BASE: 'https://stripe.proxy.contoso.com' }).stripe.mode).toBe(
    'live',
  );
  expect(
    problems({
      ...live,
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
      DATAVERSE_URL: 'http://contoso.crm.dynamics.com',
    }),
  ).toEqual([
    'STRIPE_API_BASE must be an https URL when STRIPE_MODE=live',
    'DATAVERSE_URL must be an https URL when STRIPE_MODE=live',
  ]);
  // Test mode keeps the emulators' plain http.
  expect(loadConfig({ ...valid, STRIPE_API_BASE: 'http://127.0.0.1:12111' }).stripe.api).toBeDefined();
});

test('managed identity and none need no secret', () => {
  const { AZURE_CLIENT_SECRET: _s, AZURE_TENANT_ID: _t, ...rest } = valid;
  expect(loadConfig({ ...rest, DATAVERSE_AUTH: 'managed-identity' }).dataverse.auth).toBe('managed-identity');
  expect(loadConfig({ ...rest, DATAVERSE_AUTH: 'none' }).dataverse.auth).toBe('none');
});

test('the error message never echoes a value', () => {
  expect.assertions(2);
  try {
    loadConfig({ ...valid, STRIPE_WEBHOOK_SECRET: 'sk_live_supersecret' });
  } catch (error) {
    expect((error as Error).message).toContain('STRIPE_WEBHOOK_SECRET');
    expect((error as Error).message).not.toContain('supersecret');
  }
});

test('every variable is documented in .env.example and the README table', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { CONFIG_VARIABLES } = await import('../config');
  const example = fs.readFileSync(path.join(__dirname, '../../.env.example'), 'utf8');
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const documented = new Set([...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]));
  expect(CONFIG_VARIABLES.filter((v) => !documented.has(v))).toEqual([]);
  expect(CONFIG_VARIABLES.filter((v) => !readme.includes(`| \`${v}\` |`))).toEqual([]);
  expect([...documented].filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
});

test('the refund policy settings come with the configuration, and a wrong one is named with the others', () => {
  const config = loadConfig(
    {
      ...valid,
      REFUND_APPROVAL_THRESHOLDS: '{"usd":25000,"jpy":30000}',
      REFUND_APPROVER_ROLES: 'Controller, CFO',
    },
    '/srv/app',
  );
  expect(config.outbound).toMatchObject({
    approvalThresholds: { usd: 25_000, jpy: 30_000 },
    approverRoles: ['Controller', 'CFO'],
    serviceApplicationId: 'client',
    allowSelfApproval: false,
  });
  expect(problems({ ...valid, REFUND_APPROVAL_THRESHOLDS: '{"usd":12.5}', PORT: 'x' })).toEqual(
    expect.arrayContaining([
      expect.stringContaining(
        'REFUND_APPROVAL_THRESHOLDS: the threshold for usd must be a whole number of at least 0 in minor units, not 12.5',
      ),
      expect.stringContaining('PORT'),
    ]),
  );
});

test('charge request settings: thresholds of their own, who may ask and approve, and a wrong one named', () => {
  expect(loadConfig(valid, '/srv/app').outbound).toMatchObject({
    chargeApprovalThresholds: { usd: 50_000, eur: 50_000, gbp: 40_000, jpy: 75_000, kwd: 150_000 },
    chargeRequesterRoles: ['Stripe Refund Requester', 'Stripe Finance Approver'],
    chargeApproverRoles: ['Stripe Finance Approver'],
  });
  const config = loadConfig(
    {
      ...valid,
      CHARGE_APPROVAL_THRESHOLDS: '{"usd":10000}',
      REFUND_APPROVAL_THRESHOLDS: '{"usd":25000}',
      CHARGE_REQUESTER_ROLES: 'Collections',
      CHARGE_APPROVER_ROLES: 'Controller',
    },
    '/srv/app',
  );
  expect(config.outbound).toMatchObject({
    chargeApprovalThresholds: { usd: 10_000 },
    approvalThresholds: { usd: 25_000 },
    chargeRequesterRoles: ['Collections'],
    chargeApproverRoles: ['Controller'],
  });
  expect(problems({ ...valid, CHARGE_APPROVAL_THRESHOLDS: '{"USD":100}' })).toEqual([
    expect.stringContaining(
      'CHARGE_APPROVAL_THRESHOLDS: "USD" is not a lower-case 3-letter ISO currency code',
    ),
  ]);
});

test('payment link settings: who may ask, where the payer lands, and a wrong URL named', () => {
  expect(loadConfig(valid, '/srv/app').outbound).toMatchObject({
    paymentLinkRequesterRoles: ['Stripe Refund Requester', 'Stripe Finance Approver'],
    paymentLinkSuccessUrl: undefined,
  });
  const config = loadConfig(
    {
      ...valid,
      PAYMENT_LINK_REQUESTER_ROLES: 'Salesperson, Stripe Finance Approver',
      PAYMENT_LINK_SUCCESS_URL: 'https://shop.example/thank-you',
    },
    '/srv/app',
  );
  expect(config.outbound).toMatchObject({
    paymentLinkRequesterRoles: ['Salesperson', 'Stripe Finance Approver'],
    paymentLinkSuccessUrl: 'https://shop.example/thank-you',
  });
  expect(problems({ ...valid, PAYMENT_LINK_SUCCESS_URL: 'thank-you' })).toEqual([
    expect.stringContaining('PAYMENT_LINK_SUCCESS_URL must be an absolute URL'),
  ]);
});

test('subscription settings: who may ask, what a pause does to invoices, and a wrong behavior named', () => {
  expect(loadConfig(valid, '/srv/app').outbound).toMatchObject({
    subscriptionRequesterRoles: ['Stripe Refund Requester', 'Stripe Finance Approver'],
    subscriptionPauseBehavior: 'void',
  });
  const config = loadConfig(
    {
      ...valid,
      SUBSCRIPTION_REQUESTER_ROLES: 'Account Manager',
      SUBSCRIPTION_PAUSE_BEHAVIOR: 'keep_as_draft',
    },
    '/srv/app',
  );
  expect(config.outbound).toMatchObject({
    subscriptionRequesterRoles: ['Account Manager'],
    subscriptionPauseBehavior: 'keep_as_draft',
  });
  expect(problems({ ...valid, SUBSCRIPTION_PAUSE_BEHAVIOR: 'skip' })).toEqual([
    expect.stringContaining(
      'SUBSCRIPTION_PAUSE_BEHAVIOR must be one of void, keep_as_draft, mark_uncollectible',
    ),
  ]);
});

describe('alerts', () => {
  const hooks = {
    teams: 'https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/secret-teams/xyz',
    slack: 'https://hooks.slack.com/services/T000/B000/secret-slack',
    json: 'https://alerts.contoso.com/hook?token=secret-json',
  };

  test('default to a round a minute, a reminder after 4 hours and no receivers', () => {
    expect(loadConfig(valid, '/srv/app').alerts).toEqual({
      receivers: [],
      intervalMs: 60_000,
      renotifyMs: 240 * 60_000,
      timeoutMs: 10_000,
      thresholds: {
        deadLetters: 1,
        backlogAgeMs: 15 * 60_000,
        mismatchedJournals: 1,
        signatureFailures: 10,
        signatureWindowMs: 15 * 60_000,
        unavailableMs: 10 * 60_000,
      },
    });
  });

  test('read receivers with their format, comma or space apart, and every threshold', () => {
    const config = loadConfig(
      {
        ...valid,
        ALERT_WEBHOOK_URLS: `teams=${hooks.teams}, slack=${hooks.slack}\n json=${hooks.json}`,
        ALERT_INTERVAL_SECONDS: '30',
        ALERT_RENOTIFY_MINUTES: '0',
        ALERT_DEAD_LETTERS: '5',
        ALERT_BACKLOG_AGE_MINUTES: '30',
        ALERT_SIGNATURE_FAILURES: '3',
        ALERT_UNAVAILABLE_MINUTES: '2',
      },
      '/srv/app',
    );
    expect(config.alerts).toMatchObject({
      receivers: [
        { format: 'teams', url: hooks.teams },
        { format: 'slack', url: hooks.slack },
        { format: 'json', url: hooks.json },
      ],
      intervalMs: 30_000,
      renotifyMs: 0,
      thresholds: { deadLetters: 5, backlogAgeMs: 30 * 60_000, signatureFailures: 3, unavailableMs: 120_000 },
    });
  });

  test('a wrong receiver or threshold is named, and the webhook URL is never repeated', () => {
    const found = problems({
      ...valid,
      ALERT_WEBHOOK_URLS: `${hooks.slack},teams=ftp://secret-ftp,json=${hooks.json}`,
      ALERT_DEAD_LETTERS: '0',
      ALERT_INTERVAL_SECONDS: 'often',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'ALERT_WEBHOOK_URLS entry 1 of 3 must start with its format: teams=https://…, slack=https://…, json=https://…',
        'ALERT_WEBHOOK_URLS entry 2 of 3 (teams) is not an http(s) URL',
        'ALERT_DEAD_LETTERS must be at least 1',
        'ALERT_INTERVAL_SECONDS must be a number',
      ]),
    );
    expect(found.join('\n')).not.toMatch(/secret/);
  });
});
