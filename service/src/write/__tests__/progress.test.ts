/** The order of copies of one object within a second, from what only moves forward. */
import { compareCopies, newestCopy, type ObjectCopy } from '../progress';

const intent = (status: string, extra: Record<string, unknown> = {}): ObjectCopy => ({
  object: { id: 'pi_1', object: 'payment_intent', status, amount_received: 0, latest_charge: null, ...extra },
  created: 100,
});
const charge = (extra: Record<string, unknown>, previous?: Record<string, unknown>): ObjectCopy => ({
  object: {
    id: 'ch_1',
    object: 'charge',
    status: 'succeeded',
    captured: true,
    amount_captured: 1000,
    amount_refunded: 0,
    balance_transaction: null,
    disputed: false,
    metadata: {},
    ...extra,
  },
  previous,
  created: 100,
});

describe('copies of one second', () => {
  test('a PaymentIntent that succeeded is newer than the one awaiting confirmation', () => {
    const created = intent('requires_confirmation');
    const succeeded = intent('succeeded', { amount_received: 1000, latest_charge: 'ch_1' });
    expect(compareCopies(succeeded, created)).toBe(1);
    expect(compareCopies(created, succeeded)).toBe(-1);
    expect(newestCopy([succeeded, created])?.object.status).toBe('succeeded');
    expect(newestCopy([created, succeeded])?.object.status).toBe('succeeded');
  });

  test('a charge once settled, refunded or disputed is newer than before', () => {
    const paid = charge({});
    expect(compareCopies(charge({ balance_transaction: 'txn_1' }), paid)).toBe(1);
    expect(compareCopies(charge({ amount_refunded: 300 }), paid)).toBe(1);
    expect(compareCopies(charge({ disputed: true }), paid)).toBe(1);
  });

  test('an update whose previous attributes give the other copy is newer, though nothing moved forward', () => {
    const before = charge({ metadata: { order: 'A' } });
    const after = charge({ metadata: { order: 'B' } }, { metadata: { order: 'A' } });
    expect(compareCopies(after, before)).toBe(1);
    expect(compareCopies(before, after)).toBe(-1);
  });

  test('two copies at the same point that differ have no order, and no newest', () => {
    const a = charge({ description: 'first' });
    const b = charge({ description: 'second' });
    expect(compareCopies(a, b)).toBeNull();
    expect(newestCopy([a, b])).toBeNull();
    // Refunded more but no longer settled: moved both ways, no order.
    expect(
      compareCopies(charge({ amount_refunded: 5 }), charge({ balance_transaction: 'txn_1' })),
    ).toBeNull();
  });

  test('copies alike but for a nested value, or for which fields they have, are not the same state', () => {
    const nested = (network: string) =>
      charge({ payment_method_details: { card: { network, last4: '4242' } } });
    expect(compareCopies(nested('visa'), nested('visa'))).toBe(0);
    expect(compareCopies(nested('visa'), nested('mastercard'))).toBeNull();
    expect(compareCopies(charge({ receipt_url: null }), charge({ receipt_email: null }))).toBeNull();
  });

  test('an earlier second is older whatever the state; equal copies are the same state', () => {
    const later = { ...intent('requires_confirmation'), created: 101 };
    expect(compareCopies(later, intent('succeeded'))).toBe(1);
    expect(compareCopies(intent('processing'), intent('processing'))).toBe(0);
    expect(newestCopy([intent('processing'), intent('processing')])?.object.status).toBe('processing');
  });

  test('a status Stripe may add later gives no order', () => {
    expect(compareCopies(intent('some_new_status'), intent('succeeded'))).toBeNull();
  });
});
