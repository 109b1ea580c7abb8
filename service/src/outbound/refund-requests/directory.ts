/**
 * What the refund policy reads from Dataverse besides the request: the roles a user holds, the approval
 * threshold (the solution's environment variable), and the service's own user id (for the loop guard).
 * Roles are always read from Dataverse, never taken from the request: a row's body is the user's to write.
 */
import type { DataverseClient, Row } from '../../dataverse/types';
import type { HandlerLogger } from '../../pipeline/handler';
import { isGuid, type OutboundSettings } from '../../config/outbound';

export const APPROVAL_THRESHOLD_VARIABLE = 'stc_RefundApprovalThreshold';

/** Names of the security roles the user holds directly (`systemuserroles` ⋈ `roles`). */
export async function rolesOf(dataverse: DataverseClient, userId: string): Promise<string[]> {
  if (!isGuid(userId)) return [];
  const links = await dataverse.retrieveMultiple('systemuserrolescollection', {
    select: ['roleid'],
    filter: `systemuserid eq ${userId}`,
  });
  const roleIds = links.map((link) => link.roleid).filter(isGuid);
  if (roleIds.length === 0) return [];
  const roles = await dataverse.retrieveMultiple('roles', {
    select: ['name'],
    filter: roleIds.map((id) => `roleid eq ${id}`).join(' or '),
  });
  return roles.map((role) => String(role.name ?? ''));
}

export interface ApprovalThreshold {
  /** Major units of the payment's currency. */
  value: number;
  source: 'dataverse' | 'config';
}

/**
 * The approval threshold: the environment variable's current value in Dataverse (its value row, else its
 * default), or the configured fallback when Dataverse has no such variable (or the environment does not
 * serve environment variables, like the local emulator). Kept for `settingsCacheMs`.
 */
export function approvalThresholdReader(
  settings: Pick<OutboundSettings, 'approvalThreshold' | 'settingsCacheMs'>,
  now: () => number = Date.now,
): (dataverse: DataverseClient, log: HandlerLogger) => Promise<ApprovalThreshold> {
  let cached: { threshold: ApprovalThreshold; atMs: number } | undefined;
  return async (dataverse, log) => {
    if (cached && now() - cached.atMs < settings.settingsCacheMs) return cached.threshold;
    const threshold = (await thresholdFromDataverse(dataverse, log)) ?? {
      value: settings.approvalThreshold,
      source: 'config' as const,
    };
    cached = { threshold, atMs: now() };
    return threshold;
  };
}

async function thresholdFromDataverse(
  dataverse: DataverseClient,
  log: HandlerLogger,
): Promise<ApprovalThreshold | null> {
  let definitions: Row[];
  try {
    definitions = await dataverse.retrieveMultiple('environmentvariabledefinitions', {
      select: ['environmentvariabledefinitionid', 'defaultvalue'],
      filter: `schemaname eq '${APPROVAL_THRESHOLD_VARIABLE}'`,
      top: 1,
    });
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
  const definition = definitions[0];
  if (!definition) return null;
  let text = definition.defaultvalue;
  if (isGuid(definition.environmentvariabledefinitionid)) {
    const values = await dataverse.retrieveMultiple('environmentvariablevalues', {
      select: ['value'],
      filter: `_environmentvariabledefinitionid_value eq ${definition.environmentvariabledefinitionid}`,
      top: 1,
    });
    if (values[0]?.value !== undefined && values[0]?.value !== null && values[0]?.value !== '')
      text = values[0].value;
  }
  const value = Number(text);
  if (text === null || text === undefined || text === '' || !Number.isFinite(value) || value < 0) {
    log.warn(
      { variable: APPROVAL_THRESHOLD_VARIABLE, value: text },
      'the approval threshold in Dataverse is not a number; using the configured one',
    );
    return null;
  }
  return { value, source: 'dataverse' };
}

/**
 * The service's own systemuserid, found once: DATAVERSE_SERVICE_USER_ID, else the application user whose
 * `applicationid` is the service's Entra client id, else WhoAmI when the client offers it. Null (with one
 * warning) when none works: the handlers then rely on their second guards (request states, no-op updates).
 */
export function serviceUserResolver(
  settings: Pick<OutboundSettings, 'serviceUserId' | 'serviceApplicationId'>,
): (dataverse: DataverseClient, log: HandlerLogger) => Promise<string | null> {
  let found: Promise<string | null> | undefined;
  return (dataverse, log) => {
    found ??= resolve(dataverse, log).catch((error) => {
      found = undefined;
      throw error;
    });
    return found;
  };

  async function resolve(dataverse: DataverseClient, log: HandlerLogger): Promise<string | null> {
    if (settings.serviceUserId) return settings.serviceUserId.toLowerCase();
    if (settings.serviceApplicationId && isGuid(settings.serviceApplicationId)) {
      const users = await dataverse.retrieveMultiple('systemusers', {
        select: ['systemuserid'],
        filter: `applicationid eq ${settings.serviceApplicationId}`,
        top: 1,
      });
      if (isGuid(users[0]?.systemuserid)) return users[0].systemuserid.toLowerCase();
    }
    const whoAmI = (dataverse as { whoAmI?: () => Promise<{ UserId?: string }> }).whoAmI;
    if (typeof whoAmI === 'function') {
      const me = await whoAmI.call(dataverse);
      if (isGuid(me.UserId)) return me.UserId.toLowerCase();
    }
    log.warn(
      {},
      "the service's own Dataverse user is unknown (set DATAVERSE_SERVICE_USER_ID): its writes cannot be told apart from users'",
    );
    return null;
  }
}
