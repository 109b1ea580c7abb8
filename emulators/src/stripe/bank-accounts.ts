/**
 * Stripe's documented test bank accounts of ACH Direct Debit (docs: ACH Direct Debit, test account numbers),
 * as the `pm_usBankAccount_*` test PaymentMethods that stand for them, and what each does when debited: the
 * payment is `processing` until it settles, then succeeds or fails with the bank's return. Stripe settles a
 * test debit on its own schedule; the emulator settles it when asked (`testHelpers.settleBankDebit`).
 */
export interface TestBankAccount {
  /** Last four digits of the test account number (routing number 110000000). */
  last4: string;
  /** Set for accounts whose debits fail: the code and message of the charge's failure. */
  failure?: { code: string; message: string };
}

export const TEST_BANK_ACCOUNTS: Record<string, TestBankAccount> = {
  /** 000123456789 */
  pm_usBankAccount_success: { last4: '6789' },
  /** 000111111113 */
  pm_usBankAccount_accountClosed: {
    last4: '1113',
    failure: { code: 'account_closed', message: "The customer's bank account has been closed." },
  },
  /** 000111111116 */
  pm_usBankAccount_noAccount: {
    last4: '1116',
    failure: { code: 'no_account', message: "The customer's bank account could not be located." },
  },
  /** 000222222227 */
  pm_usBankAccount_insufficientFunds: {
    last4: '2227',
    failure: {
      code: 'insufficient_funds',
      message: "The customer's account has insufficient funds to cover this payment.",
    },
  },
  /** 000333333335 */
  pm_usBankAccount_debitNotAuthorized: {
    last4: '3335',
    failure: {
      code: 'debit_not_authorized',
      message: 'The customer has notified their bank that this payment was unauthorized.',
    },
  },
};

export const TEST_ROUTING_NUMBER = '110000000';

export function testBankAccountFor(token: string): TestBankAccount | undefined {
  return Object.prototype.hasOwnProperty.call(TEST_BANK_ACCOUNTS, token)
    ? TEST_BANK_ACCOUNTS[token]
    : undefined;
}
