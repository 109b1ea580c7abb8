/**
 * Settings of the Dataverse → Stripe handlers, read once from the environment with the rest of the
 * configuration and validated, so that a wrong value stops the service at start with the variable's name
 * rather than at the first refund. The handlers take them from the config object, never from the environment.
 */
import { z } from 'zod';
import { DEFAULT_CHARGE_APPROVAL_THRESHOLDS, DEFAULT_REFUND_APPROVAL_THRESHOLDS } from '@stc/solution';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const optional = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const roleList = (fallback: string) =>
  optional.default(fallback).transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

export const STRIPE_MODES = ['test', 'live'] as const;
export type StripeMode = (typeof STRIPE_MODES)[number];

/** The mode of a secret or restricted key by its prefix, or undefined when it is neither. */
export function stripeKeyMode(key: string): StripeMode | undefined {
  const match = /^(?:sk|rk)_(test|live)_/.exec(key.trim());
  return match ? (match[1] as StripeMode) : undefined;
}

/** What Stripe does with a paused subscription's invoices (`pause_collection.behavior`). */
export const PAUSE_BEHAVIORS = ['void', 'keep_as_draft', 'mark_uncollectible'] as const;
export type PauseBehavior = (typeof PAUSE_BEHAVIORS)[number];

/** A JSON object of currency codes to minor units, refused as a whole with the variable's name when malformed. */
const thresholdsVariable = (name: string) =>
  optional.pipe(
    z
      .string()
      .transform((text, ctx) => {
        const read = parseApprovalThresholds(text);
        if ('thresholds' in read) return read.thresholds;
        ctx.addIssue({ code: 'custom', message: `${name}: ${read.problem}` });
        return z.NEVER;
      })
      .optional(),
  );

const envSchema = z.object({
  // Required by the service's configuration (index.ts); handlers built without configuration serve test mode.
  STRIPE_MODE: optional
    .default('test')
    .pipe(z.enum(STRIPE_MODES, { error: 'STRIPE_MODE must be test or live' })),
  DATAVERSE_SERVICE_USER_ID: optional.pipe(
    z.string().regex(GUID, { error: 'DATAVERSE_SERVICE_USER_ID must be a systemuserid (GUID)' }).optional(),
  ),
  AZURE_CLIENT_ID: optional,
  REFUND_APPROVAL_THRESHOLD: optional.pipe(
    z
      .undefined({
        error:
          'REFUND_APPROVAL_THRESHOLD is no longer read: set REFUND_APPROVAL_THRESHOLDS, a JSON object of currency codes to minor units, e.g. {"usd":50000,"jpy":75000}',
      })
      .optional(),
  ),
  REFUND_APPROVAL_THRESHOLDS: thresholdsVariable('REFUND_APPROVAL_THRESHOLDS'),
  CHARGE_APPROVAL_THRESHOLDS: thresholdsVariable('CHARGE_APPROVAL_THRESHOLDS'),
  CHARGE_REQUESTER_ROLES: roleList('Stripe Refund Requester,Stripe Finance Approver'),
  CHARGE_APPROVER_ROLES: roleList('Stripe Finance Approver'),
  REFUND_REQUESTER_ROLES: roleList('Stripe Refund Requester,Stripe Finance Approver'),
  REFUND_APPROVER_ROLES: roleList('Stripe Finance Approver'),
  PAYMENT_LINK_REQUESTER_ROLES: roleList('Stripe Refund Requester,Stripe Finance Approver'),
  PAYMENT_LINK_SUCCESS_URL: optional.pipe(
    z.url({ error: 'PAYMENT_LINK_SUCCESS_URL must be an absolute URL (https://…)' }).optional(),
  ),
  SUBSCRIPTION_REQUESTER_ROLES: roleList('Stripe Refund Requester,Stripe Finance Approver'),
  SUBSCRIPTION_PAUSE_BEHAVIOR: optional.default('void').pipe(
    z.enum(PAUSE_BEHAVIORS, {
      error: `SUBSCRIPTION_PAUSE_BEHAVIOR must be one of ${PAUSE_BEHAVIORS.join(', ')}`,
    }),
  ),
  REFUND_ALLOW_SELF_APPROVAL: optional
    .default('false')
    .pipe(z.enum(['true', 'false'], { error: 'REFUND_ALLOW_SELF_APPROVAL must be true or false' })),
  REFUND_SETTINGS_CACHE_SECONDS: optional
    .default('60')
    .pipe(
      z
        .string()
        .regex(/^\d+$/, { error: 'REFUND_SETTINGS_CACHE_SECONDS must be a whole number of seconds' })
        .transform(Number),
    ),
});

/** Approval thresholds in minor units of each currency, by lower-case ISO currency code. */
export type ApprovalThresholds = Readonly<Record<string, number>>;

/**
 * The solution's default for `stc_RefundApprovalThresholds` (solution/src/components/environmentVariables.ts),
 * used only when neither Dataverse nor REFUND_APPROVAL_THRESHOLDS gives one.
 */
export const DEFAULT_APPROVAL_THRESHOLDS: ApprovalThresholds = DEFAULT_REFUND_APPROVAL_THRESHOLDS;

/**
 * Reads approval thresholds written as JSON, `{"usd":50000,"jpy":75000}`: an object whose keys are lower-case
 * 3-letter currency codes and whose values are whole numbers of at least 0 in that currency's minor units.
 * Anything else is refused as a whole, with the problem in words, never read as a partly right set.
 */
export function parseApprovalThresholds(
  text: string,
): { thresholds: ApprovalThresholds } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: `${JSON.stringify(text)} is not JSON` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: 'must be a JSON object of currency codes to amounts in minor units' };
  }
  const thresholds: Record<string, number> = {};
  for (const [code, amount] of Object.entries(value)) {
    if (!/^[a-z]{3}$/.test(code)) {
      return { problem: `${JSON.stringify(code)} is not a lower-case 3-letter ISO currency code` };
    }
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
      return {
        problem: `the threshold for ${code} must be a whole number of at least 0 in minor units, not ${JSON.stringify(amount)}`,
      };
    }
    thresholds[code] = amount;
  }
  return { thresholds };
}

export interface OutboundSettings {
  /** The Stripe mode the service serves (STRIPE_MODE): requests about payments of the other are refused. */
  stripeMode: StripeMode;
  /** The service's own application user; its writes are never echoed back. */
  serviceUserId?: string;
  /** Entra client id of the service, to find its application user when serviceUserId is not set. */
  serviceApplicationId?: string;
  /** Thresholds (minor units by currency) when Dataverse gives none that is valid. */
  approvalThresholds: ApprovalThresholds;
  /** Roles (by name, as read from Dataverse) whose holders may ask for a refund. */
  requesterRoles: string[];
  /** Roles whose holders may approve a request above the threshold. */
  approverRoles: string[];
  /** Whether a finance approver may approve their own request. */
  allowSelfApproval: boolean;
  /** Roles whose holders may ask for a Stripe payment page of an order or invoice; default as for refunds. */
  paymentLinkRequesterRoles?: string[];
  /** Where a payer lands after paying on a payment page; unset: Stripe's own confirmation page. */
  paymentLinkSuccessUrl?: string;
  /** Roles whose holders may ask for a Stripe subscription to be created or changed; default as for refunds. */
  subscriptionRequesterRoles?: string[];
  /** What Stripe does with the invoices of a subscription whose collection a request pauses; default void. */
  subscriptionPauseBehavior?: PauseBehavior;
  /** Thresholds (minor units by currency) of charge requests when Dataverse gives none that is valid. */
  chargeApprovalThresholds?: ApprovalThresholds;
  /** Roles whose holders may ask for an off-session charge of a customer's saved payment method. */
  chargeRequesterRoles?: string[];
  /** Roles whose holders may approve a charge request above its currency's threshold. */
  chargeApproverRoles?: string[];
  /** How long the thresholds read from Dataverse are kept. */
  settingsCacheMs: number;
}

export class OutboundSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid refund/customer sync configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'OutboundSettingsError';
  }
}

export function readOutboundSettings(env: NodeJS.ProcessEnv): OutboundSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new OutboundSettingsError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '');
        return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    stripeMode: e.STRIPE_MODE,
    serviceUserId: e.DATAVERSE_SERVICE_USER_ID?.toLowerCase(),
    serviceApplicationId: e.AZURE_CLIENT_ID,
    approvalThresholds: e.REFUND_APPROVAL_THRESHOLDS ?? DEFAULT_APPROVAL_THRESHOLDS,
    requesterRoles: e.REFUND_REQUESTER_ROLES,
    approverRoles: e.REFUND_APPROVER_ROLES,
    allowSelfApproval: e.REFUND_ALLOW_SELF_APPROVAL === 'true',
    paymentLinkRequesterRoles: e.PAYMENT_LINK_REQUESTER_ROLES,
    paymentLinkSuccessUrl: e.PAYMENT_LINK_SUCCESS_URL,
    subscriptionRequesterRoles: e.SUBSCRIPTION_REQUESTER_ROLES,
    subscriptionPauseBehavior: e.SUBSCRIPTION_PAUSE_BEHAVIOR,
    chargeApprovalThresholds: e.CHARGE_APPROVAL_THRESHOLDS ?? DEFAULT_CHARGE_APPROVAL_THRESHOLDS,
    chargeRequesterRoles: e.CHARGE_REQUESTER_ROLES,
    chargeApproverRoles: e.CHARGE_APPROVER_ROLES,
    settingsCacheMs: e.REFUND_SETTINGS_CACHE_SECONDS * 1000,
  };
}

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** The documented defaults, for handlers built without configuration (tests, routing-only uses). */
export const DEFAULT_OUTBOUND_SETTINGS: OutboundSettings = readOutboundSettings({});
