/** Privilege checks through `context.utils.hasEntityPrivilege`, with the platform's numeric codes named. */
export const Privilege = { Create: 1, Read: 2, Write: 3, Append: 7, AppendTo: 8 } as const;
/** Basic (user) depth: the least a user needs to act on rows they own. */
export const BASIC_DEPTH = 0;

type Utils = Pick<ComponentFramework.Utility, 'hasEntityPrivilege'>;

export function hasPrivileges(
  utils: Utils,
  checks: Array<[table: string, privilege: keyof typeof Privilege]>,
): boolean {
  return checks.every(([table, privilege]) =>
    utils.hasEntityPrivilege(
      table,
      Privilege[privilege] as ComponentFramework.PropertyHelper.Types.PrivilegeType,
      BASIC_DEPTH,
    ),
  );
}
