/**
 * Throw-away X.509 material for the local Entra ID endpoint, made with the `openssl` command line:
 * a CA that signs the endpoint's TLS certificate (callers trust it through NODE_EXTRA_CA_CERTS), and
 * self-signed client certificates for the certificate credential flow.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'The local Entra ID endpoint needs the `openssl` command: install it (Debian: apt-get install openssl).',
      );
    }
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

/** Every certificate here is valid for two days: long enough for a test run, useless after it. */
const VALID_DAYS = '2';

/**
 * `openssl req` arguments for a new RSA key in `keyFile` and, in `outFile`, a self-signed certificate
 * (`-x509`, with `-addext` extensions) or, when `selfSigned` is false, a signing request for a CA to sign.
 */
function newKeyArgs(
  keyFile: string,
  outFile: string,
  subject: string,
  options: { selfSigned?: boolean; extensions?: string[] } = {},
): string[] {
  const { selfSigned = true, extensions = [] } = options;
  return [
    'req',
    ...(selfSigned ? ['-x509'] : []),
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    ...(selfSigned ? ['-days', VALID_DAYS] : []),
    '-keyout',
    keyFile,
    '-out',
    outFile,
    '-subj',
    subject,
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ];
}

function readTexts(dir: string, ...files: string[]): Promise<string[]> {
  return Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')));
}

export interface TlsMaterial {
  /** Folder holding every file below; removed by `dispose()`. */
  dir: string;
  /** PEM of the CA to trust (`NODE_EXTRA_CA_CERTS`). */
  caCertPath: string;
  key: string;
  cert: string;
  dispose(): Promise<void>;
}

/** A CA and a server certificate for 127.0.0.1 and localhost signed by it, valid for two days. */
export async function createTlsMaterial(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'stc-entra-'));
  await openssl(
    newKeyArgs('ca.key', 'ca.crt', '/CN=Stripe Connector local test CA', {
      extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    }),
    dir,
  );
  await openssl(newKeyArgs('server.key', 'server.csr', '/CN=127.0.0.1', { selfSigned: false }), dir);
  await writeFile(
    join(dir, 'server.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-sha256',
      '-days',
      VALID_DAYS,
      '-out',
      'server.crt',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const [key, cert] = await readTexts(dir, 'server.key', 'server.crt');
  return {
    dir,
    caCertPath: join(dir, 'ca.crt'),
    key,
    cert,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface ClientCertificate {
  /** PEM file with the private key and the certificate, as `ClientCertificateCredential` takes it. */
  pemPath: string;
  /** The certificate alone (PEM), to register with the endpoint's client. */
  certificatePem: string;
  /** SHA-1 thumbprint, upper-case hex, as the Entra portal shows it. */
  thumbprint: string;
}

/** A self-signed client certificate in `dir` (the caller removes the folder). */
export async function createClientCertificate(dir: string, commonName: string): Promise<ClientCertificate> {
  const base = `client-${createHash('sha256').update(commonName).digest('hex').slice(0, 12)}`;
  await openssl(newKeyArgs(`${base}.key`, `${base}.crt`, `/CN=${commonName.replace(/[/=]/g, '_')}`), dir);
  const [key, certificatePem] = await readTexts(dir, `${base}.key`, `${base}.crt`);
  const pemPath = join(dir, `${base}.pem`);
  await writeFile(pemPath, `${key}${certificatePem}`, { mode: 0o600 });
  const thumbprint = new X509Certificate(certificatePem).fingerprint.replace(/:/g, '');
  return { pemPath, certificatePem, thumbprint };
}
