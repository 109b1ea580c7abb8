/**
 * What one `npm run sandbox` shares between its parts: the folder under `data/` that holds this run's files
 * (service store, log, credentials for scripts), the users of the Dataverse environment, and secrets made
 * fresh for the run (never printed).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SANDBOX_ADMIN, type SystemUser } from '@stc/emulators';

/** Entra application (client) ids of the sandbox's two app registrations; their secrets are made per run. */
export const SERVICE_CLIENT_ID = '3f0d5c2a-7b1e-4c9d-8a6f-2e4b1c0d9a71';
export const SCRIPTS_CLIENT_ID = '3f0d5c2a-7b1e-4c9d-8a6f-2e4b1c0d9a72';

/**
 * The environment's users. The service's application user comes first: it is also the caller when
 * `--dataverse-auth none` lets loopback callers in without a token, so the service's own writes stay its own
 * (the loop guard compares the writer with DATAVERSE_SERVICE_USER_ID).
 */
export const SANDBOX_USERS = {
  service: {
    systemuserid: '5a9d1f00-0000-4000-8000-00000000a001',
    fullname: 'Stripe Connector Service',
    applicationid: SERVICE_CLIENT_ID,
    azureactivedirectoryobjectid: '5a9d1f00-0000-4000-8000-00000000b001',
    roles: ['Stripe Connector Service'],
  },
  /** The app user scripts (the scenario, checks) act as, impersonating people with MSCRMCallerID. */
  scripts: {
    systemuserid: SANDBOX_ADMIN.systemuserid,
    fullname: 'Sandbox Scripts',
    applicationid: SCRIPTS_CLIENT_ID,
    azureactivedirectoryobjectid: '5a9d1f00-0000-4000-8000-00000000b002',
    roles: ['System Administrator'],
  },
  requester: {
    systemuserid: '5a9d1f00-0000-4000-8000-00000000a003',
    fullname: 'Rita Requester',
    roles: ['Stripe Refund Requester'],
  },
  approver: {
    systemuserid: '5a9d1f00-0000-4000-8000-00000000a004',
    fullname: 'Frank Finance',
    roles: ['Stripe Finance Approver'],
  },
  seller: {
    systemuserid: '5a9d1f00-0000-4000-8000-00000000a005',
    fullname: 'Sam Seller',
    roles: ['Salesperson'],
  },
} satisfies Record<string, SystemUser>;

export interface SandboxSecrets {
  /** `whsec_…`; the caller's STRIPE_WEBHOOK_SECRET (comma-separated during rotation) when set. */
  stripeWebhookSecrets: string[];
  dataverseWebhookKey: string;
  dataverseWebhookHeader: string;
  adminApiKey: string;
  serviceClientSecret: string;
  scriptsClientSecret: string;
}

export interface SandboxRun {
  /** Absolute folder of this run's files, e.g. `<repo>/data/sandbox/run-20261127-120000-4242/`. */
  dir: string;
  /** `dir` relative to the working directory, for messages. */
  displayDir: string;
  secrets: SandboxSecrets;
  users: typeof SANDBOX_USERS;
}

const secret = (bytes = 24) => randomBytes(bytes).toString('base64url');

export function stripeWebhookSecrets(env: NodeJS.ProcessEnv): string[] {
  const given = (env.STRIPE_WEBHOOK_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return given.length > 0 ? given : [`whsec_${secret()}`];
}

/** Runs keep their folder (logs to read afterwards); only the newest few are kept. */
const RUNS_KEPT = 10;

export function createRun(dataDir: string, env: NodeJS.ProcessEnv = process.env): SandboxRun {
  const root = path.resolve(dataDir, 'sandbox');
  fs.mkdirSync(root, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const dir = path.join(root, `run-${stamp}-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  pruneRuns(root, dir);
  return {
    dir,
    displayDir: path.relative(process.cwd(), dir) || '.',
    secrets: {
      stripeWebhookSecrets: stripeWebhookSecrets(env),
      dataverseWebhookKey: secret(),
      dataverseWebhookHeader: 'x-stc-webhook-key',
      adminApiKey: secret(),
      serviceClientSecret: secret(),
      scriptsClientSecret: secret(),
    },
    users: SANDBOX_USERS,
  };
}

function pruneRuns(root: string, current: string): void {
  const runs = fs
    .readdirSync(root)
    .filter((name) => name.startsWith('run-'))
    .map((name) => path.join(root, name))
    .filter((dir) => dir !== current && !runIsAlive(dir))
    .sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - (RUNS_KEPT - 1)))) {
    fs.rmSync(old, { recursive: true, force: true });
  }
}

/** A run folder whose sandbox process still runs (its pid ends the name) is never pruned. */
function runIsAlive(dir: string): boolean {
  const pid = Number(/-(\d+)$/.exec(dir)?.[1]);
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port free right now on 127.0.0.1 (for a part whose URL must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
