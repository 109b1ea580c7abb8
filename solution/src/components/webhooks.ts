/**
 * The Dataverse webhook that carries refund requests and customer changes to the companion service: one
 * service endpoint (contract 8, authenticated by an HTTP header whose value the admin sets after import) and
 * its asynchronous post-operation steps.
 */
import { requireTable } from '../model';

export interface ServiceEndpointDefinition {
  id: string;
  name: string;
  description: string;
  /** Placeholder: the admin sets the real URL after import. */
  url: string;
  /** 8: webhook. */
  contract: 8;
  /** 5: HTTP header (the key itself is never shipped). */
  authType: 5;
  /** The header the service checks (service `DATAVERSE_WEBHOOK_HEADER`). */
  authHeader: string;
}

export type StepMessage = 'Create' | 'Update';

export interface WebhookStep {
  id: string;
  name: string;
  description: string;
  message: StepMessage;
  table: string;
  /** Only these columns' changes fire an Update step. */
  filteringAttributes?: string[];
  /** 40: post-operation. */
  stage: 40;
  /** 1: asynchronous. */
  mode: 1;
  /** The row as the change found it (alias PreImage): what a status was moved from. */
  preImage?: boolean;
  /** The row as the change left it (alias PostImage). */
  postImage?: boolean;
}

/** Well-known ids of the SDK messages (the same in every environment). */
export const sdkMessageIds: Record<StepMessage, string> = {
  Create: '9ebdbb1b-ea3e-db11-86a7-000a3a5473e8',
  Update: '20bebb1b-ea3e-db11-86a7-000a3a5473e8',
};

/** The platform plug-in that posts to service endpoints. */
export const serviceBusPlugin = {
  typeName:
    'Microsoft.Crm.ServiceBus.ServiceBusPlugin, Microsoft.Crm.ServiceBus, Version=9.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35',
  typeId: 'ef521e63-cd2b-4170-99f6-447466a7161e',
};

export const serviceEndpoint: ServiceEndpointDefinition = {
  id: '7506ec27-1069-563f-bd3e-d87efb76f51c',
  name: 'Stripe Connector Service',
  description:
    'POSTs refund, payment link and subscription requests and customer changes to the connector service (/webhooks/dataverse).',
  url: 'https://stripe-connector.invalid/webhooks/dataverse',
  contract: 8,
  authType: 5,
  authHeader: 'x-stc-webhook-key',
};

/** The address columns of account and contact, as the table model declares them. */
const address = requireTable('account')
  .columns.map((column) => column.logicalName)
  .filter((name) => name.startsWith('address1_'));

/** Step ids are fixed for good, so that an upgrade updates the registered step instead of adding one. */
function step(
  id: string,
  name: string,
  rest: Omit<WebhookStep, 'id' | 'name' | 'stage' | 'mode'>,
): WebhookStep {
  return { id, name, stage: 40, mode: 1, ...rest };
}

/** Fixed ids of the steps that let a payment page follow its document. */
const PAGE_DOCUMENT_STEPS = {
  quote: '5d4afff3-6f54-4968-afeb-61c3c7591610',
  salesorder: 'd69dd542-6871-410d-bf2e-f42ad41179fc',
  invoice: 'b4c45dc8-6df3-4a77-b2a0-d956697e0268',
} as const;

export const webhookSteps: WebhookStep[] = [
  step('d8e4cc5e-22e7-5ba5-b530-0d5484f36266', 'Stripe Connector: Create of stc_refundrequest', {
    description: 'A new refund request goes to the service for its policy check and the Stripe refund.',
    message: 'Create',
    table: 'stc_refundrequest',
  }),
  step('0a45e489-32dc-5d3d-bbb0-80e64aaee40f', 'Stripe Connector: Update of stc_refundrequest', {
    description: 'An approval or rejection of a waiting request goes to the service.',
    message: 'Update',
    table: 'stc_refundrequest',
    filteringAttributes: ['stc_status', 'stc_approvedby'],
    preImage: true,
    postImage: true,
  }),
  step('337fba13-75cd-4902-bd58-e66cdc3233dc', 'Stripe Connector: Create of stc_paymentlinkrequest', {
    description:
      'A new payment link request goes to the service for its policy check and the Stripe Checkout Session.',
    message: 'Create',
    table: 'stc_paymentlinkrequest',
  }),
  step('b1f7c2d4-5e36-4a8b-9c21-7d4e0f6a3b58', 'Stripe Connector: Create of stc_subscriptionrequest', {
    description:
      'A new subscription request goes to the service for its policy check and the Stripe subscription change.',
    message: 'Create',
    table: 'stc_subscriptionrequest',
  }),
  step('6f2d8a31-94c7-4e0b-b5a2-1c83e7d90f46', 'Stripe Connector: Create of stc_chargerequest', {
    description:
      "A new charge request goes to the service for its policy check and the off-session charge of the customer's saved payment method.",
    message: 'Create',
    table: 'stc_chargerequest',
  }),
  step('c35b7e08-2f19-4d6a-8e4c-90a1b6d2f7e3', 'Stripe Connector: Update of stc_chargerequest', {
    description: 'An approval or rejection of a waiting charge request goes to the service.',
    message: 'Update',
    table: 'stc_chargerequest',
    filteringAttributes: ['stc_status', 'stc_approvedby'],
    preImage: true,
    postImage: true,
  }),
  step('4b636366-a12e-4caa-a68f-121509fa3788', 'Stripe Connector: Create of account', {
    description: 'An account created with Create in Stripe ticked gets its Stripe customer.',
    message: 'Create',
    table: 'account',
  }),
  step('4a079ccc-4b27-5c5e-8016-cb6e22f5ed0c', 'Stripe Connector: Update of account', {
    description:
      'Changes to a linked account update its Stripe customer; Create in Stripe ticked makes one; a Sync from Stripe re-reads it.',
    message: 'Update',
    table: 'account',
    filteringAttributes: [
      'name',
      'emailaddress1',
      'telephone1',
      ...address,
      'stc_createinstripe',
      'stc_syncrequestedon',
    ],
  }),
  step('222b8609-9166-422d-a797-d72f08834624', 'Stripe Connector: Create of contact', {
    description: 'A contact created with Create in Stripe ticked gets its Stripe customer.',
    message: 'Create',
    table: 'contact',
  }),
  step('8e9ebe92-2c8c-5c03-a1f1-a605de85a7ec', 'Stripe Connector: Update of contact', {
    description:
      'Changes to a linked contact update its Stripe customer; Create in Stripe ticked makes one; a Sync from Stripe re-reads it.',
    message: 'Update',
    table: 'contact',
    filteringAttributes: [
      'firstname',
      'lastname',
      'emailaddress1',
      'telephone1',
      'mobilephone',
      ...address,
      'stc_createinstripe',
      'stc_syncrequestedon',
    ],
  }),
  ...(['quote', 'salesorder', 'invoice'] as const).map((table) =>
    step(PAGE_DOCUMENT_STEPS[table], `Stripe Connector: Update of ${table}`, {
      description: `A ${table} closed, or its total changed, after a Stripe payment page was made for it: the service expires the page, which no longer charges what it asks.`,
      message: 'Update',
      table,
      filteringAttributes: ['statecode', 'totalamount'],
    }),
  ),
  step('5c0f3e57-8a41-4f6c-9d7e-2b61c4a9e0d3', 'Stripe Connector: Update of stc_payment', {
    description: "A user's Sync from Stripe on a payment asks the service to re-read it from Stripe.",
    message: 'Update',
    table: 'stc_payment',
    filteringAttributes: ['stc_syncrequestedon'],
  }),
];
