/**
 * In-memory state of the emulated Stripe: one Scope per (mode, account), so test and live data and each
 * Connect account's objects never mix, as on Stripe.
 */
export type StripeObject = { id: string; object: string; [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const SEQUENCE = Symbol('creation sequence');
let nextSequence = 0;

/** Creation order of a stored object (not serialised: symbol keys are invisible to JSON). */
export function sequenceOf(object: object): number | undefined {
  return (object as { [SEQUENCE]?: number })[SEQUENCE];
}

export class Scope {
  private readonly objects = new Map<string, StripeObject>();
  private readonly byType = new Map<string, StripeObject[]>();
  /** Balance transactions paid out by each payout (automatic payouts), including the payout's own. */
  readonly payoutTransactions = new Map<string, StripeObject[]>();
  /** Balance transactions not yet attached to any payout, per currency. */
  readonly unpaidTransactions = new Map<string, StripeObject[]>();
  /** Test behaviour of each payment method created from a `pm_card_*` or `pm_usBankAccount_*` token. */
  readonly cardBehaviour = new Map<string, string>();
  /** Invoice → PaymentIntent that paid (or tried to pay) it. */
  readonly invoicePayments = new Map<string, string>();
  /** Ids of deleted objects and their type: retrieving one answers `{ id, object, deleted: true }`. */
  readonly deleted = new Map<string, string>();
  readonly bankAccountId: string;

  constructor(
    readonly account: string | null,
    readonly livemode: boolean,
    bankAccountId: string,
  ) {
    this.bankAccountId = bankAccountId;
  }

  get key(): string {
    return scopeKey(this.account, this.livemode);
  }

  insert<T extends StripeObject>(object: T): T {
    (object as { [SEQUENCE]?: number })[SEQUENCE] = ++nextSequence;
    this.objects.set(object.id, object);
    let list = this.byType.get(object.object);
    if (!list) this.byType.set(object.object, (list = []));
    list.push(object);
    return object;
  }

  find(id: string): StripeObject | undefined {
    return this.objects.get(id);
  }

  /** Every object of a type, oldest first. Deleted objects are removed from this list. */
  all(type: string): readonly StripeObject[] {
    return this.byType.get(type) ?? [];
  }

  remove(object: StripeObject): void {
    this.objects.delete(object.id);
    const list = this.byType.get(object.object);
    if (list) {
      const index = list.indexOf(object);
      if (index >= 0) list.splice(index, 1);
    }
  }
}

export function scopeKey(account: string | null, livemode: boolean): string {
  return `${livemode ? 'live' : 'test'}:${account ?? ''}`;
}
