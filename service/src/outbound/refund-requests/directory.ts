/**
 * What the refund policy reads from Dataverse besides the request and the thresholds (thresholds.ts): the
 * roles a user holds and the service's own user id (for the loop guard).
 * Roles are always read from Dataverse, never taken from the request: a row's body is the user's to write.
 */
import type { DataverseClient } from '../../dataverse/types';
import type { HandlerLogger } from '../../pipeline/handler';
import { isGuid, type OutboundSettings } from '../../config/outbound';

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
