import fs from 'node:fs';
import path from 'node:path';
import { createSyncHandlers } from '../../src/handlers';
import { createHandlerRouter } from '../../src/pipeline/routing';
import type { StripeEventHandler } from '../../src/pipeline/handler';
import {
  DOCUMENT,
  eventTypeRows,
  eventTypesDocument,
  TRIGGERS_NOT_EVENT_TYPES,
  triggerNames,
  unusedIgnoredEntries,
} from '../event-types';

const committed = fs.readFileSync(DOCUMENT, 'utf8');

/** The Stripe events table of the committed document: event type → handler ('' when ignored). */
function documentedHandlers(): Map<string, { outcome: string; handler: string; reason: string }> {
  const rows = new Map<string, { outcome: string; handler: string; reason: string }>();
  const section = committed.split('## Stripe events')[1].split('\n## ')[0];
  for (const line of section.split('\n')) {
    const match = /^\| `([^`]+)` \|([^|]*)\| (handled|ignored) \|([^|]*)\|[^|]*\|(.*)\|$/.exec(line);
    if (match) rows.set(match[1], { outcome: match[3], handler: match[4].trim(), reason: match[5].trim() });
  }
  return rows;
}

describe('docs/EVENT-TYPES.md', () => {
  test('is what the generator makes of the router now (run npx tsx service/scripts/event-types.ts)', () => {
    expect(committed).toBe(eventTypesDocument());
  });

  test('names, for every type of the trigger flows, the handler the router gives it or why it is ignored', () => {
    const router = createHandlerRouter(createSyncHandlers());
    const documented = documentedHandlers();
    const names = triggerNames();
    expect(names).toHaveLength(121);
    for (const name of names) {
      if (name in TRIGGERS_NOT_EVENT_TYPES) {
        expect(committed).toContain(`| \`${name}\` |`);
        continue;
      }
      const type = name.replace(/\.(eu|gb)$/, '');
      const row = documented.get(type);
      expect({ type, row: row?.outcome }).toEqual({ type, row: expect.stringMatching(/handled|ignored/) });
      const handler = router.stripe(type);
      expect({ type, handler: row!.handler }).toEqual({ type, handler: handler?.resource ?? '' });
      if (!handler) expect({ type, reason: row!.reason.length > 20 }).toEqual({ type, reason: true });
    }
    expect(documented.get('customer.deleted')).toMatchObject({ outcome: 'handled', handler: 'customers' });
    expect(documented.get('coupon.created')).toMatchObject({ outcome: 'ignored', handler: '' });
  });

  test('every entry of the ignored list still applies to a type of the table', () => {
    expect(unusedIgnoredEntries(eventTypeRows())).toEqual([]);
  });

  test('is linked from the README', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
    expect(readme).toContain('](docs/EVENT-TYPES.md)');
  });
});

describe('the event type table cannot be built', () => {
  test('when a trigger flow fires a type that is neither routed nor listed as ignored', () => {
    expect(() => eventTypeRows(createSyncHandlers(), [...triggerNames(), 'widget.exploded'])).toThrow(
      /widget\.exploded is neither routed to a handler nor listed as ignored/,
    );
  });

  test('when a handler takes a type the ignored list says no handler takes', () => {
    const sentInvoices: StripeEventHandler = {
      resource: 'payments',
      eventTypes: ['invoice.sent'],
      handle: async () => undefined,
    };
    expect(() => eventTypeRows([...createSyncHandlers(), sentInvoices])).toThrow(
      /invoice\.sent is routed to 'payments' but listed as ignored/,
    );
  });

  test('when a handler is missing from the table of what each handler writes', () => {
    const unknown: StripeEventHandler = {
      resource: 'coupons',
      eventTypes: ['coupon.*'],
      handle: async () => undefined,
    };
    expect(() => eventTypeRows([unknown, ...createSyncHandlers()])).toThrow(
      /'coupons' has no entry in HANDLER_WRITES/,
    );
  });
});
