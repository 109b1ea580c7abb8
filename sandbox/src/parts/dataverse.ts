/**
 * The Dataverse part: the emulator started as a new environment (the platform's tables only), then the
 * solution installed the way an administrator installs it: packed in memory from the sources as the build
 * packs it, sent with ImportSolution, and the import job read back to see that it completed.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { startDataverseEmulator } from '@stc/emulators';
import { collectSolutionFiles, zipFiles } from '@stc/solution/src/pack';
import type { SandboxPart } from '../cli';
import { requestToken } from './token';

const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Headers of a Web API call, with the bearer token when the emulator checks tokens. */
async function apiHeaders(token?: () => Promise<string>): Promise<Record<string, string>> {
  return {
    Accept: 'application/json',
    'Content-Type': 'application/json',
    'OData-MaxVersion': '4.0',
    'OData-Version': '4.0',
    ...(token ? { Authorization: `Bearer ${await token()}` } : {}),
  };
}

async function failure(response: Response): Promise<string> {
  const text = await response.text();
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    return text;
  }
}

/**
 * Packs the solution (managed) and imports it into the environment at `dataverseUrl`; answers its version
 * once the import job says it completed.
 */
export async function importSolution(dataverseUrl: string, token?: () => Promise<string>): Promise<string> {
  const solution = collectSolutionFiles({ repoRoot: REPO_ROOT });
  const zip = await zipFiles(solution.files(true));
  const importJobId = randomUUID();
  const imported = await fetch(new URL('ImportSolution', dataverseUrl), {
    method: 'POST',
    headers: await apiHeaders(token),
    body: JSON.stringify({
      CustomizationFile: zip.toString('base64'),
      OverwriteUnmanagedCustomizations: true,
      PublishWorkflows: true,
      ImportJobId: importJobId,
    }),
  });
  if (imported.status !== 204)
    throw new Error(`the solution import failed (${imported.status}): ${await failure(imported)}`);
  const job = await fetch(
    new URL(`importjobs(${importJobId})?$select=progress,completedon,data`, dataverseUrl),
    {
      headers: await apiHeaders(token),
    },
  );
  if (job.status !== 200)
    throw new Error(`the import job cannot be read (${job.status}): ${await failure(job)}`);
  const { progress, completedon, data } = (await job.json()) as {
    progress: number;
    completedon: string | null;
    data: string | null;
  };
  if (progress !== 100 || !completedon || !data?.includes('result="success"'))
    throw new Error(
      `the solution import did not complete (progress ${progress}): ${data ?? 'no import log'}`,
    );
  return solution.version;
}

/** A row created through the Web API; its id. */
async function createRow(
  dataverseUrl: string,
  entitySet: string,
  body: Record<string, unknown>,
  token?: () => Promise<string>,
): Promise<string> {
  const response = await fetch(new URL(entitySet, dataverseUrl), {
    method: 'POST',
    headers: await apiHeaders(token),
    body: JSON.stringify(body),
  });
  if (response.status !== 204)
    throw new Error(
      `cannot create the organization's ${entitySet} (${response.status}): ${await failure(response)}`,
    );
  return /\(([0-9a-f-]{36})\)$/.exec(response.headers.get('OData-EntityId') ?? '')![1];
}

/** Currencies of the scenario's payments, and their precision. */
const ORGANIZATION_CURRENCIES: Array<[string, string, string, number]> = [
  ['USD', 'US Dollar', '$', 2],
  ['EUR', 'Euro', '€', 2],
  ['JPY', 'Yen', '¥', 0],
  ['KWD', 'Kuwaiti Dinar', 'KD', 3],
];

/**
 * What a new Dynamics 365 Sales organization has before anyone uses it: its currencies and the unit group
 * "Default Unit" with the unit "Primary Unit", which new products take (and the catalog sync looks for).
 */
export async function seedOrganization(dataverseUrl: string, token?: () => Promise<string>): Promise<void> {
  for (const [code, name, symbol, precision] of ORGANIZATION_CURRENCIES)
    await createRow(
      dataverseUrl,
      'transactioncurrencies',
      {
        isocurrencycode: code,
        currencyname: name,
        currencysymbol: symbol,
        currencyprecision: precision,
        exchangerate: 1,
      },
      token,
    );
  const unitGroup = await createRow(
    dataverseUrl,
    'uomschedules',
    { name: 'Default Unit', baseuomname: 'Primary Unit' },
    token,
  );
  await createRow(
    dataverseUrl,
    'uoms',
    {
      name: 'Primary Unit',
      quantity: 1,
      isschedulebaseuom: true,
      'uomscheduleid@odata.bind': `/uomschedules(${unitGroup})`,
    },
    token,
  );
}

export const dataversePart: SandboxPart = {
  name: 'dataverse',
  async start(options, started, run) {
    const tokenPart = [...started.values()].find((p) => p.dataverseAuth);
    const tokenAuth = tokenPart?.dataverseAuth;
    if (options.dataverseAuth === 'entra' && !tokenAuth) {
      // No token endpoint part is running: say so rather than run without checks silently.
      console.error(
        'dataverse: no local Entra token endpoint is running; letting loopback callers in without a token',
      );
    }
    const emulator = await startDataverseEmulator({
      port: options.dataversePort,
      auth: options.dataverseAuth === 'entra' && tokenAuth ? tokenAuth : { mode: 'none' },
      // Dataverse's own numbers: 6,000 requests and 1,200 s of execution per 5 minutes, 52 at once.
      limits: { enabled: true },
      systemUsers: Object.values(run.users),
      withoutSolution: true,
    });
    const credentials = options.dataverseAuth === 'entra' ? tokenPart?.entra?.credentials : undefined;
    const token = credentials ? async () => (await requestToken(credentials)).token : undefined;
    try {
      await importSolution(emulator.url, token);
      await seedOrganization(emulator.url, token);
    } catch (error) {
      await emulator.close();
      throw new Error(`dataverse: ${(error as Error).message}`);
    }
    return { name: 'dataverse', url: emulator.url, stop: () => emulator.close(), dataverse: emulator };
  },
};
