/**
 * Settings of the Dataverse → Stripe handlers, read once from the environment with the rest of the
 * configuration and validated, so that a wrong value stops the service at start with the variable's name
 * rather than at the first refund. The handlers take them from the config object, never from the environment.
 */
import { z } from 'zod';

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

const envSchema = z.object({
  DATAVERSE_SERVICE_USER_ID: optional.pipe(
    z.string().regex(GUID, { error: 'DATAVERSE_SERVICE_USER_ID must be a systemuserid (GUID)' }).optional(),
  ),
  AZURE_CLIENT_ID: optional,
  REFUND_APPROVAL_THRESHOLD: optional.pipe(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, {
        error: 'REFUND_APPROVAL_THRESHOLD must be a number of at least 0 (major units, e.g. 500)',
      })
      .transform(Number)
      .optional(),
  ),
  REFUND_REQUESTER_ROLES: roleList('Stripe Refund Requester,Stripe Finance Approver'),
  REFUND_APPROVER_ROLES: roleList('Stripe Finance Approver'),
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

/**
 * The solution's default for `stc_RefundApprovalThreshold` (solution/src/components/environmentVariables.ts),
 * used only when neither Dataverse nor REFUND_APPROVAL_THRESHOLD gives one.
 */
export const DEFAULT_APPROVAL_THRESHOLD = 500;

export interface OutboundSettings {
  /** The service's own application user; its writes are never echoed back. */
  serviceUserId?: string;
  /** Entra client id of the service, to find its application user when serviceUserId is not set. */
  serviceApplicationId?: string;
  /** Threshold in major units when Dataverse has no `stc_RefundApprovalThreshold` value. */
  approvalThreshold: number;
  /** Roles (by name, as read from Dataverse) whose holders may ask for a refund. */
  requesterRoles: string[];
  /** Roles whose holders may approve a request above the threshold. */
  approverRoles: string[];
  /** Whether a finance approver may approve their own request. */
  allowSelfApproval: boolean;
  /** How long the threshold read from Dataverse is kept. */
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
    serviceUserId: e.DATAVERSE_SERVICE_USER_ID?.toLowerCase(),
    serviceApplicationId: e.AZURE_CLIENT_ID,
    approvalThreshold: e.REFUND_APPROVAL_THRESHOLD ?? DEFAULT_APPROVAL_THRESHOLD,
    requesterRoles: e.REFUND_REQUESTER_ROLES,
    approverRoles: e.REFUND_APPROVER_ROLES,
    allowSelfApproval: e.REFUND_ALLOW_SELF_APPROVAL === 'true',
    settingsCacheMs: e.REFUND_SETTINGS_CACHE_SECONDS * 1000,
  };
}

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** The documented defaults, for handlers built without configuration (tests, routing-only uses). */
export const DEFAULT_OUTBOUND_SETTINGS: OutboundSettings = readOutboundSettings({});
