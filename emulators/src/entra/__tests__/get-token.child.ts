/**
 * Run in a child process by the tests: MSAL reads NODE_EXTRA_CA_CERTS only when a process starts, so the
 * credential that talks to the local endpoint over TLS must live in a process started with it set.
 * Input: JSON in argv[2]. Output: one JSON line with the tokens or the error.
 */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';

interface Input {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificatePath?: string;
  authorityHost: string;
  scope: string;
  times: number;
  /** Use ManagedIdentityCredential (IDENTITY_ENDPOINT/IDENTITY_HEADER in the environment); '' = system-assigned. */
  managedIdentityClientId?: string;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as Input;
  const options = { authorityHost: input.authorityHost, disableInstanceDiscovery: true };
  const credential: TokenCredential =
    input.managedIdentityClientId !== undefined
      ? input.managedIdentityClientId
        ? new ManagedIdentityCredential({ clientId: input.managedIdentityClientId })
        : new ManagedIdentityCredential()
      : input.certificatePath
        ? new ClientCertificateCredential(
            input.tenantId,
            input.clientId,
            { certificatePath: input.certificatePath },
            options,
          )
        : new ClientSecretCredential(input.tenantId, input.clientId, input.clientSecret ?? '', options);
  const tokens: string[] = [];
  try {
    for (let i = 0; i < input.times; i += 1) {
      const token = await credential.getToken(input.scope);
      tokens.push(token?.token ?? '');
    }
    process.stdout.write(`${JSON.stringify({ tokens })}\n`);
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ tokens, error: { name: (err as Error).name, message: (err as Error).message } })}\n`,
    );
  }
}

void main();
