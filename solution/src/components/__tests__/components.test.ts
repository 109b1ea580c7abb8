import {
  environmentVariables,
  getColumn,
  getTable,
  securityRoles,
  serviceEndpoint,
  webhookSteps,
} from '../..';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('solution components', () => {
  it('give roles, steps and the endpoint distinct fixed GUIDs', () => {
    const ids = [...securityRoles.map((r) => r.id), ...webhookSteps.map((s) => s.id), serviceEndpoint.id];
    for (const id of ids) expect(id).toMatch(GUID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('grant privileges only on tables of the model', () => {
    for (const role of securityRoles) {
      for (const grant of role.privileges)
        expect({ role: role.name, table: getTable(grant.table)?.logicalName }).toEqual({
          role: role.name,
          table: grant.table,
        });
    }
  });

  it("widen no user's access to sales records: the users' roles grant them at Basic depth only", () => {
    const sales = ['account', 'contact', 'quote', 'salesorder', 'invoice'];
    const users = securityRoles.filter((role) => role.name !== 'Stripe Connector Service');
    expect(users.map((role) => role.name).sort()).toEqual([
      'Stripe Finance Approver',
      'Stripe Payments Reader',
      'Stripe Refund Requester',
    ]);
    const deeper = users.flatMap((role) =>
      role.privileges
        .filter((grant) => sales.includes(grant.table) && grant.depth !== 'Basic')
        .map((grant) => `${role.name}: ${grant.table} at ${grant.depth}`),
    );
    expect(deeper).toEqual([]);
  });

  it('register steps on tables and filtering columns that exist', () => {
    for (const step of webhookSteps) {
      expect(getTable(step.table)).toBeDefined();
      for (const column of step.filteringAttributes ?? []) {
        expect({ step: step.name, column: getColumn(step.table, column)?.logicalName }).toEqual({
          step: step.name,
          column,
        });
      }
    }
  });

  it('name environment variables with the stc prefix and keep secrets out of them', () => {
    for (const variable of environmentVariables) {
      expect(variable.schemaName).toMatch(/^stc_[A-Za-z]+$/);
      expect(variable.schemaName.toLowerCase()).not.toMatch(/secret|key|password|token/);
    }
    expect(serviceEndpoint.url).toMatch(/\.invalid\//);
  });
});
