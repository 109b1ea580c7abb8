/**
 * Stripe's documented test payment methods (docs: testing) and what each does when charged.
 * `pm_card_visa` and friends are tokens: each use creates a new `pm_…` object with the card's details.
 */
export interface TestCard {
  brand: string;
  last4: string;
  funding: 'credit' | 'debit' | 'prepaid';
  country: string;
  /** Set for cards whose charge is declined: the error code, decline code and message Stripe gives. */
  decline?: { code: string; declineCode: string; message: string };
  /** Decline only when charged, not when attached to a customer. */
  declineAfterAttach?: boolean;
  /** A dispute opened right after a successful charge. */
  dispute?: { reason: string; inquiry: boolean };
  /** A refund of this card succeeds and then fails. */
  refundFails?: boolean;
  /** 3-D Secure is required: on-session payments wait in `requires_action`, off-session ones are declined. */
  authentication?: boolean;
}

const declined = (declineCode: string, message: string, code = 'card_declined') => ({
  code,
  declineCode,
  message,
});

export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: 'visa', last4: '4242', funding: 'credit', country: 'US' },
  pm_card_visa_debit: { brand: 'visa', last4: '5556', funding: 'debit', country: 'US' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', funding: 'credit', country: 'US' },
  pm_card_mastercard_debit: { brand: 'mastercard', last4: '8210', funding: 'debit', country: 'US' },
  pm_card_mastercard_prepaid: { brand: 'mastercard', last4: '5100', funding: 'prepaid', country: 'US' },
  pm_card_amex: { brand: 'amex', last4: '8431', funding: 'credit', country: 'US' },
  pm_card_discover: { brand: 'discover', last4: '1117', funding: 'credit', country: 'US' },
  pm_card_diners: { brand: 'diners', last4: '0004', funding: 'credit', country: 'US' },
  pm_card_jcb: { brand: 'jcb', last4: '0000', funding: 'credit', country: 'JP' },
  pm_card_unionpay: { brand: 'unionpay', last4: '0005', funding: 'credit', country: 'CN' },
  pm_card_gb: { brand: 'visa', last4: '0003', funding: 'credit', country: 'GB' },
  pm_card_de: { brand: 'visa', last4: '0000', funding: 'credit', country: 'DE' },
  pm_card_jp: { brand: 'visa', last4: '0003', funding: 'credit', country: 'JP' },
  pm_card_bypassPending: { brand: 'visa', last4: '0077', funding: 'credit', country: 'US' },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    funding: 'credit',
    country: 'US',
    decline: declined('generic_decline', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    country: 'US',
    decline: declined('insufficient_funds', 'Your card has insufficient funds.'),
  },
  pm_card_chargeDeclinedLostCard: {
    brand: 'visa',
    last4: '9987',
    funding: 'credit',
    country: 'US',
    decline: declined('lost_card', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedStolenCard: {
    brand: 'visa',
    last4: '9979',
    funding: 'credit',
    country: 'US',
    decline: declined('stolen_card', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedFraudulent: {
    brand: 'visa',
    last4: '0019',
    funding: 'credit',
    country: 'US',
    decline: declined('fraudulent', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    funding: 'credit',
    country: 'US',
    decline: declined('expired_card', 'Your card has expired.', 'expired_card'),
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: 'visa',
    last4: '0127',
    funding: 'credit',
    country: 'US',
    decline: declined('incorrect_cvc', "Your card's security code is incorrect.", 'incorrect_cvc'),
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: 'visa',
    last4: '0119',
    funding: 'credit',
    country: 'US',
    decline: declined(
      'processing_error',
      'An error occurred while processing your card. Try again in a little bit.',
      'processing_error',
    ),
  },
  pm_card_chargeCustomerFail: {
    brand: 'visa',
    last4: '0341',
    funding: 'credit',
    country: 'US',
    declineAfterAttach: true,
    decline: declined('generic_decline', 'Your card was declined.'),
  },
  pm_card_createDispute: {
    brand: 'visa',
    last4: '0259',
    funding: 'credit',
    country: 'US',
    dispute: { reason: 'fraudulent', inquiry: false },
  },
  pm_card_createDisputeProductNotReceived: {
    brand: 'visa',
    last4: '2685',
    funding: 'credit',
    country: 'US',
    dispute: { reason: 'product_not_received', inquiry: false },
  },
  pm_card_createDisputeInquiry: {
    brand: 'visa',
    last4: '1976',
    funding: 'credit',
    country: 'US',
    dispute: { reason: 'general', inquiry: true },
  },
  pm_card_authenticationRequired: {
    brand: 'visa',
    last4: '3184',
    funding: 'credit',
    country: 'US',
    authentication: true,
  },
  pm_card_threeDSecure2Required: {
    brand: 'visa',
    last4: '3220',
    funding: 'credit',
    country: 'US',
    authentication: true,
  },
  pm_card_refundFail: { brand: 'visa', last4: '5126', funding: 'credit', country: 'US', refundFails: true },
};

/** `tok_visa`-style tokens name the same cards, and `pm_card_visa_chargeDeclined…` the declining ones. */
export function testCardFor(token: string): TestCard | undefined {
  if (token.startsWith('tok_')) return TEST_CARDS[`pm_card_${token.slice(4)}`];
  if (token.startsWith('pm_card_visa_chargeDeclined'))
    return TEST_CARDS[`pm_card_${token.slice('pm_card_visa_'.length)}`];
  return TEST_CARDS[token];
}

/** Stripe's test card numbers a payer types on a hosted page, and the test card each one is. */
export const TEST_CARD_NUMBERS: Record<string, string> = {
  '4242424242424242': 'pm_card_visa',
  '4000056655665556': 'pm_card_visa_debit',
  '5555555555554444': 'pm_card_mastercard',
  '378282246310005': 'pm_card_amex',
  '4000000000000002': 'pm_card_chargeDeclined',
  '4000000000009995': 'pm_card_chargeDeclinedInsufficientFunds',
  '4000000000009987': 'pm_card_chargeDeclinedLostCard',
  '4000000000009979': 'pm_card_chargeDeclinedStolenCard',
  '4000000000000069': 'pm_card_chargeDeclinedExpiredCard',
  '4000000000000127': 'pm_card_chargeDeclinedIncorrectCvc',
  '4000000000000119': 'pm_card_chargeDeclinedProcessingError',
  '4000000000000259': 'pm_card_createDispute',
};
