/**
 * Payments: `payment_intent.*` and `charge.*` events → one stc_payment row per payment (the
 * PaymentIntent, or a Charge made without one). The event's own object is mapped when it is the newest known
 * and holds what payments.yaml `needs`; otherwise the PaymentIntent is read from Stripe with its latest charge
 * and that charge's balance transaction. A charge event of a PaymentIntent is ordered and coalesced with the
 * PaymentIntent's own events (intake keys it by the PaymentIntent), so a burst costs at most one read.
 */
import { isDeepStrictEqual } from 'node:util';
import type Stripe from 'stripe';
import { Payment } from '@stc/solution/tables';
import type { MappedRow, MappingSet } from '../../mapping';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';
import {
  eventEnvelope,
  idOf,
  mapIfApplies,
  objectForMapping,
  retrieveObject,
  stripeForEvent,
  type StripeObject,
  logUnmapped,
  reportNothingWritten,
} from '../../write/stripe-objects';
import { mustReadObject } from '../../write/payload';
import { newestCopy, type ObjectCopy } from '../../write/progress';
import { writeMappedRow } from '../../write/rows';
import { reflectPaymentOnDocuments } from '../orders/documents';
import type { FeeFiller } from './fees';
import { linkChargeRequest } from './charge-requests';
import { orderingObjectOf } from '../../store';

export { createFeeFiller, type FeeFiller, type FeeFillResult, type PaymentWithoutFee } from './fees';

/** Mapping names in the mapping files (payments.yaml). */
export const PAYMENT_INTENT_MAPPING = 'payment_intent';
export const CHARGE_MAPPING = 'charge';

/** Which payment a refund, dispute or charge belongs to. */
export interface PaymentRef {
  paymentIntent?: string;
  charge?: string;
  /** The event's own copy of the object, used when the mapping does not ask for fresh state. */
  payload?: StripeObject;
  /**
   * Which payments are shown on the order and invoice they pay once written: `always` (the refunds' and
   * disputes' handlers: the payment's status and refunded amount), or `holds` (the payments handler: a
   * PaymentIntent held for a manual capture, whose hold, capture or release shows there). A hold shows its
   * amount paid too: the amount captured.
   */
  documents?: 'always' | 'holds';
  /** With `documents`: what writing the payment does besides (see PaymentHooks). */
  hooks?: PaymentHooks;
  /**
   * Where the hooks' work is queued for the caller to run once its own rows are written (a refund's, a
   * dispute's), so that a failure making an invoice or order does not keep them from being written; run at
   * once without it.
   */
  later?: Array<() => Promise<void>>;
}

/**
 * What writing a payment does besides: the orders' work, wired by handlers.ts (payments does not import
 * orders).
 */
export interface PaymentHooks {
  /** A PaymentIntent held for a manual capture, captured and written: the invoice of its order. */
  onHoldCaptured?: HoldCaptured;
  /**
   * A payment written by a refund's or dispute's event, which may have superseded the payment's own events
   * (by seconds): its order, when payments made without a Checkout Session get one.
   */
  onWrittenByOther?: PaymentWritten;
}

/** Called once a PaymentIntent held for a manual capture is captured and written (see onHoldCaptured). */
export type HoldCaptured = (
  mappings: MappingSet,
  paymentId: string,
  event: Stripe.Event,
  context: SyncContext,
) => Promise<void>;

/** Called with a payment as it was written: a PaymentIntent, or a Charge made without one. */
export type PaymentWritten = (
  mappings: MappingSet,
  payment: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
) => Promise<void>;

/** Runs the work now, or queues it on `later` for the caller. */
async function queued(ref: PaymentRef, work: () => Promise<void>): Promise<void> {
  if (ref.later) ref.later.push(work);
  else await work();
}

/**
 * Writes the payment's row and returns its Stripe id (the row's key), or null when no mapping applies.
 * Used by the refunds and disputes handlers too, so the payment's status follows its refunds and disputes.
 */
export async function syncPayment(
  mappings: MappingSet,
  ref: PaymentRef,
  event: Stripe.Event,
  context: SyncContext,
  fees?: FeeFiller,
): Promise<string | null> {
  const envelope = eventEnvelope(event);
  let paymentIntent = ref.paymentIntent;
  let charge: StripeObject | undefined = ref.payload?.object === 'charge' ? ref.payload : undefined;

  if (!paymentIntent && ref.charge) {
    const chargeMapping = mappings.get(CHARGE_MAPPING);
    const given = charge;
    charge = await objectForMapping(chargeMapping, event, context, given, ref.charge);
    paymentIntent = idOf(charge.payment_intent);
    if (!paymentIntent) {
      const chargeId = ref.charge;
      const mapCharge = async (object: StripeObject) =>
        mapIfApplies(chargeMapping, await withDisputes(object, object, event, context), envelope);
      const mapped = await mapCharge(charge);
      if (!mapped) return null;
      // A charge made without a PaymentIntent is its own payment, keyed by its id (see the notes below).
      if (charge !== given) await context.writingFreshStateOf?.(chargeId);
      await writeMappedRow(context.dataverse, context.log, mapped);
      if (charge !== given && orderingObjectOf(event.data.object) !== chargeId)
        await writeAgainWhileChanged(context, mapped, async () =>
          mapCharge(await objectForMapping(chargeMapping, event, context, undefined, chargeId)),
        );
      noteMissingFee(fees, mapped, charge, event);
      const written = String(mapped.key.stc_stripeid ?? charge.id);
      if (ref.documents === 'always') {
        await reflectPaymentOnDocuments(context.dataverse, context.log, written);
        const onWritten = ref.hooks?.onWrittenByOther;
        const paid = charge;
        if (onWritten) await queued(ref, () => onWritten(mappings, paid, event, context));
      }
      return written;
    }
  }
  if (!paymentIntent) return null;

  const intentMapping = mappings.get(PAYMENT_INTENT_MAPPING);
  const given = ref.payload?.object === 'payment_intent' ? ref.payload : undefined;
  // The burst's own copies tell the newest state when they are in a known order: no read.
  const composed = intentFromBurst(context.burst, paymentIntent);
  const copy =
    composed && !mustReadObject(intentMapping, composed, {})
      ? composed
      : given && !mustReadObject(intentMapping, given, context)
        ? given
        : undefined;
  const id = paymentIntent;
  const read = () =>
    retrieveObject(event, context, 'payment_intent', id, intentMapping.refresh?.expand ?? []);
  const mapIntent = async (object: StripeObject) => {
    const charge = latestCharge(object);
    return mapIfApplies(
      intentMapping,
      charge ? await withDisputes(object, charge, event, context) : object,
      envelope,
    );
  };
  const intent = copy ?? (await read());
  const latest = latestCharge(intent);
  const mapped = await mapIntent(intent);
  if (!mapped) return null;
  // Written from Stripe's current state: the payment's own events up to this one's second must not overwrite
  // it with their copies (a dispute or refund handler re-syncing the payment; see writingFreshStateOf).
  if (!copy) await context.writingFreshStateOf?.(id);
  await writeMappedRow(context.dataverse, context.log, mapped);
  if (!copy && orderingObjectOf(event.data.object) !== id)
    await writeAgainWhileChanged(context, mapped, async () => mapIntent(await read()));
  noteMissingFee(fees, mapped, latest, event);
  const written = String(mapped.key.stc_stripeid ?? intent.id);
  await showIntentWritten(mappings, ref, intent, written, event, context);
  return written;
}

/** A PaymentIntent held for a manual capture and captured since (for some or all of its amount). */
export const isCapturedHold = (intent: StripeObject): boolean =>
  intent.capture_method === 'manual' &&
  intent.status === 'succeeded' &&
  typeof intent.amount_received === 'number' &&
  intent.amount_received > 0;

/**
 * After a PaymentIntent's row is written: its documents (see PaymentRef.documents) and hooks. A refund's or
 * dispute's event may have superseded the payment's own (by seconds): the charge request that made the
 * payment is linked and brought to its outcome from here too (the payments handler does so for the payment's
 * own events), and the hooks make its invoice or order.
 */
async function showIntentWritten(
  mappings: MappingSet,
  ref: PaymentRef,
  intent: StripeObject,
  written: string,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const hold = intent.capture_method === 'manual';
  if (ref.documents === 'always') await linkChargeRequest(intent, written, context);
  if (ref.documents !== 'always' && !(ref.documents === 'holds' && hold)) return;
  await reflectPaymentOnDocuments(context.dataverse, context.log, written, { amountPaid: hold });
  const { onHoldCaptured, onWrittenByOther } = ref.hooks ?? {};
  if (isCapturedHold(intent) && onHoldCaptured)
    await queued(ref, () => onHoldCaptured(mappings, written, event, context));
  if (ref.documents === 'always' && onWrittenByOther)
    await queued(ref, () => onWrittenByOther(mappings, intent, event, context));
}

/** Rounds of reading Stripe again after a payment written by another object's event (see below). */
const WRITE_AGAIN_ROUNDS = 3;

/**
 * A payment written from Stripe by another object's event (a refund's, a dispute's) runs beside the payment's
 * own events and beside the other refunds and disputes of it, so a write made from an older read may land
 * after one made from a newer read: two partial refunds in quick succession, the second's handler writing 20.00
 * refunded before the first's writes the 10.00 it read. The payment's own events see the stamp move and write
 * again (see writingFreshStateOf); other objects' events do not, so Stripe is read again after the write and,
 * while it reads otherwise than what was written, the row is written again. One read more per refund or
 * dispute event when nothing changed meanwhile.
 */
async function writeAgainWhileChanged(
  context: SyncContext,
  written: MappedRow,
  mapFresh: () => Promise<MappedRow | null>,
): Promise<void> {
  let last = written;
  for (let round = 0; ; round++) {
    const fresh = await mapFresh();
    if (!fresh || isDeepStrictEqual(fresh.row, last.row)) return;
    if (round === WRITE_AGAIN_ROUNDS) {
      context.log.warn(
        { mapping: fresh.mapping, key: fresh.key },
        'the payment kept changing in Stripe while it was written; its next event writes it',
      );
      return;
    }
    context.log.info(
      { mapping: fresh.mapping, key: fresh.key },
      'the payment changed in Stripe while it was written; written again',
    );
    await writeMappedRow(context.dataverse, context.log, fresh);
    last = fresh;
  }
}

/**
 * A row written with its charge's balance transaction named but without fee (the copy had it as an id): the
 * fee filler lists it in bulk shortly after, rather than a read for this one payment.
 */
function noteMissingFee(
  fees: FeeFiller | undefined,
  mapped: MappedRow,
  charge: StripeObject | undefined,
  event: Stripe.Event,
): void {
  const { row } = mapped;
  if (!fees || !charge || typeof charge.created !== 'number') return;
  if (typeof row[Payment.col.stripeBalanceTransactionId] !== 'string' || Payment.col.fee in row) return;
  fees.note({ chargeId: charge.id, created: charge.created, account: event.account ?? null });
}

/** The copies of one object that a burst's events carry (thin notifications carry none). */
function copiesIn(burst: Stripe.Event[], type: string, id: string): ObjectCopy[] {
  return burst.flatMap((event) => {
    const object = event.data?.object as unknown as StripeObject | undefined;
    if (!object || object.object !== type || object.id !== id) return [];
    const previous = event.data.previous_attributes as Record<string, unknown> | undefined;
    return [{ object, previous, created: event.created }];
  });
}

/**
 * The PaymentIntent as its burst has it, without a read: its newest copy, with the newest copy of its latest
 * charge in place of the charge's id. Undefined (the payment is read) when the burst has no copy of it, when its
 * copies (or its charge's) have no known order, when it names a charge the burst has no copy of, or when the
 * burst shows that the intent's copy is behind its charges: a charge of it that the copy does not name as its
 * latest (the copy was made before that charge), or a charge whose outcome the copy's status does not reflect
 * (a captured charge beside an intent still awaiting confirmation). The PaymentIntent's own newer events may
 * still be on their way then, and Stripe's order of events across the two objects is not guaranteed.
 */
export function intentFromBurst(
  burst: Stripe.Event[] | undefined,
  paymentIntent: string,
): StripeObject | undefined {
  if (!burst) return undefined;
  const intent = newestCopy(copiesIn(burst, 'payment_intent', paymentIntent));
  if (!intent) return undefined;
  const latest = intent.object.latest_charge;
  const chargesOfIntent = burst.filter((event) => {
    const object = event.data?.object as unknown as StripeObject | undefined;
    return object?.object === 'charge' && object.payment_intent === paymentIntent;
  });
  if (chargesOfIntent.some((event) => (event.data.object as { id?: unknown }).id !== latest))
    return undefined;
  if (typeof latest !== 'string') return intent.object as StripeObject;
  const charge = newestCopy(copiesIn(burst, 'charge', latest));
  if (!charge) return undefined;
  if (!statusReflects(intent.object, charge.object)) return undefined;
  return { ...(intent.object as StripeObject), latest_charge: charge.object };
}

/**
 * Whether a PaymentIntent's status is the one Stripe gives it once its latest charge is as this copy has it:
 * succeeded and captured → succeeded; authorized only → requires_capture (or canceled, when the hold was
 * released); pending → processing; failed → back to requires_payment_method (or canceled). Anything else
 * means one of the two copies is older than the other.
 */
function statusReflects(intent: Record<string, unknown>, charge: Record<string, unknown>): boolean {
  const status = intent.status;
  switch (charge.status) {
    case 'succeeded':
      return charge.captured === false
        ? status === 'requires_capture' || status === 'canceled'
        : status === 'succeeded';
    case 'pending':
      return status === 'processing';
    case 'failed':
      return status === 'requires_payment_method' || status === 'canceled';
    default:
      return false;
  }
}

/** The PaymentIntent's latest charge as an object: expanded, or (API versions before 2022-11-15) `charges.data`. */
function latestCharge(intent: StripeObject): StripeObject | undefined {
  if (typeof intent.latest_charge === 'object' && intent.latest_charge !== null)
    return intent.latest_charge as StripeObject;
  const charges = (intent.charges as { data?: StripeObject[] } | undefined)?.data;
  return charges?.[0];
}

/**
 * Stripe keeps `charge.disputed` true for good, whatever the dispute's outcome; only the dispute tells
 * whether it was won. For a disputed charge the payment's object gets `disputes` (the charge's disputes,
 * read from Stripe), which payments.yaml reads for the status. Undisputed payments cost no extra call.
 */
async function withDisputes(
  object: StripeObject,
  charge: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
): Promise<StripeObject> {
  if (charge.disputed !== true || typeof charge.id !== 'string') return object;
  const disputes = await stripeForEvent(event, context).disputes.list({ charge: charge.id, limit: 100 });
  return { ...object, disputes: disputes.data };
}

/**
 * `fees`: fills fee and net in bulk for rows written from an event's copy without them. `hooks`: what
 * writing a payment does besides (onHoldCaptured: the orders' invoice of a Checkout Session paid by a hold).
 */
export function createPaymentsHandler(
  mappings: () => MappingSet,
  fees?: FeeFiller,
  hooks: PaymentHooks = {},
): StripeEventHandler {
  return {
    resource: 'payments',
    // charge.refunded / charge.refund.* go to refunds and charge.dispute.* to disputes (more specific).
    eventTypes: ['payment_intent.*', 'charge.*'],
    async handle(event, context) {
      const object = event.data.object as unknown as StripeObject;
      let written: string | null;
      if (object.object === 'payment_intent') {
        written = await syncPayment(
          mappings(),
          { paymentIntent: object.id, payload: object, documents: 'holds', hooks },
          event,
          context,
          fees,
        );
      } else if (object.object === 'charge') {
        written = await syncPayment(
          mappings(),
          {
            paymentIntent: idOf(object.payment_intent),
            charge: object.id,
            payload: object,
            documents: 'holds',
            hooks,
          },
          event,
          context,
          fees,
        );
      } else {
        logUnmapped(event, context, 'payments');
        return;
      }
      if (written === null)
        reportNothingWritten(context, { eventId: event.id, id: object.id }, 'no payment mapping applies');
      // A charge carries its PaymentIntent's metadata, so whichever event of the burst is worked links it.
      else await linkChargeRequest(object, written, context);
    },
  };
}
