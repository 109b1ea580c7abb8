/**
 * Who is calling. `none`: loopback callers are let in without a token, as the sandbox's default user.
 * `entra`: a bearer JWT signed by the local Entra ID token endpoint (RS256, checked with jose against the
 * given JWKS, issuer, audience and expiry); its `oid` or `appid`/`azp` is mapped to a systemuser, as Dataverse
 * maps an application user. `MSCRMCallerID` (a systemuserid) or `CallerObjectId` (an Entra object id)
 * impersonates another user, as in Dataverse.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { DataverseHttpError } from './errors';

export type AuthOptions =
  { mode: 'none' } | { mode: 'entra'; issuer: string; audience: string | string[]; jwks: JSONWebKeySet };

export interface SystemUser {
  systemuserid: string;
  fullname: string;
  /** Entra application (client) id, for application users. */
  applicationid?: string;
  /** Entra object id of the user or of the application's service principal. */
  azureactivedirectoryobjectid?: string;
  /** Security role names, for scenarios that check them. */
  roles?: string[];
  isdisabled?: boolean;
}

export const SANDBOX_ADMIN: SystemUser = {
  systemuserid: '5b0b3a4e-1f0e-4c1a-9a52-6f1d2c3b4a01',
  fullname: 'Sandbox Administrator',
  roles: ['System Administrator'],
};

export interface AuthenticatedCaller {
  userId: string;
  initiatingUserId: string;
  /** The key service protection limits are counted under. */
  limitKey: string;
}

export interface UserDirectory {
  byId(id: string): SystemUser | undefined;
  byObjectId(oid: string): SystemUser | undefined;
  byApplicationId(appid: string): SystemUser | undefined;
  defaultUser(): SystemUser;
}

const unauthorized = (detail: string, options: AuthOptions) => {
  const challenge =
    options.mode === 'entra'
      ? `Bearer authorization_uri=${options.issuer.replace(/\/v2\.0\/?$/, '')}/oauth2/authorize, resource_id=${
          Array.isArray(options.audience) ? options.audience[0] : options.audience
        }`
      : 'Bearer';
  return new DataverseHttpError(401, '0x80072243', detail, { 'WWW-Authenticate': challenge });
};

export function isLoopback(address: string | undefined): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::1' ||
    address === '::ffff:127.0.0.1' ||
    !!address?.startsWith('127.')
  );
}

export class Authenticator {
  private readonly keySet?: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly options: AuthOptions,
    private readonly users: UserDirectory,
  ) {
    if (options.mode === 'entra') this.keySet = createLocalJWKSet(options.jwks);
  }

  async authenticate(
    headers: Record<string, string | undefined>,
    remoteAddress: string | undefined,
  ): Promise<AuthenticatedCaller> {
    let user: SystemUser;
    if (this.options.mode === 'none') {
      if (!isLoopback(remoteAddress))
        throw unauthorized('Only loopback callers are let in without a token.', this.options);
      user = this.users.defaultUser();
    } else {
      const header = headers.authorization;
      const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
      if (!m) throw unauthorized('The request has no bearer token.', this.options);
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(m[1], this.keySet!, {
          issuer: this.options.issuer,
          audience: this.options.audience,
          algorithms: ['RS256'],
        }));
      } catch (error) {
        throw unauthorized(`The bearer token was refused: ${(error as Error).message}`, this.options);
      }
      const oid = typeof claims.oid === 'string' ? claims.oid : undefined;
      const appid =
        typeof claims.appid === 'string'
          ? claims.appid
          : typeof claims.azp === 'string'
            ? claims.azp
            : undefined;
      const found =
        (oid && this.users.byObjectId(oid)) || (appid && this.users.byApplicationId(appid)) || undefined;
      if (!found) {
        throw new DataverseHttpError(
          403,
          '0x80072560',
          `The user is not a member of the organization. No systemuser has object id ${oid ?? '(none)'} or application id ${appid ?? '(none)'}.`,
        );
      }
      user = found;
    }
    if (user.isdisabled)
      throw new DataverseHttpError(
        403,
        '0x8004ac7b',
        `The user with SystemUserId=${user.systemuserid} is disabled.`,
      );

    let effective = user;
    const callerId = headers.mscrmcallerid;
    const callerObjectId = headers.callerobjectid;
    if (callerId || callerObjectId) {
      const impersonated = callerId
        ? this.users.byId(callerId.toLowerCase())
        : this.users.byObjectId(callerObjectId!.toLowerCase());
      if (!impersonated) {
        throw new DataverseHttpError(
          404,
          '0x80040217',
          `systemuser With Id = ${callerId ?? callerObjectId} Does Not Exist`,
        );
      }
      effective = impersonated;
    }
    return {
      userId: effective.systemuserid,
      initiatingUserId: user.systemuserid,
      limitKey: user.systemuserid,
    };
  }
}
