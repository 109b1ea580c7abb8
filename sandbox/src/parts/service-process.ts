/**
 * Runs the service's own entry point (`service/src/main.ts`) as the sandbox's child process, and ends it when
 * the sandbox goes away without a word (killed, crashed): the sandbox holds this process's stdin open, so
 * its end means the parent is gone. A normal stop is a SIGTERM, which main.ts handles gracefully.
 */
import path from 'node:path';

process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(path.resolve(__dirname, '../../../service/src/main.ts'));
