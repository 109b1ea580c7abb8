/** What the operator CLI's commands (cli.ts, backfill/cli.ts, reconciliation/cli.ts) share in reading their arguments. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The exit code of a command given arguments it cannot use. */
export const USAGE_EXIT = 2;

/** An option taking a value, and a flag. */
export const TEXT = { type: 'string' } as const;
export const FLAG = { type: 'boolean' } as const;

/** `--help` / `-h`, which every command takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

type CommandLine<T extends Options> = { args: string[]; allowPositionals: true; options: T };

/**
 * `parseArgs` with positionals allowed (the command names come first). A malformed line (an unknown option, a
 * missing value) is written to `io.err` with the usage and gives undefined: the caller exits with USAGE_EXIT.
 */
export function parseCommandLine<T extends Options>(
  argv: string[],
  options: T,
  usage: string,
  io: { err(line: string): void },
): ReturnType<typeof parseArgs<CommandLine<T>>> | undefined {
  try {
    return parseArgs<CommandLine<T>>({ args: argv, allowPositionals: true, options });
  } catch (error) {
    io.err(`${(error as Error).message}\n${usage}`);
    return undefined;
  }
}
