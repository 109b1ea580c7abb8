/**
 * A payment shown on its order while another event of it changes it: the documents end with the payment's
 * newest state, whichever write came last.
 */
import { PaymentStatus, StripePaymentStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../../dataverse/types';
import type { HandlerLogger } from '../../../pipeline/handler';
import { reflectPaymentOnDocuments } from '../documents';

const log = { info: () => undefined, warn: () => undefined } as unknown as HandlerLogger;
const notFound = () => Object.assign(new Error('not found'), { status: 404 });

/**
 * Dataverse with one order paid by `pi_hold`, whose payment row reads as `reads` gives them in turn (the last
 * one again after), and no invoice.
 */
function dataverseWith(reads: Row[]) {
  const order: Row = {};
  let read = 0;
  const client = {
    async retrieveMultiple(entitySet: string) {
      expect(entitySet).toBe('stc_payments');
      return [{ stc_stripeid: 'pi_hold', ...reads[Math.min(read++, reads.length - 1)] }];
    },
    async upsertByKey(entitySet: string, key: Row, row: Row) {
      expect(key).toEqual({ stc_stripepaymentid: 'pi_hold' });
      if (entitySet !== 'salesorders') throw notFound();
      Object.assign(order, row);
      return { id: '00000000-0000-4000-8000-000000000001', created: false };
    },
  } as unknown as DataverseClient;
  return { client, order, reads: () => read };
}

const held = { stc_status: PaymentStatus.requires_capture, stc_amountrefunded: 0, stc_amountcaptured: 0 };
const captured = { stc_status: PaymentStatus.succeeded, stc_amountrefunded: 0, stc_amountcaptured: 90 };

test('a capture shown on the order between the read of the hold and its write is written again', async () => {
  // The capture's handler wrote the payment (and the order, paid) after this read of the hold.
  const { client, order, reads } = dataverseWith([held, captured]);
  await reflectPaymentOnDocuments(client, log, 'pi_hold', { amountPaid: true });
  expect(order).toEqual({
    stc_paymentstatus: StripePaymentStatus.paid,
    stc_amountpaid: 90,
    stc_amountrefunded: 0,
  });
  expect(reads()).toBe(3);
});

test('a payment that did not change meanwhile costs one read more', async () => {
  const { client, order, reads } = dataverseWith([captured]);
  await reflectPaymentOnDocuments(client, log, 'pi_hold', { amountPaid: true });
  expect(order).toMatchObject({ stc_paymentstatus: StripePaymentStatus.paid, stc_amountpaid: 90 });
  expect(reads()).toBe(2);
});
