import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Random bytes are drawn in blocks: one system call per id made the emulator's bulk paths slow.
let pool = randomBytes(4096);
let poolOffset = 0;

/** Random base-62 text of the given length (ids, secrets, request ids). */
export function randomToken(length: number): string {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(Math.max(4096, length));
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[pool[poolOffset + i] % 62];
  poolOffset += length;
  return out;
}

/** A Stripe-looking id: `pi_3Pgaf…` (24 characters after the prefix). */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(24)}`;
}

export function newRequestId(): string {
  return `req_${randomToken(14)}`;
}

/** Object type named by an id's prefix, for `expand[]` and references. */
const PREFIX_TYPES: Record<string, string> = {
  cus: 'customer',
  pi: 'payment_intent',
  ch: 'charge',
  py: 'charge',
  re: 'refund',
  pyr: 'refund',
  dp: 'dispute',
  du: 'dispute',
  po: 'payout',
  txn: 'balance_transaction',
  sub: 'subscription',
  si: 'subscription_item',
  in: 'invoice',
  ii: 'invoiceitem',
  prod: 'product',
  price: 'price',
  pm: 'payment_method',
  evt: 'event',
  inpay: 'invoice_payment',
  cs: 'checkout.session',
  plink: 'payment_link',
};

export function typeOfId(id: string): string | undefined {
  const underscore = id.indexOf('_');
  if (underscore <= 0) return undefined;
  return PREFIX_TYPES[id.slice(0, underscore)];
}
