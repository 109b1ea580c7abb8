/**
 * The environment's system users, kept as `systemuser` rows (and their roles as rows of `roles` and
 * `systemuserrolescollection` when the model serves them); the authenticator looks callers up here.
 */
import type { SystemUser, UserDirectory } from './auth';
import { SANDBOX_ADMIN } from './auth';
import type { DataverseEngine, WriteScope } from './engine';
import type { ModelIndex } from './metadata';
import type { RowStore } from './store';

export class SystemUsers implements UserDirectory {
  private readonly roles = new Map<string, string[]>();

  constructor(
    private readonly index: ModelIndex,
    private readonly store: RowStore,
    private readonly engine: DataverseEngine,
    /** The users seeded on start and reset; the first is the default caller. */
    readonly seed: SystemUser[],
  ) {}

  /** Creates or updates the user's row and its role rows within the scope. */
  write(user: SystemUser, scope: WriteScope): void {
    const id = user.systemuserid.toLowerCase();
    this.roles.set(id, user.roles ?? []);
    const payload: Record<string, unknown> = {
      fullname: user.fullname,
      isdisabled: user.isdisabled ?? false,
    };
    if (user.applicationid) payload.applicationid = user.applicationid;
    if (user.azureactivedirectoryobjectid)
      payload.azureactivedirectoryobjectid = user.azureactivedirectoryobjectid;
    const userMeta = this.index.byLogical.get('systemuser')!;
    const existing = this.store.get('systemuser', id);
    if (existing) this.engine.update(userMeta, existing, payload, scope);
    else this.engine.create(userMeta, payload, scope, id);
    this.assignRoles(id, user.roles ?? [], scope);
  }

  private assignRoles(userId: string, names: string[], scope: WriteScope): void {
    const roleMeta = this.index.byLogical.get('role');
    const userRoleMeta = this.index.byLogical.get('systemuserroles');
    if (!roleMeta || !userRoleMeta) return;
    for (const row of [...this.store.rows('systemuserroles')]) {
      if (row.values.systemuserid === userId) this.engine.delete(userRoleMeta, row, scope);
    }
    for (const name of names) {
      const role =
        [...this.store.rows('role')].find((r) => r.values.name === name) ??
        this.engine.create(roleMeta, { name }, scope);
      this.engine.create(userRoleMeta, { systemuserid: userId, roleid: role.id }, scope);
    }
  }

  private fromRow(id: string): SystemUser | undefined {
    const row = this.store.get('systemuser', id);
    if (!row) return undefined;
    return {
      systemuserid: row.id,
      fullname: String(row.values.fullname ?? ''),
      applicationid: row.values.applicationid as string | undefined,
      azureactivedirectoryobjectid: row.values.azureactivedirectoryobjectid as string | undefined,
      isdisabled: row.values.isdisabled === true,
      roles: this.roles.get(row.id) ?? [],
    };
  }

  private find(column: string, value: string): SystemUser | undefined {
    const v = value.toLowerCase();
    for (const row of this.store.rows('systemuser'))
      if (String(row.values[column] ?? '').toLowerCase() === v) return this.fromRow(row.id);
    return undefined;
  }

  byId(id: string): SystemUser | undefined {
    return this.fromRow(id.toLowerCase());
  }

  byObjectId(oid: string): SystemUser | undefined {
    return this.find('azureactivedirectoryobjectid', oid);
  }

  byApplicationId(appid: string): SystemUser | undefined {
    return this.find('applicationid', appid);
  }

  defaultUser(): SystemUser {
    return this.fromRow(this.seed[0].systemuserid.toLowerCase()) ?? SANDBOX_ADMIN;
  }
}
