/**
 * The deployment files, checked for what can be checked without Docker: the Dockerfile's runtime stage, and
 * docker-compose.yml with its example settings (deploy/compose.env.example) against the variables the
 * service's configuration accepts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '@stc/service';
import { CONFIG_VARIABLES } from '@stc/service/src/config';
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
