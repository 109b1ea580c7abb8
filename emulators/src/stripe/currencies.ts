/** Currencies without minor units, and those with three (Stripe docs: currencies); every other has two. */
const ZERO_DECIMAL = new Set('bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '));
const THREE_DECIMAL = new Set('bhd jod kwd omr tnd'.split(' '));

/** How many minor-unit digits a currency has: 0 (JPY), 3 (KWD) or 2. */
export const exponentOf = (code: string) => (ZERO_DECIMAL.has(code) ? 0 : THREE_DECIMAL.has(code) ? 3 : 2);
