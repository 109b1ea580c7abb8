import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { setIconOptions } from '@fluentui/react';
import { PaymentPanel } from '../index';
import { mockContext, MockContext, MockContextOptions, textProperty } from '../../__mocks__/mock-context';
import type { IInputs } from '../generated/ManifestTypes';
import { Payment, RefundReason, RefundRequest, RefundRequestStatus } from '@stc/solution/tables';
import { ORDER_ID, PAYMENT_ID, paymentRow } from './fixtures';

setIconOptions({ disableWarnings: true });

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

type Options = Partial<MockContextOptions>;

function contextFor(options: Options = {}): MockContext<IInputs> {
  const parameters = {
    boundField: textProperty('ORD-1001', options.security),
    pollIntervalSeconds: { raw: 1 },
  } as unknown as IInputs;
  return mockContext(parameters, {
    control: 'PaymentPanel',
    entityTypeName: 'salesorder',
    entityId: `{${ORDER_ID.toUpperCase()}}`,
    ...options,
  });
}

/** Mounts the control the way the platform does: init once, then updateView whenever it likes. */
function mount(context: MockContext<IInputs>) {
  const control = new PaymentPanel();
  control.init(context);
  const view = render(control.updateView(context));
  return {
    control,
    rerender: () => view.rerender(control.updateView(context)),
  };
}

function rowsOnce(context: MockContext<IInputs>, rows: Record<string, unknown>[]) {
  context.webAPI.retrieveMultipleRecords.mockResolvedValue({ entities: rows });
}

describe('PaymentPanel states', () => {
  it('shows a loading state until the payments arrive', async () => {
    const context = contextFor();
    let resolve: (value: { entities: Record<string, unknown>[] }) => void = () => undefined;
    context.webAPI.retrieveMultipleRecords.mockReturnValue(new Promise((r) => (resolve = r)));
    mount(context);
    expect(screen.getByText('Loading payments…')).toBeTruthy();
    await act(async () => resolve({ entities: [] }));
    expect(screen.queryByText('Loading payments…')).toBeNull();
  });

  it('says so when no payment is linked to the order', async () => {
    const context = contextFor();
    rowsOnce(context, []);
    mount(context);
    expect(await screen.findByText('No Stripe payments are linked to this record.')).toBeTruthy();
  });

  it('shows the platform error and loads again on retry', async () => {
    const context = contextFor();
    context.webAPI.retrieveMultipleRecords
      .mockRejectedValueOnce({
        code: 2147746336,
        message: 'Principal user is missing prvReadstc_payment privilege',
      })
      .mockResolvedValueOnce({ entities: [paymentRow()] });
    mount(context);
    expect(
      await screen.findByText(
        'The payments could not be loaded: Principal user is missing prvReadstc_payment privilege',
      ),
    ).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('USD 100.00')).toBeTruthy();
    expect(context.webAPI.retrieveMultipleRecords).toHaveBeenCalledTimes(2);
  });

  it('lists each payment with amounts in its currency, method, mode, dispute flag and a dashboard link', async () => {
    const context = contextFor();
    rowsOnce(context, [
      paymentRow({ stripeId: 'pi_test1', amount: 100, refunded: 20, fee: 3.2, net: 96.8 }),
      paymentRow({
        id: '22222222-2222-3333-4444-555555555555',
        stripeId: 'pi_live1',
        amount: 5000,
        refunded: 0,
        currency: 'jpy',
        fee: 180,
        net: 4820,
        livemode: true,
        account: 'acct_1Connected',
        disputed: true,
      }),
    ]);
    mount(context);
    const testRow = await screen.findByTestId('payment-pi_test1');
    expect(within(testRow).getByText('USD 100.00')).toBeTruthy();
    expect(within(testRow).getByText('USD 20.00')).toBeTruthy();
    expect(within(testRow).getByText('USD 3.20')).toBeTruthy();
    expect(within(testRow).getByText('USD 96.80')).toBeTruthy();
    expect(within(testRow).getByText('Visa •••• 4242')).toBeTruthy();
    expect(within(testRow).getByText('Test mode')).toBeTruthy();
    expect(within(testRow).getByText('Succeeded')).toBeTruthy();
    expect(
      within(testRow).getByRole('link', { name: 'Open in Stripe: payment pi_test1' }).getAttribute('href'),
    ).toBe('https://dashboard.stripe.com/test/payments/pi_test1');

    const liveRow = screen.getByTestId('payment-pi_live1');
    expect(within(liveRow).getByText('JPY 5,000')).toBeTruthy();
    expect(within(liveRow).queryByText('Test mode')).toBeNull();
    expect(within(liveRow).getByText('Disputed')).toBeTruthy();
    expect(within(liveRow).getByRole('link').getAttribute('href')).toBe(
      'https://dashboard.stripe.com/acct_1Connected/payments/pi_live1',
    );
    expect(within(liveRow).getByRole('button', { name: 'Refund payment pi_live1' })).toHaveProperty(
      'disabled',
      true,
    );
    expect(
      screen.getByText('A payment of this record is disputed. Respond to the dispute in Stripe.'),
    ).toBeTruthy();
  });

  it('sends one Web API request however often the platform calls updateView', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow()]);
    const { rerender } = mount(context);
    await screen.findByText('USD 100.00');
    for (let i = 0; i < 5; i++) rerender();
    await screen.findByText('USD 100.00');
    expect(context.webAPI.retrieveMultipleRecords).toHaveBeenCalledTimes(1);
    const [entity, query] = context.webAPI.retrieveMultipleRecords.mock.calls[0];
    expect(entity).toBe('stc_payment');
    expect(query).toContain(`$filter=${Payment.lookup.salesorderid.value} eq ${ORDER_ID}`);
    expect(query).toContain(`$expand=${Payment.toMany.stc_refundrequest_stc_paymentid}(`);
    expect(query).toContain('$select=');
  });

  it('asks to save a new order first and sends no request', () => {
    const context = contextFor({ entityId: undefined });
    mount(context);
    expect(screen.getByText('Save the record to see its Stripe payments.')).toBeTruthy();
    expect(context.webAPI.retrieveMultipleRecords).not.toHaveBeenCalled();
  });

  it('shows a misplaced panel as a configuration problem instead of failing', async () => {
    const context = contextFor({ entityTypeName: 'opportunity' });
    mount(context);
    expect(
      await screen.findByText(/not on opportunity forms\. Ask your administrator to move it\./),
    ).toBeTruthy();
    expect(context.webAPI.retrieveMultipleRecords).not.toHaveBeenCalled();
  });

  it('uses a list of cards at the mobile width', async () => {
    const context = contextFor({ width: 360 });
    rowsOnce(context, [paymentRow()]);
    mount(context);
    const list = await screen.findByRole('list', { name: 'Stripe payments' });
    expect(within(list).getByText('USD 100.00')).toBeTruthy();
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('shows German strings for a German user', async () => {
    const context = contextFor({ languageId: 1031 });
    rowsOnce(context, []);
    mount(context);
    expect(
      await screen.findByText('Mit diesem Datensatz sind keine Stripe-Zahlungen verknüpft.'),
    ).toBeTruthy();
  });
});

describe('PaymentPanel refund permissions', () => {
  it('hides Refund from a user who may not create refund requests', async () => {
    const context = contextFor({ deniedPrivileges: ['stc_refundrequest:Create'] });
    rowsOnce(context, [paymentRow()]);
    mount(context);
    await screen.findByText('USD 100.00');
    expect(screen.queryByRole('button', { name: /Refund payment/ })).toBeNull();
    expect(context.utils.hasEntityPrivilege).toHaveBeenCalledWith('stc_refundrequest', 1, 0);
  });

  // A paid invoice is read-only, and so is every order and invoice form of a user with only Read on them (the
  // Stripe Refund Requester role): a refund request changes neither, so the form's state does not matter.
  it('offers Refund on a read-only form, to a user who may create refund requests', async () => {
    const context = contextFor({ isControlDisabled: true });
    rowsOnce(context, [paymentRow()]);
    mount(context);
    const button = await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' });
    expect(button).toHaveProperty('disabled', false);
    expect(screen.queryByText('The form is read-only.')).toBeNull();
    fireEvent.click(button);
    expect(await screen.findByRole('dialog')).toBeTruthy();
  });

  it('offers Refund whatever field security says of the column the panel is placed on', async () => {
    const context = contextFor({ security: { editable: false, readable: true, secured: true } });
    rowsOnce(context, [paymentRow()]);
    mount(context);
    const button = await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' });
    expect(button).toHaveProperty('disabled', false);
  });

  it('says why Refund is disabled in visible text that the button is described by', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 100, status: 'refunded' })]);
    mount(context);
    const button = await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' });
    expect(button).toHaveProperty('disabled', true);
    const describedBy = button.getAttribute('aria-describedby') ?? '';
    const reason = screen.getByText('Nothing of this payment can be refunded.');
    expect(describedBy.split(' ')).toContain(reason.id);
    expect(reason.id).not.toBe('');
  });
});

describe('PaymentPanel refundable amount (as the service decides it)', () => {
  async function offered(row: Record<string, unknown>): Promise<string> {
    const context = contextFor();
    rowsOnce(context, [row]);
    mount(context);
    fireEvent.click(await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' }));
    const dialog = await screen.findByRole('dialog');
    return (within(dialog).getByLabelText(/Amount \(USD\)/) as HTMLInputElement).value;
  }

  it('counts Succeeded requests that the payment row does not show yet as refunded', async () => {
    // Stripe's event has not reached the payment row: it still says 0 refunded after a refund of 30.
    expect(
      await offered(
        paymentRow({ amount: 100, refunded: 0, requests: [{ amount: 30, status: 'succeeded' }] }),
      ),
    ).toBe('70');
  });

  it('counts the refunded amount once the payment row has caught up with the Succeeded requests', async () => {
    expect(
      await offered(
        paymentRow({ amount: 100, refunded: 30, requests: [{ amount: 30, status: 'succeeded' }] }),
      ),
    ).toBe('70');
  });

  it('shows the Succeeded requests in the Refunded column before the payment row catches up', async () => {
    const context = contextFor();
    rowsOnce(context, [
      paymentRow({ amount: 100, refunded: 0, requests: [{ amount: 30, status: 'succeeded' }] }),
    ]);
    mount(context);
    const row = await screen.findByTestId('payment-pi_3PaymentPanel01');
    expect(within(row).getByText('USD 30.00')).toBeTruthy();
  });

  it('offers what was captured, less refunded, less open requests (a partial capture)', async () => {
    expect(
      await offered(
        paymentRow({
          amount: 100,
          captured: 60,
          refunded: 10,
          openRequests: [5],
          requests: [
            { amount: 7, status: 'awaiting_approval' },
            { amount: 50, status: 'failed' },
            { amount: 50, status: 'rejected' },
          ],
        }),
      ),
    ).toBe('38');
  });

  it.each([
    ['awaiting capture', { status: 'requires_capture', captured: 0, refunded: 0 }],
    ['canceled', { status: 'canceled', captured: 0, refunded: 0 }],
    ['failed', { status: 'failed', captured: 0, refunded: 0 }],
    ['refunded in full', { status: 'refunded', refunded: 100 }],
    [
      'refunded in full by a request the row does not show yet',
      { status: 'succeeded', refunded: 0, requests: [{ amount: 100, status: 'succeeded' }] },
    ],
  ] as const)('offers nothing of a payment %s', async (_case, spec) => {
    const context = contextFor();
    rowsOnce(context, [
      paymentRow({ amount: 100, ...spec, requests: 'requests' in spec ? [...spec.requests] : [] }),
    ]);
    mount(context);
    const button = await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' });
    expect(button).toHaveProperty('disabled', true);
    expect(screen.getByText('Nothing of this payment can be refunded.')).toBeTruthy();
  });

  it('reads the captured amount with the payments', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow()]);
    mount(context);
    await screen.findByTestId('payment-pi_3PaymentPanel01');
    const [, query] = context.webAPI.retrieveMultipleRecords.mock.calls[0];
    expect(query).toMatch(new RegExp(`\\$select=[^&]*\\b${Payment.col.amountCaptured}\\b`));
  });
});

describe('PaymentPanel refund dialog', () => {
  async function openDialog(context: MockContext<IInputs>) {
    mount(context);
    fireEvent.click(await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' }));
    return screen.findByRole('dialog');
  }

  it('offers what is still refundable and rejects more than that with the message', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 20, openRequests: [5] })]);
    const dialog = await openDialog(context);
    const amount = within(dialog).getByLabelText(/Amount \(USD\)/) as HTMLInputElement;
    expect(amount.value).toBe('75');
    fireEvent.change(amount, { target: { value: '75.01' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
    expect(
      await within(dialog).findByText('The amount is more than can be refunded: at most USD 75.00.'),
    ).toBeTruthy();
    expect(context.webAPI.createRecord).not.toHaveBeenCalled();
  });

  it('rejects an empty, a negative and an over-precise amount', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow()]);
    const dialog = await openDialog(context);
    const amount = within(dialog).getByLabelText(/Amount \(USD\)/);
    const submit = within(dialog).getByRole('button', { name: 'Request refund' });
    fireEvent.change(amount, { target: { value: '' } });
    fireEvent.click(submit);
    expect(await within(dialog).findByText('Enter the amount to refund.')).toBeTruthy();
    fireEvent.change(amount, { target: { value: '-3' } });
    fireEvent.click(submit);
    expect(await within(dialog).findByText('Enter the amount as a number, for example 12.50.')).toBeTruthy();
    fireEvent.change(amount, { target: { value: '1.005' } });
    fireEvent.click(submit);
    expect(await within(dialog).findByText('USD amounts have at most 2 decimal places.')).toBeTruthy();
    expect(context.webAPI.createRecord).not.toHaveBeenCalled();
  });

  it('creates the refund request row under an id of its own and follows it until it succeeds', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 20 })]);
    context.webAPI.createRecord.mockImplementation(async (entityType, data) => ({
      id: String(data[RefundRequest.primaryId]),
      entityType,
    }));
    context.webAPI.retrieveRecord
      .mockResolvedValueOnce({
        [RefundRequest.col.status]: RefundRequestStatus.processing,
        [`${RefundRequest.col.status}@OData.Community.Display.V1.FormattedValue`]: 'Processing',
      })
      .mockResolvedValueOnce({ [RefundRequest.col.status]: RefundRequestStatus.succeeded });
    const dialog = await openDialog(context);
    fireEvent.change(within(dialog).getByLabelText(/Amount \(USD\)/), { target: { value: '12.5' } });
    fireEvent.change(within(dialog).getByLabelText('Note'), { target: { value: 'Damaged in transit' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));

    await waitFor(() => expect(context.webAPI.createRecord).toHaveBeenCalledTimes(1));
    const requestId = String(context.webAPI.createRecord.mock.calls[0][1][RefundRequest.primaryId]);
    expect(requestId).toMatch(GUID);
    expect(context.webAPI.createRecord).toHaveBeenCalledWith(RefundRequest.logicalName, {
      [RefundRequest.primaryId]: requestId,
      [RefundRequest.col.name]: 'Refund of pi_3PaymentPanel01',
      [`${RefundRequest.lookup.paymentid.bind.stc_payment}@odata.bind`]: `/${Payment.entitySetName}(${PAYMENT_ID})`,
      [RefundRequest.col.amount]: 12.5,
      [RefundRequest.col.currency]: 'usd',
      [RefundRequest.col.reason]: RefundReason.requested_by_customer,
      [RefundRequest.col.note]: 'Damaged in transit',
      [RefundRequest.col.status]: RefundRequestStatus.pending,
      [RefundRequest.col.liveMode]: false,
    });
    expect(await screen.findByText('Refund request: Processing', {}, { timeout: 4000 })).toBeTruthy();
    expect(await screen.findByText('Refund request: Succeeded', {}, { timeout: 4000 })).toBeTruthy();
    expect(context.webAPI.retrieveRecord).toHaveBeenCalledWith(
      RefundRequest.logicalName,
      requestId,
      `?$select=${RefundRequest.col.status},${RefundRequest.col.failureReason}`,
    );
    // A succeeded refund changes the payment: the list is read again, once.
    await waitFor(() => expect(context.webAPI.retrieveMultipleRecords).toHaveBeenCalledTimes(2));
  }, 15000);

  it('shows and reads the amount in the user number format (de-DE)', async () => {
    const context = contextFor({
      numberFormattingInfo: {
        numberDecimalSeparator: ',',
        numberGroupSeparator: '.',
        numberGroupSizes: [3],
      },
    });
    rowsOnce(context, [paymentRow({ amount: 2000, refunded: 499.5, currency: 'kwd' })]);
    context.webAPI.createRecord.mockResolvedValue({
      id: 'aaaaaaaa-0000-0000-0000-000000000002',
      entityType: 'stc_refundrequest',
    });
    context.webAPI.retrieveRecord.mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.pending,
    });
    const dialog = await openDialog(context);
    const amount = within(dialog).getByLabelText(/Amount \(KWD\)/) as HTMLInputElement;
    expect(amount.value).toBe('1500,5');
    const submit = within(dialog).getByRole('button', { name: 'Request refund' });
    fireEvent.change(amount, { target: { value: '1.5' } });
    fireEvent.click(submit);
    expect(
      await within(dialog).findByText(
        'Type the amount as your number format writes it, with “,” before the decimals, for example 1.234,500 or 1234,500.',
      ),
    ).toBeTruthy();
    fireEvent.change(amount, { target: { value: '1.500,5' } });
    fireEvent.click(submit);
    await waitFor(() => expect(context.webAPI.createRecord).toHaveBeenCalledTimes(1));
    expect(context.webAPI.createRecord.mock.calls[0][1]).toMatchObject({
      [RefundRequest.col.amount]: 1500.5,
      [RefundRequest.col.currency]: 'kwd',
    });
  });

  it('sends the same request id again after a save that failed, and takes "duplicate key" as saved', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 20 })]);
    context.webAPI.createRecord
      // Dataverse saved the row, but its answer was lost.
      .mockRejectedValueOnce({ errorCode: 0, message: 'The request timed out.' })
      // The same id again: Dataverse refuses a second row with it (DuplicateRecord, 0x80040237).
      .mockRejectedValueOnce({
        errorCode: -2147220937,
        code: '0x80040237',
        message: 'Cannot insert duplicate key.',
      });
    context.webAPI.retrieveRecord.mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.pending,
      [`${RefundRequest.col.status}${FORMATTED}`]: 'Pending',
    });
    const dialog = await openDialog(context);
    const submit = within(dialog).getByRole('button', { name: 'Request refund' });
    fireEvent.click(submit);
    expect(
      await within(dialog).findByText('The refund request could not be saved: The request timed out.'),
    ).toBeTruthy();
    await waitFor(() => expect(submit).toHaveProperty('disabled', false));
    fireEvent.click(submit);

    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const [first, second] = context.webAPI.createRecord.mock.calls.map(([, data]) => data);
    expect(first[RefundRequest.primaryId]).toMatch(GUID);
    expect(second[RefundRequest.primaryId]).toBe(first[RefundRequest.primaryId]);
    expect(context.webAPI.createRecord).toHaveBeenCalledTimes(2);
    // The row is read back, and the panel follows it.
    expect(context.webAPI.retrieveRecord).toHaveBeenCalledWith(
      RefundRequest.logicalName,
      first[RefundRequest.primaryId],
      `?$select=${RefundRequest.col.status}`,
    );
    expect(await screen.findByText('Refund request: Pending', {}, { timeout: 4000 })).toBeTruthy();
  });

  it('takes an unsigned DuplicateRecord code as saved too', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 20 })]);
    context.webAPI.createRecord.mockRejectedValue({ errorCode: 2147746359, message: 'Duplicate' });
    context.webAPI.retrieveRecord.mockResolvedValue({
      [RefundRequest.col.status]: RefundRequestStatus.pending,
    });
    const dialog = await openDialog(context);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(context.webAPI.createRecord).toHaveBeenCalledTimes(1);
    expect(await screen.findByText('Refund request: Pending', {}, { timeout: 4000 })).toBeTruthy();
  });

  it('reads the payments again when a dialog whose save failed is closed: the request may be saved', async () => {
    const context = contextFor();
    context.webAPI.retrieveMultipleRecords
      .mockResolvedValueOnce({ entities: [paymentRow({ amount: 100, refunded: 20 })] })
      // The save that failed was saved after all: its 80 is held.
      .mockResolvedValue({ entities: [paymentRow({ amount: 100, refunded: 20, openRequests: [80] })] });
    context.webAPI.createRecord.mockRejectedValue({ message: 'The request timed out.' });
    const dialog = await openDialog(context);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
    await within(dialog).findByText('The refund request could not be saved: The request timed out.');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await waitFor(() => expect(context.webAPI.retrieveMultipleRecords).toHaveBeenCalledTimes(2));
    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'Refund payment pi_3PaymentPanel01' })).toHaveProperty(
        'disabled',
        true,
      ),
    );
  });

  it('gives each opening of the dialog its own request id, and reads nothing again after a plain Cancel', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 20 })]);
    context.webAPI.createRecord.mockRejectedValue({ message: 'Refused.' });
    let dialog = await openDialog(context);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(context.webAPI.retrieveMultipleRecords).toHaveBeenCalledTimes(1);

    const ids: unknown[] = [];
    for (let opening = 0; opening < 2; opening++) {
      fireEvent.click(await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' }));
      dialog = await screen.findByRole('dialog');
      fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
      await within(dialog).findByText('The refund request could not be saved: Refused.');
      fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
      await waitFor(() => expect(context.webAPI.createRecord).toHaveBeenCalledTimes(2 * opening + 2));
      const calls = context.webAPI.createRecord.mock.calls.slice(2 * opening);
      expect(calls[1][1][RefundRequest.primaryId]).toBe(calls[0][1][RefundRequest.primaryId]);
      ids.push(calls[0][1][RefundRequest.primaryId]);
      await waitFor(() =>
        expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveProperty('disabled', false),
      );
      fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
      await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    }
    expect(ids[0]).toMatch(GUID);
    expect(ids[1]).toMatch(GUID);
    expect(ids[1]).not.toBe(ids[0]);
  });

  it('shows a duplicate key whose row cannot be read as a failure, and keeps the dialog open', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow()]);
    context.webAPI.createRecord.mockRejectedValue({ errorCode: -2147220937, message: 'Duplicate' });
    context.webAPI.retrieveRecord.mockRejectedValue({ message: 'The request timed out.' });
    const dialog = await openDialog(context);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
    expect(
      await within(dialog).findByText('The refund request could not be saved: The request timed out.'),
    ).toBeTruthy();
  });

  it('shows why the request could not be saved and keeps the dialog open', async () => {
    const context = contextFor();
    rowsOnce(context, [paymentRow()]);
    context.webAPI.createRecord.mockRejectedValue({
      message: 'Principal user is missing prvCreatestc_refundrequest privilege',
    });
    const dialog = await openDialog(context);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
    expect(
      await within(dialog).findByText(
        'The refund request could not be saved: Principal user is missing prvCreatestc_refundrequest privilege',
      ),
    ).toBeTruthy();
  });
});

describe('PaymentPanel refund progress', () => {
  async function requestRefund(context: MockContext<IInputs>) {
    mount(context);
    fireEvent.click(await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText(/Amount \(USD\)/), { target: { value: '30' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Request refund' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  }

  function awaitingApproval(note?: string) {
    return {
      [RefundRequest.col.status]: RefundRequestStatus.awaiting_approval,
      [`${RefundRequest.col.status}${FORMATTED}`]: 'Awaiting approval',
      [RefundRequest.col.failureReason]: note ?? null,
    };
  }

  it('rests on Awaiting approval: says it waits for an approver, stops polling, offers Close and holds the amount', async () => {
    const context = contextFor();
    context.webAPI.retrieveMultipleRecords
      .mockResolvedValueOnce({ entities: [paymentRow({ amount: 100, refunded: 20 })] })
      .mockResolvedValue({
        entities: [
          paymentRow({ amount: 100, refunded: 20, requests: [{ amount: 30, status: 'awaiting_approval' }] }),
        ],
      });
    context.webAPI.createRecord.mockImplementation(async (entityType, data) => ({
      id: String(data[RefundRequest.primaryId]),
      entityType,
    }));
    context.webAPI.retrieveRecord.mockResolvedValue(
      awaitingApproval('No approval threshold is set for USD: every refund in it needs a finance approver.'),
    );
    await requestRefund(context);

    // While the service works on the request, no other refund can be asked for, and the button says why.
    const button = screen.getByRole('button', { name: 'Refund payment pi_3PaymentPanel01' });
    expect(button).toHaveProperty('disabled', true);
    expect(screen.getByText('Wait for the outcome of the refund request above.')).toBeTruthy();

    expect(await screen.findByText('Refund request: Awaiting approval', {}, { timeout: 4000 })).toBeTruthy();
    expect(
      screen.getByText(
        'It waits for a finance approver; its amount is held until they decide. The refund is made once it is approved.',
      ),
    ).toBeTruthy();
    expect(
      screen.getByText(/No approval threshold is set for USD: every refund in it needs a finance approver\./),
    ).toBeTruthy();
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.getByRole('button', { name: 'Close' })).toBeTruthy();

    // The list is read again: the request's 30 is held, and Refund is offered for the rest.
    await waitFor(() => expect(context.webAPI.retrieveMultipleRecords).toHaveBeenCalledTimes(2));
    const refund = await screen.findByRole('button', { name: 'Refund payment pi_3PaymentPanel01' });
    await waitFor(() => expect(refund).toHaveProperty('disabled', false));
    fireEvent.click(refund);
    const dialog = await screen.findByRole('dialog');
    expect((within(dialog).getByLabelText(/Amount \(USD\)/) as HTMLInputElement).value).toBe('50');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));

    // No more polling: the request may wait for days.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(context.webAPI.retrieveRecord).toHaveBeenCalledTimes(1);

    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByText('Refund request: Awaiting approval')).toBeNull();
  }, 15000);

  it('says in German that the request waits for an approver', async () => {
    const context = contextFor({ languageId: 1031 });
    rowsOnce(context, [paymentRow({ amount: 100, refunded: 20 })]);
    context.webAPI.createRecord.mockImplementation(async (entityType, data) => ({
      id: String(data[RefundRequest.primaryId]),
      entityType,
    }));
    context.webAPI.retrieveRecord.mockResolvedValue({
      ...awaitingApproval(),
      [`${RefundRequest.col.status}${FORMATTED}`]: 'Wartet auf Genehmigung',
    });
    mount(context);
    fireEvent.click(await screen.findByRole('button', { name: 'Zahlung pi_3PaymentPanel01 erstatten' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Erstattung anfordern' }));
    expect(
      await screen.findByText(
        'Sie wartet auf die Genehmigung durch die Finanzabteilung; ihr Betrag bleibt bis zur Entscheidung reserviert. Die Erstattung erfolgt nach der Genehmigung.',
        {},
        { timeout: 4000 },
      ),
    ).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Schließen' })).toBeTruthy();
  }, 10000);
});
