/**
 * Where the approval thresholds come from: Dataverse's `stc_RefundApprovalThresholds` environment variable
 * (its value row, else its default) when the environment serves environment variables, else the configured
 * REFUND_APPROVAL_THRESHOLDS; a malformed value is refused with a log line and the configuration used; the
 * deprecated `stc_RefundApprovalThreshold` only while the new variable has no value at all. The table model
 * declares the two platform tables, so the emulator serves them.
 */
import { StcPaymentStatus, StcRefundReason, StcRefundRequestStatus as Status } from '@stc/solution';
import { environmentVariables } from '@stc/solution';
import {
  approvalThresholdReader,
  createRefundRequestsHandler,
  parseApprovalThresholds,
  readOutboundSettings,
  APPROVAL_THRESHOLDS_VARIABLE,
  DEFAULT_APPROVAL_THRESHOLDS,
  DEPRECATED_THRESHOLD_VARIABLE,
} from '..';
import type { HandlerLogger } from '../../../pipeline/handler';
import { deliver, silentLog, startWorld, USERS, type World } from './world';

let world: World;

const reader = (fallback: Record<string, number>) =>
  approvalThresholdReader({ approvalThresholds: fallback, settingsCacheMs: 0 });

/** A log that keeps its lines, as `level: message`. */
function recordingLog(): HandlerLogger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (_fields: object, message: string) => void lines.push(`${level}: ${message}`);
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Defines an environment variable in the emulator, with a current value when one is given; its id. */
function defineVariable(schemaname: string, defaultvalue: string | null, value?: string): string {
  const definitionId = world.dataverse.store.insert('environmentvariabledefinitions', {
    schemaname,
    displayname: schemaname,
    defaultvalue,
  });
  if (value !== undefined) setValue(definitionId, schemaname, value);
  return definitionId;
}

function setValue(definitionId: string, schemaname: string, value: string): void {
  world.dataverse.store.insert('environmentvariablevalues', {
    schemaname,
    value,
    'EnvironmentVariableDefinitionId@odata.bind': `/environmentvariabledefinitions(${definitionId})`,
  });
}

describe('approval thresholds', () => {
  afterEach(() => world.close());

  it('uses the configured thresholds when the environment serves no environment variables', async () => {
    world = await startWorld({ tables: [] });
    expect(await reader({ usd: 25_000 })(world.client, silentLog)).toEqual({
      kind: 'perCurrency',
      minor: { usd: 25_000 },
      source: 'config',
    });
  });

  it('reads the variable’s default, then its current value, from Dataverse', async () => {
    world = await startWorld({ tables: [] });
    const read = reader({ usd: 100_000 });
    expect(await read(world.client, silentLog)).toMatchObject({ source: 'config' });
    const definitionId = defineVariable(APPROVAL_THRESHOLDS_VARIABLE, '{"usd":50000,"jpy":75000}');
    expect(await read(world.client, silentLog)).toEqual({
      kind: 'perCurrency',
      minor: { usd: 50_000, jpy: 75_000 },
      source: 'dataverse',
    });
    setValue(definitionId, APPROVAL_THRESHOLDS_VARIABLE, '{"kwd":150000}');
    expect(await read(world.client, silentLog)).toEqual({
      kind: 'perCurrency',
      minor: { kwd: 150_000 },
      source: 'dataverse',
    });
  });

  it.each([
    ['text that is not JSON', 'usd=500', /"usd=500" is not JSON/],
    ['a number', '500', /must be a JSON object of currency codes to amounts in minor units/],
    ['an array', '[50000]', /must be a JSON object of currency codes/],
    ['a negative amount', '{"usd":-1}', /threshold for usd must be a whole number of at least 0.*not -1/],
    ['a fraction', '{"usd":500.5}', /threshold for usd must be a whole number.*not 500\.5/],
    ['a text amount', '{"usd":"500"}', /threshold for usd must be a whole number.*not "500"/],
    [
      'a key that is no currency code',
      '{"dollars":50000}',
      /"dollars" is not a lower-case 3-letter ISO currency code/,
    ],
  ])(
    'refuses %s in Dataverse, logs why and uses the configured thresholds',
    async (_what, value, problem) => {
      world = await startWorld({ tables: [] });
      defineVariable(APPROVAL_THRESHOLDS_VARIABLE, '{"usd":50000}', value);
      const log = recordingLog();
      expect(await reader({ usd: 1 })(world.client, log)).toEqual({
        kind: 'perCurrency',
        minor: { usd: 1 },
        source: 'config',
      });
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]).toMatch(/^error: stc_RefundApprovalThresholds in Dataverse is refused/);
      expect(log.lines[0]).toMatch(problem);
      expect(log.lines[0]).toMatch(/using REFUND_APPROVAL_THRESHOLDS from the configuration/);
    },
  );

  it('reads the deprecated single threshold only while the new variable has no value, saying so once', async () => {
    world = await startWorld({ tables: [] });
    defineVariable(DEPRECATED_THRESHOLD_VARIABLE, '500', '40');
    const log = recordingLog();
    const read = reader({ usd: 1 });
    const legacy = { kind: 'major', major: 40, source: 'dataverse (deprecated)' };
    expect(await read(world.client, log)).toEqual(legacy);
    expect(await read(world.client, log)).toEqual(legacy);
    expect(log.lines).toEqual([
      expect.stringMatching(
        /^warn: stc_RefundApprovalThreshold is deprecated: set stc_RefundApprovalThresholds/,
      ),
    ]);
    // A definition of the new variable without any value leaves the old one in force; a value replaces it.
    const definitionId = defineVariable(APPROVAL_THRESHOLDS_VARIABLE, null);
    expect(await read(world.client, log)).toEqual(legacy);
    setValue(definitionId, APPROVAL_THRESHOLDS_VARIABLE, '{"usd":50000}');
    expect(await read(world.client, log)).toEqual({
      kind: 'perCurrency',
      minor: { usd: 50_000 },
      source: 'dataverse',
    });
    expect(log.lines).toHaveLength(1);
  });

  it('holds a request above the Dataverse threshold even when the configured one is higher', async () => {
    world = await startWorld({ tables: ['stc_refundrequest'] });
    defineVariable(APPROVAL_THRESHOLDS_VARIABLE, '{"usd":4000}');
    const handler = createRefundRequestsHandler({
      settings: {
        ...readOutboundSettings({}),
        serviceUserId: USERS.service.systemuserid,
        approvalThresholds: { usd: 100_000 },
      },
    });
    const intent = await world.stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const paymentId = world.dataverse.store.insert('stc_payments', {
      stc_name: intent.id,
      stc_stripeid: intent.id,
      stc_amount: 100,
      stc_amountcaptured: 100,
      stc_currency: 'usd',
      stc_status: StcPaymentStatus.Succeeded,
    });
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_refundrequests', {
      stc_name: 'Refund 50',
      'stc_paymentid@odata.bind': `/stc_payments(${paymentId})`,
      stc_amount: 50,
      stc_currency: 'usd',
      stc_reason: StcRefundReason.Duplicate,
    });
    await deliver(world, handler, id!, 'Create');
    expect(world.dataverse.store.get('stc_refundrequests', id!)!.stc_status).toBe(Status.AwaitingApproval);
  });
});

describe('REFUND_APPROVAL_THRESHOLDS', () => {
  it('defaults to the solution’s default thresholds', () => {
    const shipped = environmentVariables.find((v) => v.schemaName === APPROVAL_THRESHOLDS_VARIABLE)!;
    expect(shipped.type).toBe('JSON');
    expect(parseApprovalThresholds(shipped.defaultValue!)).toEqual({
      thresholds: DEFAULT_APPROVAL_THRESHOLDS,
    });
    expect(readOutboundSettings({})).toMatchObject({
      approvalThresholds: { usd: 50_000, eur: 50_000, gbp: 40_000, jpy: 75_000, kwd: 150_000 },
      allowSelfApproval: false,
      approverRoles: ['Stripe Finance Approver'],
    });
    expect(
      readOutboundSettings({ REFUND_APPROVAL_THRESHOLDS: '{"usd":0,"jpy":1000}' }).approvalThresholds,
    ).toEqual({ usd: 0, jpy: 1000 });
  });

  it('refuses a malformed setting at start, naming the variable and the problem', () => {
    expect(() => readOutboundSettings({ REFUND_APPROVAL_THRESHOLDS: '{"USD":50000}' })).toThrow(
      /REFUND_APPROVAL_THRESHOLDS: "USD" is not a lower-case 3-letter ISO currency code/,
    );
    expect(() => readOutboundSettings({ REFUND_APPROVAL_THRESHOLDS: '{"usd":-5}' })).toThrow(
      /REFUND_APPROVAL_THRESHOLDS: the threshold for usd must be a whole number of at least 0/,
    );
    expect(() => readOutboundSettings({ REFUND_APPROVAL_THRESHOLDS: '500' })).toThrow(
      /REFUND_APPROVAL_THRESHOLDS: must be a JSON object/,
    );
    expect(() => readOutboundSettings({ REFUND_APPROVAL_THRESHOLDS: '{usd:1}' })).toThrow(
      /REFUND_APPROVAL_THRESHOLDS: "\{usd:1\}" is not JSON/,
    );
    expect(() => readOutboundSettings({ REFUND_APPROVAL_THRESHOLD: '500' })).toThrow(
      /REFUND_APPROVAL_THRESHOLD is no longer read: set REFUND_APPROVAL_THRESHOLDS/,
    );
    expect(() => readOutboundSettings({ DATAVERSE_SERVICE_USER_ID: 'svc' })).toThrow(
      /DATAVERSE_SERVICE_USER_ID must be a systemuserid/,
    );
  });
});
