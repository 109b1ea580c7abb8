/**
 * docs/EVENT-TYPES.md, generated from the code: every event type of Stripe's CLI trigger flows
 * (`stripe trigger …`) and of the objects the connector syncs, with the handler the service's router gives it
 * and the Dynamics 365 tables that handler writes, or the reason it is ignored (src/ignored-events.ts).
 *
 *   npx tsx service/scripts/event-types.ts           writes the document
 *   npx tsx service/scripts/event-types.ts --check   exits 1 when the committed document differs
 *
 * Building the table fails, naming the types, when one is neither routed nor ignored with a reason, or both.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Stripe from 'stripe';
import { model } from '@stc/solution';
import {
  Invoice,
  JournalEntry,
  JournalLine,
  Payment,
  PriceLevel,
  SalesOrder,
  SyncIssue,
} from '@stc/solution/tables';
import { createSyncHandlers, DEFAULT_CUSTOMER_MAPPINGS, DEFAULT_MAPPINGS_DIR } from '../src/handlers';
import { IGNORED_EVENT_TYPES, ignoredEntry, ignoredReason } from '../src/ignored-events';
import {
  CREDIT_NOTE_MAPPING,
  INVOICE_MAPPING,
  INVOICE_PAYMENT_MAPPING,
  SUBSCRIPTION_MAPPING,
} from '../src/inbound/billing';
import {
  CREDIT_NOTE_LINE_MAPPING,
  INVOICE_LINE_MAPPING,
  SUBSCRIPTION_ITEM_MAPPING,
} from '../src/inbound/billing/children';
import { PRICE_MAPPING, PRODUCT_MAPPING } from '../src/inbound/catalog';
import { DISPUTE_MAPPING } from '../src/inbound/disputes';
import { ORDER_MAPPINGS } from '../src/inbound/orders';
import { CHARGE_MAPPING, PAYMENT_INTENT_MAPPING } from '../src/inbound/payments';
import { REFUND_MAPPING } from '../src/inbound/refunds';
import { loadMappings, type MappingSet } from '../src/mapping';
import type { EventHandler } from '../src/pipeline/handler';
import { createHandlerRouter } from '../src/pipeline/routing';

const repoRoot = path.resolve(__dirname, '../..');
export const TRIGGERS_DIR = path.join(repoRoot, 'test/fixtures/reference/stripe/cli-triggers');
export const DOCUMENT = path.join(repoRoot, 'docs/EVENT-TYPES.md');

/**
 * The event types of the objects the connector syncs or could be asked to (typed by the Stripe SDK's list
 * of event types, so a misspelt or retired type fails the typecheck).
 */
export const SYNCED_OBJECT_EVENT_TYPES: readonly Stripe.WebhookEndpointCreateParams.EnabledEvent[] = [
  'payment_intent.created',
  'payment_intent.succeeded',
  'payment_intent.canceled',
  'payment_intent.payment_failed',
  'payment_intent.processing',
  'payment_intent.requires_action',
  'payment_intent.amount_capturable_updated',
  'payment_intent.partially_funded',
  'charge.succeeded',
  'charge.captured',
  'charge.expired',
  'charge.failed',
  'charge.pending',
  'charge.updated',
  'charge.refunded',
  'charge.refund.updated',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_reinstated',
  'charge.dispute.funds_withdrawn',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.discount.created',
  'customer.discount.updated',
  'customer.discount.deleted',
  'customer.source.created',
  'customer.source.updated',
  'customer.source.deleted',
  'customer.source.expiring',
  'customer.tax_id.created',
  'customer.tax_id.updated',
  'customer.tax_id.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'customer.subscription.pending_update_applied',
  'customer.subscription.pending_update_expired',
  'invoice.created',
  'invoice.updated',
  'invoice.deleted',
  'invoice.finalized',
  'invoice.finalization_failed',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'invoice.payment_attempt_required',
  'invoice.marked_uncollectible',
  'invoice.voided',
  'invoice.sent',
  'invoice.upcoming',
  'invoice.overdue',
  'invoice.overpaid',
  'invoice.will_be_due',
  'invoice_payment.paid',
  'invoiceitem.created',
  'invoiceitem.deleted',
  'payout.created',
  'payout.updated',
  'payout.paid',
  'payout.failed',
  'payout.canceled',
  'payout.reconciliation_completed',
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'product.created',
  'product.updated',
  'product.deleted',
  'price.created',
  'price.updated',
  'price.deleted',
  'plan.created',
  'plan.updated',
  'plan.deleted',
  'credit_note.created',
  'credit_note.updated',
  'credit_note.voided',
  'payment_link.created',
  'payment_link.updated',
];

/**
 * `stripe trigger` names that are no event type: what the flow does instead, and the events it fires that
 * this table lists under their own names.
 */
export const TRIGGERS_NOT_EVENT_TYPES: Readonly<Record<string, string>> = {
  'subscription.payment_failed':
    'Creates a customer, a product, a price and a subscription whose first invoice payment fails: customer.*, product.*, price.*, customer.subscription.*, invoice.* (invoice.payment_failed) and payment_intent.* events.',
  'subscription.payment_succeeded':
    'Creates a customer, a product, a price and a subscription whose first invoice is paid: customer.*, product.*, price.*, customer.subscription.*, invoice.* (invoice.paid, invoice.payment_succeeded) and payment_intent.* and charge.* events.',
};

/** The trigger flows' names (`issuing_card.created.eu` and `.gb` are regional variants of one type). */
export function triggerNames(dir: string = TRIGGERS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length));
}

const triggerEventType = (name: string) => name.replace(/\.(eu|gb)$/, '');

/** A Stripe handler's tables: those of the mappings it applies, and those it writes without a mapping. */
interface HandlerWrites {
  mappings: string[];
  also?: string[];
}

/** What each Stripe event handler writes, by its `resource`. */
const HANDLER_WRITES: Readonly<Record<string, HandlerWrites>> = {
  payments: { mappings: [PAYMENT_INTENT_MAPPING, CHARGE_MAPPING] },
  refunds: {
    mappings: [REFUND_MAPPING, PAYMENT_INTENT_MAPPING],
    also: [SalesOrder.logicalName, Invoice.logicalName],
  },
  disputes: {
    mappings: [DISPUTE_MAPPING, PAYMENT_INTENT_MAPPING],
    also: [SalesOrder.logicalName, Invoice.logicalName],
  },
  customers: { mappings: [...DEFAULT_CUSTOMER_MAPPINGS.live, ...DEFAULT_CUSTOMER_MAPPINGS.deleted] },
  billing: {
    mappings: [
      SUBSCRIPTION_MAPPING,
      SUBSCRIPTION_ITEM_MAPPING,
      INVOICE_MAPPING,
      INVOICE_LINE_MAPPING,
      INVOICE_PAYMENT_MAPPING,
      CREDIT_NOTE_MAPPING,
      CREDIT_NOTE_LINE_MAPPING,
    ],
  },
  catalog: { mappings: [PRODUCT_MAPPING, PRICE_MAPPING], also: [PriceLevel.logicalName] },
  orders: {
    mappings: Object.values(ORDER_MAPPINGS),
    also: [Payment.logicalName, SyncIssue.logicalName],
  },
  payouts: {
    mappings: ['payout', 'balance_transaction'],
    also: [JournalEntry.logicalName, JournalLine.logicalName],
  },
};

/** What a type does within its handler, where that differs from the handler's other types. */
const NOTES: Readonly<Record<string, string>> = {
  'customer.deleted':
    'Deactivates the account or contact (also when the payload lacks `deleted: true`); creates none.',
  'checkout.session.expired': 'Marks an order made for the session; makes none.',
  'checkout.session.async_payment_failed': 'Marks an order made for the session; makes none.',
  'product.deleted': 'Retires the product; deletes nothing.',
  'price.deleted': 'Marks its price list item archived; deletes nothing.',
  'payout.paid': 'Also the balance transactions and the journal entry of the payout.',
  'payout.reconciliation_completed': 'Also the balance transactions and the journal entry of the payout.',
  'payout.failed': 'Marks the payout failed and a journal entry of it failed, with reversing lines.',
  'invoice_payment.paid': "Names the invoice's PaymentIntent on its row (the current API shape).",
  'invoice.payment_action_required': "Marks the invoice's collection as waiting for the customer.",
  'invoice.payment_failed': "Marks the invoice's collection failed, with the attempts and the next one.",
  'credit_note.created': 'A negative document with its lines, linked to the invoice it credits.',
  'invoice.deleted': "A deleted draft's row and its lines' rows are deactivated; nothing is created for it.",
};

export interface EventTypeRow {
  type: string;
  inTriggers: boolean;
  /** The handler's resource, or null when ignored. */
  handler: string | null;
  tables: string[];
  /** The note on a handled type, or the reason a type is ignored. */
  text: string;
}

function tablesOf(resource: string, set: MappingSet): string[] {
  const writes = HANDLER_WRITES[resource];
  if (!writes)
    throw new Error(
      `The Stripe event handler '${resource}' has no entry in HANDLER_WRITES (service/scripts/event-types.ts): add the mappings and tables it writes`,
    );
  const tables = writes.mappings.map((name) => set.get(name).table.logicalName);
  return [...new Set([...tables, ...(writes.also ?? [])])];
}

/** One row per event type, sorted; throws naming every type that is neither routed nor ignored, or both. */
export function eventTypeRows(
  handlers: readonly EventHandler[] = createSyncHandlers({ mappings: () => defaultSet() }),
  triggers: string[] = triggerNames(),
): EventTypeRow[] {
  const router = createHandlerRouter(handlers);
  const set = defaultSet();
  const fromTriggers = new Set(
    triggers.filter((name) => !(name in TRIGGERS_NOT_EVENT_TYPES)).map(triggerEventType),
  );
  const types = [...new Set([...fromTriggers, ...SYNCED_OBJECT_EVENT_TYPES])].sort();
  const problems: string[] = [];
  const rows = types.map((type): EventTypeRow => {
    const handler = router.stripe(type);
    const reason = ignoredReason(type);
    if (handler && reason)
      problems.push(`${type} is routed to '${handler.resource}' but listed as ignored: ${reason}`);
    if (!handler && !reason) problems.push(`${type} is neither routed to a handler nor listed as ignored`);
    return {
      type,
      inTriggers: fromTriggers.has(type),
      handler: handler?.resource ?? null,
      tables: handler ? tablesOf(handler.resource, set) : [],
      text: handler ? (NOTES[type] ?? '') : (reason ?? ''),
    };
  });
  if (problems.length > 0)
    throw new Error(
      `Event types not accounted for (route them, or list them with a reason in service/src/ignored-events.ts):\n${problems.join('\n')}`,
    );
  return rows;
}

let loaded: MappingSet | undefined;
const defaultSet = () => (loaded ??= loadMappings(DEFAULT_MAPPINGS_DIR, { model }));

const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The document's text. */
export function eventTypesDocument(
  handlers?: readonly EventHandler[],
  triggers: string[] = triggerNames(),
): string {
  const rows = eventTypeRows(handlers, triggers);
  const handled = rows.filter((row) => row.handler).length;
  return [
    '# Stripe event types',
    '',
    '<!-- Generated by `npx tsx service/scripts/event-types.ts` from the handler router and',
    '     service/src/ignored-events.ts; do not edit by hand. -->',
    '',
    `Every event type of Stripe's CLI trigger flows (\`stripe trigger …\`, ${triggers.length} flows in`,
    '`test/fixtures/reference/stripe/cli-triggers/`) and of the objects the connector syncs, with what the',
    `service does with it: ${handled} types go to a handler, which writes the Dynamics 365 tables named;`,
    `${rows.length - handled} are ignored, for the reason given. Subscribe the Stripe webhook endpoint to the handled`,
    'ones (docs/RUNBOOK.md); an ignored type that arrives anyway is acknowledged and recorded `ignored`.',
    '',
    'Outcomes in the inbox (`stc_events_processed_total{outcome}` counts them): `applied` when the handler',
    'wrote; `skipped` when it ran and wrote nothing (no mapping applies, no row to change), with the reason',
    'under the code `nothing_written`; `superseded` when a later event of the object was applied first;',
    '`ignored` when no handler takes the type. An event that fails is retried or dead-lettered.',
    '',
    '## Stripe events',
    '',
    '| Event type | `stripe trigger` | Outcome | Handler | Writes | Note or reason |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) =>
      [
        '',
        code(row.type),
        row.inTriggers ? 'yes' : '',
        row.handler ? 'handled' : 'ignored',
        row.handler ?? '',
        row.tables.map(code).join(', '),
        cell(row.text),
        '',
      ]
        .join(' | ')
        .trim(),
    ),
    '',
    '## Trigger names that are no event type',
    '',
    '| `stripe trigger` | What the flow fires |',
    '| --- | --- |',
    ...Object.entries(TRIGGERS_NOT_EVENT_TYPES)
      .filter(([name]) => triggers.includes(name))
      .map(([name, what]) => `| ${code(name)} | ${cell(what)} |`),
    '',
  ].join('\n');
}

/** The entries of the ignored list that no type of the table falls under (each should still apply). */
export function unusedIgnoredEntries(rows: EventTypeRow[]): string[] {
  const used = new Set(rows.map((row) => ignoredEntry(row.type)));
  return Object.keys(IGNORED_EVENT_TYPES).filter((key) => !used.has(key));
}

if (require.main === module) {
  const text = eventTypesDocument();
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(DOCUMENT) ? fs.readFileSync(DOCUMENT, 'utf8') : '';
    if (committed !== text) {
      console.error('docs/EVENT-TYPES.md is out of date: run npx tsx service/scripts/event-types.ts');
      process.exit(1);
    }
    console.log('docs/EVENT-TYPES.md is up to date');
  } else {
    fs.writeFileSync(DOCUMENT, text);
    console.log(`wrote ${path.relative(process.cwd(), DOCUMENT)}`);
  }
}
