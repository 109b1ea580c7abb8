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

/**
 * Resolves once every line logged so far is written, so the process can exit without losing its last
 * lines. The default destination writes asynchronously: a write still in flight when `process.exit` runs is
 * lost (pino's exit hook flushes only what is still queued), which under load dropped the final "stopped"
 * line; `flush()` does not wait for that write either. Ending the destination does: it finishes every write,
 * then emits 'close' (standard output itself stays open). Bounded by `timeoutMs`, so a stuck reader cannot
 * hold the exit. Loggers over another destination resolve at once after `flush()`.
 */
export function endLogger(logger: Logger, timeoutMs = 5000): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    (Partial<ReturnType<typeof pino.destination>> & { destroyed?: boolean }) | undefined;
  // pino.destination's stream (sonic-boom): the only one here whose writes can be in flight at exit.
  if (
    !stream ||
    typeof stream.end !== 'function' ||
    typeof stream.flushSync !== 'function' ||
    stream.destroyed
  ) {
    logger.flush();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.once!('close', done);
    stream.once!('error', done);
    stream.end!();
  });
}

/** Scrubs values that look like credentials out of free text (error messages from SDKs can echo them). */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, '$1_$2_[redacted]')
    .replace(/\bwhsec_[A-Za-z0-9+/=]+/g, 'whsec_[redacted]')
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[redacted]@')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]');
}
