/**
 * Run by entra-flow.test.ts in a child process started with NODE_EXTRA_CA_CERTS (MSAL reads extra CAs only
 * at process start): the real ClientSecretCredential from createCredential, the client and the batcher,
 * against the Dataverse emulator in entra mode. Input: JSON in argv[2]; output: one JSON line.
 */
import { createCredential, createDataverseClient, createUpsertBatcher, DataverseError } from '..';

interface Input {
  baseUrl: string;
  scope: string;
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  kind?: 'client-secret' | 'certificate' | 'managed-identity';
  certificatePath?: string;
  authorityHost: string;
  rows: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as Input;
  const credential = createCredential({
    kind: input.kind ?? 'client-secret',
    tenantId: input.tenantId,
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    certificatePath: input.certificatePath,
    authorityHost: input.authorityHost,
    disableInstanceDiscovery: true,
  });
  const client = createDataverseClient({ baseUrl: input.baseUrl, credential, scope: input.scope });
  try {
    const single = await client.upsertByKey(
      'stc_payments',
      { stc_stripeid: 'pi_entra_0' },
      { stc_amount: 1, stc_currency: 'usd', stc_status: 100000000 },
    );
    const batcher = createUpsertBatcher(client, { maxBatchSize: 50, maxDelayMs: 5 });
    const results = await Promise.all(
      Array.from({ length: input.rows }, (_, i) =>
        batcher.upsert(
          'stc_payments',
          { stc_stripeid: `pi_entra_${i + 1}` },
          { stc_amount: i + 1, stc_currency: 'usd', stc_status: 100000000 },
        ),
      ),
    );
    const read = await client.retrieveByKey(
      'stc_payments',
      { stc_stripeid: 'pi_entra_0' },
      { select: ['_createdby_value'] },
    );
    process.stdout.write(
      `${JSON.stringify({ single, written: results.length, read, stats: client.stats() })}\n`,
    );
  } catch (err) {
    const e = err as DataverseError;
    process.stdout.write(
      `${JSON.stringify({ error: { name: e.name, message: e.message, status: e.status, code: e.code, transient: e.transient } })}\n`,
    );
  }
}

void main();
