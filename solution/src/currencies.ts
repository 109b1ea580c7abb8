/**
 * Stripe's currency classes, in Stripe's lower-case spelling: amounts are integers in the smallest unit, and
 * these currencies have no minor unit or three minor digits; every other currency has two. One list for the
 * service's money conversion and the controls' formatting. Kept free of imports so browser bundles can take it
 * alone, without the table model.
 */
export const ZERO_DECIMAL_CURRENCIES: readonly string[] = [
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
];

export const THREE_DECIMAL_CURRENCIES: readonly string[] = ['bhd', 'jod', 'kwd', 'omr', 'tnd'];
