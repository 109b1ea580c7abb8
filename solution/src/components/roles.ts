/**
 * Security roles shipped with the solution, declared as data. Each grants only what its users do; none is a
 * copy of System Administrator or System Customizer, and none creates rows in every table.
 */
export type PrivilegeAction =
  'Create' | 'Read' | 'Write' | 'Delete' | 'Append' | 'AppendTo' | 'Assign' | 'Share';
/** Basic: own rows; Local: business unit; Deep: unit and children; Global: organization. */
export type PrivilegeDepth = 'Basic' | 'Local' | 'Deep' | 'Global';

export interface TablePrivileges {
  /** Logical name of the table. */
  table: string;
  actions: PrivilegeAction[];
  depth: PrivilegeDepth;
}

export interface SecurityRole {
  name: string;
  id: string;
  description: string;
  privileges: TablePrivileges[];
}

const SYNCED = [
  'stc_payment',
  'stc_refund',
  'stc_dispute',
  'stc_subscription',
  'stc_subscriptionitem',
  'stc_stripeinvoice',
  'stc_stripeinvoiceline',
  'stc_payout',
  'stc_balancetransaction',
];
const RECONCILIATION = ['stc_journalentry', 'stc_journalline'];
const REQUESTS = [
  'stc_refundrequest',
  'stc_paymentlinkrequest',
  'stc_subscriptionrequest',
  'stc_chargerequest',
];
const ALL_CONNECTOR = [...SYNCED, ...REQUESTS, ...RECONCILIATION];
const SALES = ['account', 'contact', 'quote', 'salesorder', 'invoice'];
/**
 * The users' roles grant the sales records at Basic depth only: privileges add up across a user's roles, so
 * a deeper grant here would let a salesperson kept to their business unit read every order in the
 * organization, and have a payment page made for it. Which records they see is their Sales roles' matter.
 */
const STANDARD_SALES_DEPTH: PrivilegeDepth = 'Basic';

/**
 * Each role's id is fixed for good: an upgrade finds the role by it, so a renamed role stays the same role.
 */
function role(id: string, name: string, description: string, privileges: TablePrivileges[]): SecurityRole {
  return { name, id, description, privileges };
}

const each = (
  tables: string[],
  actions: PrivilegeAction[],
  depth: PrivilegeDepth = 'Global',
): TablePrivileges[] => tables.map((table) => ({ table, actions, depth }));

export const securityRoles: SecurityRole[] = [
  role(
    '8b8b5a69-5448-5e28-aa44-d7b9d4268977',
    'Stripe Connector Service',
    "The companion service's application user: writes what Stripe reports, reads the sales records it links to.",
    [
      ...each([...SYNCED, ...RECONCILIATION], ['Create', 'Read', 'Write', 'Append', 'AppendTo']),
      // Requests are created by users; the service moves them through their states and links the refund.
      ...each(REQUESTS, ['Read', 'Write', 'Append', 'AppendTo']),
      // Customers: a Stripe customer event upserts the account or contact by stc_stripecustomerid.
      ...each(['account', 'contact'], ['Create', 'Read', 'Write', 'AppendTo']),
      // Orders and paid invoices of Checkout Sessions, with their lines (whose privileges are the order's and
      // the invoice's); a payment link's URL, and the payment that follows it, go to the record it was made for.
      ...each(['salesorder', 'invoice'], ['Create', 'Read', 'Write', 'Append', 'AppendTo']),
      // A quote paid through its payment page: the order made of it names it, and WinQuote closes it (Write).
      ...each(['quote'], ['Read', 'Write', 'AppendTo']),
      // The catalog: products, and with them price lists, their items and units, which Dynamics 365 gives no
      // privileges of their own (the product privileges govern them). Price lists and items name a currency.
      ...each(['product'], ['Create', 'Read', 'Write', 'Append', 'AppendTo']),
      ...each(['transactioncurrency'], ['Read', 'AppendTo']),
      ...each(['systemuser'], ['Read', 'AppendTo']),
      // What it could not do (dead letters, payouts that do not reconcile), kept in step with its queue.
      ...each(['stc_syncissue'], ['Create', 'Read', 'Write', 'Append']),
      // Its own state and the answers to connection tests.
      ...each(['stc_connectorstatus'], ['Create', 'Read', 'Write']),
      // The refund approval threshold and other settings the solution ships as environment variables.
      ...each(['environmentvariabledefinition', 'environmentvariablevalue'], ['Read']),
    ],
  ),
  role(
    'e5caf049-ce7a-5820-8d01-3ca6c4ea772e',
    'Stripe Finance Approver',
    'Finance users who approve or reject refund requests above the threshold.',
    [
      ...each([...SYNCED, ...RECONCILIATION], ['Read', 'AppendTo']),
      // Write only for the Sync from Stripe command, which stamps stc_syncrequestedon; Stripe stays the source.
      ...each(['stc_payment'], ['Read', 'Write', 'AppendTo']),
      // Write: the approval of a refund or charge request above the threshold is the request's status.
      ...each(['stc_refundrequest', 'stc_chargerequest'], ['Create', 'Read', 'Write', 'Append', 'AppendTo']),
      ...each(['stc_paymentlinkrequest', 'stc_subscriptionrequest'], ['Create', 'Read', 'Append']),
      // Write to ask for a retry or a discard of a sync issue; the service carries it out.
      ...each(['stc_syncissue'], ['Read', 'Write']),
      // Write to ask for a connection test (the time asked), which the service answers.
      ...each(['stc_connectorstatus'], ['Read', 'Write']),
      // AppendTo: a subscription request names the customer, and the product or subscription, it is about.
      // Sales records at Basic depth (see STANDARD_SALES_DEPTH); products belong to the organization.
      ...each(SALES, ['Read', 'AppendTo'], STANDARD_SALES_DEPTH),
      ...each(['product'], ['Read', 'AppendTo']),
      ...each(['systemuser'], ['Read', 'AppendTo']),
    ],
  ),
  role(
    '3e2d01a6-9e12-5606-8a2a-dd0a0790765a',
    'Stripe Payments Reader',
    'Sales and service users who see Stripe payments on their records.',
    [...each(ALL_CONNECTOR, ['Read']), ...each(SALES, ['Read'], STANDARD_SALES_DEPTH)],
  ),
  role(
    '79a23d99-5345-5ee4-8ed2-259d3e87eb83',
    'Stripe Refund Requester',
    "Users who may ask for a refund from a payment, for a Stripe payment page of a quote, order or invoice, for a Stripe subscription to be created or changed, or for a charge of a customer's saved payment method; they see their own requests.",
    [
      ...each(SYNCED, ['Read']),
      ...each(['stc_payment', 'stc_subscription', 'stc_subscriptionitem'], ['Read', 'AppendTo']),
      ...each(REQUESTS, ['Create', 'Read', 'Append'], 'Basic'),
      // AppendTo: a subscription request names the customer, and the product, it is about; a payment link or
      // charge request names the quote, order or invoice it is for. Sales records at Basic depth: which of
      // them a user may name is what their own Sales roles let them append to.
      ...each(SALES, ['Read', 'AppendTo'], STANDARD_SALES_DEPTH),
      ...each(['product'], ['Read', 'AppendTo']),
    ],
  ),
];
