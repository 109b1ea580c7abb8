/**
 * Where the approval threshold comes from: Dataverse's `stc_RefundApprovalThreshold` environment variable
 * (its value row, else its default) when the environment serves environment variables, else the configured
 * REFUND_APPROVAL_THRESHOLD. The table model declares the two platform tables, so the emulator serves them.
 */
import { StcPaymentStatus, StcRefundReason, StcRefundRequestStatus as Status } from '@stc/solution';
import {
  approvalThresholdReader,
  createRefundRequestsHandler,
  readOutboundSettings,
  APPROVAL_THRESHOLD_VARIABLE,
} from '..';
import { deliver, silentLog, startWorld, USERS, type World } from './world';

let world: World;
afterEach(() => world.close());

const reader = (fallback: number) =>
  approvalThresholdReader({ approvalThreshold: fallback, settingsCacheMs: 0 });

describe('approval threshold', () => {
  it('uses the configured value when the environment serves no environment variables', async () => {
    world = await startWorld({ tables: [] });
    expect(await reader(250)(world.client, silentLog)).toEqual({ value: 250, source: 'config' });
  });

  it('reads the variable’s default, then its current value, from Dataverse', async () => {
    world = await startWorld({ tables: [] });
    const read = reader(1000);
    expect(await read(world.client, silentLog)).toEqual({ value: 1000, source: 'config' });
    const definitionId = world.dataverse.store.insert('environmentvariabledefinitions', {
      schemaname: APPROVAL_THRESHOLD_VARIABLE,
      displayname: 'Refund approval threshold',
      defaultvalue: '500',
    });
    expect(await read(world.client, silentLog)).toEqual({ value: 500, source: 'dataverse' });
    world.dataverse.store.insert('environmentvariablevalues', {
      schemaname: APPROVAL_THRESHOLD_VARIABLE,
      value: '40',
      'EnvironmentVariableDefinitionId@odata.bind': `/environmentvariabledefinitions(${definitionId})`,
    });
    expect(await read(world.client, silentLog)).toEqual({ value: 40, source: 'dataverse' });
  });

  it('holds a request above the Dataverse threshold even when the configured one is higher', async () => {
    world = await startWorld({ tables: ['stc_refundrequest'] });
    world.dataverse.store.insert('environmentvariabledefinitions', {
      schemaname: APPROVAL_THRESHOLD_VARIABLE,
      displayname: 'Refund approval threshold',
      defaultvalue: '40',
    });
    const handler = createRefundRequestsHandler({
      settings: {
        ...readOutboundSettings({}),
        serviceUserId: USERS.service.systemuserid,
        approvalThreshold: 1000,
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

  it('refuses a malformed setting at start, naming the variable', () => {
    expect(() => readOutboundSettings({ REFUND_APPROVAL_THRESHOLD: 'lots' })).toThrow(
      /REFUND_APPROVAL_THRESHOLD must be a number/,
    );
    expect(() => readOutboundSettings({ DATAVERSE_SERVICE_USER_ID: 'svc' })).toThrow(
      /DATAVERSE_SERVICE_USER_ID must be a systemuserid/,
    );
    expect(readOutboundSettings({})).toMatchObject({
      approvalThreshold: 500,
      allowSelfApproval: false,
      approverRoles: ['Stripe Finance Approver'],
    });
  });
});
