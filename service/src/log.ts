/**
 * Structured JSON logs (pino). Secrets never reach a line: the configuration's secret fields, request
 * headers that carry keys or signatures, and anything named like a secret are redacted by path.
 */
import pino from 'pino';

export type Logger = pino.Logger;

const REDACT_PATHS = [
  '*.apiKey',
  '*.webhookSecrets',
  '*.webhookKey',
  '*.clientSecret',
  '*.adminApiKey',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.databaseUrl',
  'config.stripe.apiKey',
  'config.stripe.webhookSecrets',
  'config.dataverse.clientSecret',
  'config.dataverse.webhookKey',
  'config.http.adminApiKey',
  'config.store.databaseUrl',
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'req.headers["x-api-key"]',
  'req.headers["x-stc-webhook-key"]',
  'headers.authorization',
  'headers["stripe-signature"]',
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'stc-service' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/** Scrubs values that look like credentials out of free text (error messages from SDKs can echo them). */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, '$1_$2_[redacted]')
    .replace(/\bwhsec_[A-Za-z0-9+/=]+/g, 'whsec_[redacted]')
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[redacted]@')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]');
}
