/**
 * The deployment files, checked for what can be checked without Docker or a Bicep compiler: the Dockerfile's
 * runtime stage, docker-compose.yml with its example settings (deploy/compose.env.example), and the Azure
 * template deploy/azure/main.bicep with its example parameters, against the variables the service's
 * configuration accepts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '@stc/service';
import { CONFIG_VARIABLES } from '@stc/service/src/config';
import { declarations, declaredNames, literal, objectsIn, property, references, stringsIn } from './bicep';
import {
  argsOf,
  envOf,
  execForm,
  healthcheckCommand,
  onlyArgsOf,
  readDockerfile,
  stageNamed,
} from './dockerfile';

const REPO = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(REPO, file), 'utf8');

/** The variables set by an env file (`NAME=value` lines; comments and blank lines aside). */
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]),
  );
}

/** `${NAME}`, `${NAME:?message}`, `${NAME:-default}` of a compose file, replaced by the variables' values. */
function interpolate(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[?-][^}]*)?\}/g, (_, name: string) => {
    if (!(name in variables)) throw new Error(`\${${name}} has no value`);
    return variables[name]!;
  });
}

/** The variables the configuration requires when nothing is set, by the names in its error. */
function requiredVariables(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.flatMap((problem) => /^([A-Z_]+) is required\b/.exec(problem)?.[1] ?? []);
  }
}

describe('Dockerfile', () => {
  const image = readDockerfile();
  const runtime = stageNamed(image, 'runtime');

  test('builds on node:20-bookworm and runs on node:20-bookworm-slim', () => {
    expect(image.map((stage) => [stage.name, stage.base])).toEqual([
      ['build', 'node:20-bookworm'],
      ['deps', 'node:20-bookworm'],
      ['runtime', 'node:20-bookworm-slim'],
    ]);
  });

  test('runs as the non-root node user, with the SQLite folder its own and a volume', () => {
    expect(onlyArgsOf(runtime, 'USER')).toBe('node');
    expect(argsOf(runtime, 'RUN')).toContain('mkdir -p /app/data && chown node:node /app/data');
    expect(execForm(onlyArgsOf(runtime, 'VOLUME'))).toEqual(['/app/data']);
    expect(envOf(runtime)).toMatchObject({ NODE_ENV: 'production' });
  });

  test('exposes port 3000, checks /healthz and starts node itself (exec form)', () => {
    expect(onlyArgsOf(runtime, 'EXPOSE')).toBe('3000');
    const healthcheck = healthcheckCommand(onlyArgsOf(runtime, 'HEALTHCHECK'));
    expect(healthcheck.slice(0, 2)).toEqual(['node', '-e']);
    expect(healthcheck[2]).toContain("fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz'");
    expect(execForm(onlyArgsOf(runtime, 'CMD'))).toEqual([
      'node',
      '--enable-source-maps',
      'service/dist/main.js',
    ]);
  });
});

describe('docker-compose.yml', () => {
  interface ComposeService {
    build?: string;
    image?: string;
    env_file?: string;
    environment?: Record<string, string>;
    ports?: string[];
    depends_on?: Record<string, { condition: string }>;
    volumes?: string[];
    healthcheck?: { test: string[] };
  }
  const example = envFile(read('deploy/compose.env.example'));
  const compose = parseYaml(interpolate(read('docker-compose.yml'), example)) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const { connector, postgres } = compose.services as Record<string, ComposeService>;

  test('builds the connector from the Dockerfile, with its settings from .env, on port 3000', () => {
    expect(connector).toMatchObject({ build: '.', env_file: '.env', ports: ['3000:3000'] });
  });

  test('runs PostgreSQL 16 on a volume, checked with pg_isready, and starts the connector once it is healthy', () => {
    expect(postgres!.image).toBe('postgres:16');
    expect(postgres!.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(Object.keys(compose.volumes)).toEqual(['postgres-data']);
    expect(postgres!.healthcheck!.test.join(' ')).toMatch(/pg_isready -U connector -d connector/);
    expect(connector!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  test("points the connector's DATABASE_URL at the postgres service's database", () => {
    const { POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB } = postgres!.environment!;
    expect(connector!.environment!.DATABASE_URL).toBe(
      `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/${POSTGRES_DB}`,
    );
  });

  test('sets only variables the service accepts', () => {
    expect(Object.keys(connector!.environment!).filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual(
      [],
    );
  });

  test('the example settings name only service variables or variables of the compose file', () => {
    const composeVariables = [...read('docker-compose.yml').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map(
      (match) => match[1]!,
    );
    expect(
      Object.keys(example).filter(
        (name) => !CONFIG_VARIABLES.includes(name) && !composeVariables.includes(name),
      ),
    ).toEqual([]);
  });

  test('the example settings list every required variable, as placeholders, and make a valid configuration', () => {
    const required = requiredVariables({ DATAVERSE_AUTH: example.DATAVERSE_AUTH });
    expect(required).toEqual(
      expect.arrayContaining(['STRIPE_API_KEY', 'DATAVERSE_URL', 'AZURE_CLIENT_SECRET']),
    );
    expect(required.filter((name) => !(name in example))).toEqual([]);
    const secrets = Object.keys(example).filter((name) => /KEY|SECRET|PASSWORD/.test(name));
    expect(secrets.filter((name) => !/replace/.test(example[name]!))).toEqual([]);
    expect(() => loadConfig({ ...example, ...connector!.environment })).not.toThrow();
  });
});

describe('deploy/azure/main.bicep', () => {
  const source = read('deploy/azure/main.bicep');
  const declared = declarations(source);
  const named = (name: string) => {
    const found = declared.find((d) => d.name === name);
    if (!found) throw new Error(`main.bicep declares no ${name}`);
    return found;
  };
  const ofType = (type: string) =>
    declared.filter((d) => d.kind === 'resource' && d.type.startsWith(`${type}@`));
  const params = declared.filter((d) => d.kind === 'param');
  const [app, ...otherApps] = ofType('Microsoft.App/containerApps');
  const [identity] = ofType('Microsoft.ManagedIdentity/userAssignedIdentities');
  const [keyVault] = ofType('Microsoft.KeyVault/vaults');
  const container = objectsIn(property(app!.text, 'containers')!)[0]!;
  const env = objectsIn(property(container, 'env')!).map((entry) => ({
    name: literal(property(entry, 'name'))!,
    value: property(entry, 'value'),
    secretRef: literal(property(entry, 'secretRef')),
  }));
  const keyVaultSecrets = stringsIn(named('keyVaultSecrets').text);

  test('declares one container app, one managed identity and one Key Vault', () => {
    expect([otherApps.length, Boolean(identity), Boolean(keyVault)]).toEqual([0, true, true]);
  });

  test('every parameter is declared with a description and used; every name used is declared', () => {
    const used = references(source);
    const declaredNamesOfTemplate = declaredNames(source);
    expect(params.filter((p) => !used.has(p.name)).map((p) => p.name)).toEqual([]);
    expect([...used].filter((name) => !declaredNamesOfTemplate.has(name))).toEqual([]);
    expect(params.filter((p) => !p.decorators.includes('description')).map((p) => p.name)).toEqual([]);
    expect(params.map((p) => p.name)).toEqual(expect.arrayContaining(['image', 'dataverseUrl', 'location']));
  });

  test('the example parameters name declared parameters, every one without a default, and no secure one', () => {
    const example = JSON.parse(read('deploy/azure/main.parameters.example.json')) as {
      parameters: Record<string, unknown>;
    };
    const names = Object.keys(example.parameters);
    const secure = params.filter((p) => p.decorators.includes('secure')).map((p) => p.name);
    expect(names.filter((name) => !params.some((p) => p.name === name))).toEqual([]);
    expect(
      params
        .filter((p) => !p.hasDefault && !secure.includes(p.name) && !names.includes(p.name))
        .map((p) => p.name),
    ).toEqual([]);
    expect(names.filter((name) => secure.includes(name))).toEqual([]);
    expect(secure).toEqual(['postgresAdministratorPassword']);
  });

  test('sets only variables the service accepts, each either a value or a secret reference', () => {
    expect(env.filter((e) => !CONFIG_VARIABLES.includes(e.name)).map((e) => e.name)).toEqual([]);
    expect(
      env.filter((e) => (e.value === undefined) === (e.secretRef === undefined)).map((e) => e.name),
    ).toEqual([]);
  });

  test('takes every secret from Key Vault through the managed identity, and writes none in the template', () => {
    const secretVariables = env.filter((e) => /KEY|SECRET|PASSWORD|DATABASE_URL/.test(e.name));
    expect(secretVariables.map((e) => [e.name, e.value])).toEqual(
      [
        'STRIPE_API_KEY',
        'STRIPE_WEBHOOK_SECRET',
        'DATAVERSE_WEBHOOK_KEY',
        'ADMIN_API_KEY',
        'DATABASE_URL',
      ].map((name) => [name, undefined]),
    );
    expect(secretVariables.map((e) => e.secretRef)).toEqual(keyVaultSecrets);
    expect(keyVaultSecrets).toEqual([
      'stripe-api-key',
      'stripe-webhook-secret',
      'dataverse-webhook-key',
      'admin-api-key',
      'database-url',
    ]);
    const secrets = property(app!.text, 'secrets')!;
    expect(secrets).toMatch(/^\[\s*for secretName in keyVaultSecrets: \{/);
    expect(property(secrets, 'name')).toBe('secretName');
    expect(property(secrets, 'keyVaultUrl')).toBe(
      `'\${${keyVault!.name}.properties.vaultUri}secrets/\${secretName}'`,
    );
    expect(property(secrets, 'identity')).toBe(`${identity!.name}.id`);
    expect(property(secrets, 'value')).toBeUndefined();
    expect(source).not.toMatch(/sk_(live|test)_|rk_(live|test)_|whsec_/);
  });

  test('signs in to Dataverse with the managed identity assigned to the app', () => {
    expect(property(property(app!.text, 'userAssignedIdentities')!, `\\$\\{${identity!.name}\\.id\\}`)).toBe(
      '{}',
    );
    const value = (name: string) => env.find((e) => e.name === name)?.value;
    expect([value('DATAVERSE_AUTH'), value('AZURE_CLIENT_ID')]).toEqual([
      "'managed-identity'",
      `${identity!.name}.properties.clientId`,
    ]);
  });

  test('lets the identity read the secrets of an RBAC Key Vault (Key Vault Secrets User)', () => {
    expect(property(keyVault!.text, 'enableRbacAuthorization')).toBe('true');
    const reader = ofType('Microsoft.Authorization/roleAssignments').find(
      (r) => property(r.text, 'principalId') === `${identity!.name}.properties.principalId`,
    );
    expect(property(reader!.text, 'scope')).toBe(keyVault!.name);
    const role = /roleDefinitions', (\w+)\)$/.exec(property(reader!.text, 'roleDefinitionId')!)![1]!;
    expect(named(role).text).toMatch(/= '4633458b-17de-408a-b874-0445c86b69e6'$/);
  });

  test('runs one replica at least, on https port 3000, probed on /healthz, with PostgreSQL 16 (B1ms)', () => {
    expect(named('port').text).toMatch(/= 3000$/);
    const ingress = property(app!.text, 'ingress')!;
    expect([
      property(ingress, 'external'),
      property(ingress, 'targetPort'),
      property(ingress, 'allowInsecure'),
    ]).toEqual(['true', 'port', 'false']);
    expect(property(property(app!.text, 'scale')!, 'minReplicas')).toBe('1');
    const probes = objectsIn(property(container, 'probes')!).map((probe) => [
      property(probe, 'type'),
      property(property(probe, 'httpGet')!, 'path'),
      property(property(probe, 'httpGet')!, 'port'),
    ]);
    expect(probes).toEqual([
      ["'Liveness'", "'/healthz'", 'port'],
      ["'Readiness'", "'/healthz'", 'port'],
    ]);
    const [postgres] = ofType('Microsoft.DBforPostgreSQL/flexibleServers');
    const sku = property(postgres!.text, 'sku')!;
    expect([property(sku, 'name'), property(sku, 'tier'), property(postgres!.text, 'version')]).toEqual([
      "'Standard_B1ms'",
      "'Burstable'",
      "'16'",
    ]);
    const [database] = ofType('Microsoft.DBforPostgreSQL/flexibleServers/databases');
    expect(property(database!.text, 'parent')).toBe(postgres!.name);
    expect(named(property(database!.text, 'name')!).text).toMatch(/= 'connector'$/);
    expect(ofType('Microsoft.App/managedEnvironments')[0]!.text).toContain("destination: 'log-analytics'");
  });
});
