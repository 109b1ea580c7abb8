import { JournalStatus, PayoutStatus } from '@stc/solution/tables';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { createSqliteStore, type Store } from '../../store';
import type { PayoutDetail, PayoutPage } from '../contract';
import { consoleHarness, DATAVERSE_URL, type ConsoleHarness } from './support';

const dataverse = dataverseEmulatorForFile();

describe('console payouts', () => {
  let store: Store;
  let console_: ConsoleHarness;
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    console_ = consoleHarness(store, {
      console: { dataverse: dataverse.client, dataverseUrl: DATAVERSE_URL },
    });
  });
  afterEach(() => store.close());

  /** A payout row as the payouts mapping writes it, and its journal entry and lines as the reconciliation does. */
  function payout(
    id: string,
    amountMajor: number,
    journal?: {
      status: number;
      difference: number;
      note?: string;
      lines?: Array<[string, number, number, string?]>;
    },
  ): string {
    const rowId = dataverse.emulator.store.insert('stc_payouts', {
      stc_name: id,
      stc_stripeid: id,
      stc_amount: amountMajor,
      stc_currency: 'usd',
      stc_arrivaldate: '2026-03-02',
      stc_status: PayoutStatus.paid,
      stc_stripeaccount: '',
    });
    if (journal) {
      const entryId = dataverse.emulator.store.insert('stc_journalentries', {
        stc_name: `Payout ${id}`,
        stc_stripepayoutid: id,
        stc_status: journal.status,
        stc_statusnote: journal.note ?? null,
        stc_difference: journal.difference,
        stc_currency: 'usd',
        'stc_payoutid@odata.bind': `/stc_payouts(${rowId})`,
      });
      (journal.lines ?? []).forEach(([account, debit, credit, category], i) =>
        dataverse.emulator.store.insert('stc_journallines', {
          stc_name: `${i + 1}. ${account}`,
          stc_linekey: `${id}:${i}`,
          stc_linenumber: i + 1,
          stc_glaccount: account,
          stc_debit: debit,
          stc_credit: credit,
          stc_description: `${account} line`,
          stc_category: category ?? null,
          stc_currency: 'usd',
          'stc_journalentryid@odata.bind': `/stc_journalentries(${entryId})`,
        }),
      );
    }
    return rowId;
  }

  it('lists payouts with their journal status, newest first, filtered and paged', async () => {
    const reconciledRow = payout('po_reconciled', 120.5, {
      status: JournalStatus.balanced,
      difference: 0,
    });
    payout('po_mismatched', 99.99, {
      status: JournalStatus.mismatch,
      difference: 0.25,
      note: "The payout's balance transactions do not sum to its amount; see Difference.",
    });
    payout('po_waiting', 10);

    const all = (await console_.get('/console/api/payouts').expect(200)).body as PayoutPage;
    const byId = new Map(all.payouts.map((p) => [p.payoutId, p]));
    expect(byId.get('po_reconciled')).toEqual({
      payoutId: 'po_reconciled',
      account: '',
      currency: 'usd',
      amount: 12050,
      arrivalDateMs: Date.UTC(2026, 2, 2),
      status: 'reconciled',
      differenceMinor: 0,
      reason: null,
      dynamicsUrl: `${DATAVERSE_URL}/main.aspx?etn=stc_payout&id=${reconciledRow}&pagetype=entityrecord`,
    });
    expect(byId.get('po_mismatched')).toMatchObject({
      status: 'mismatched',
      amount: 9999,
      differenceMinor: 25,
      reason: expect.stringContaining('do not sum'),
    });
    expect(byId.get('po_waiting')).toMatchObject({ status: 'pending', differenceMinor: null });

    const mismatched = (await console_.get('/console/api/payouts?status=mismatched')).body as PayoutPage;
    expect(mismatched.payouts.map((p) => p.payoutId)).toEqual(['po_mismatched']);

    const first = (await console_.get('/console/api/payouts?limit=2')).body as PayoutPage;
    expect(first.payouts).toHaveLength(2);
    const second = (await console_.get(`/console/api/payouts?limit=2&cursor=${first.nextCursor}`))
      .body as PayoutPage;
    expect(second.nextCursor).toBeNull();
    expect([...first.payouts, ...second.payouts].map((p) => p.payoutId).sort()).toEqual([
      'po_mismatched',
      'po_reconciled',
      'po_waiting',
    ]);
    expect((await console_.get('/console/api/payouts?status=lost')).status).toBe(400);
  });

  it("answers one payout with its journal's lines in minor units, and 404 for an unknown one", async () => {
    payout('po_lines', 97.1, {
      status: JournalStatus.balanced,
      difference: 0,
      lines: [
        ['1010 Bank', 97.1, 0, 'gross'],
        ['6150 Stripe fees', 2.9, 0, 'fees'],
        ['1200 Stripe clearing', 0, 100],
      ],
    });
    const detail = (await console_.get('/console/api/payouts/po_lines').expect(200)).body as PayoutDetail;
    expect(detail.status).toBe('reconciled');
    expect(detail.lines).toEqual([
      {
        account: '1010 Bank',
        description: '1010 Bank line',
        debitMinor: 9710,
        creditMinor: 0,
        currency: 'usd',
        group: 'gross',
      },
      expect.objectContaining({
        account: '6150 Stripe fees',
        debitMinor: 290,
        creditMinor: 0,
        group: 'fees',
      }),
      expect.objectContaining({
        account: '1200 Stripe clearing',
        debitMinor: 0,
        creditMinor: 10000,
        group: null,
      }),
    ]);
    const res = await console_.get('/console/api/payouts/po_unknown');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});
