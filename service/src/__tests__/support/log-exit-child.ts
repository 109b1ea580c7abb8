/** Test support: logs a burst and a last line, then exits as `stopOnSignals` does, after `endLogger`. */
import { createLogger, endLogger } from '../../observability/log';

const logger = createLogger();
for (let i = 0; i < 400; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'filler');
setTimeout(() => {
  logger.info('stopped');
  void endLogger(logger).then(() => process.exit(0));
}, 10);
