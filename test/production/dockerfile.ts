/**
 * The repository's Dockerfile, read so that the tests run the image's own steps (the commands of its RUN
 * instructions, its CMD, its HEALTHCHECK) on this machine, where no Docker daemon is available.
 * Only what the Dockerfile uses is understood: stages, instructions, line continuations, exec-form arrays.
 */
import fs from 'node:fs';
import path from 'node:path';

export const DOCKERFILE = path.resolve(__dirname, '../../Dockerfile');

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** The stages of a Dockerfile in order, each with its instructions (comments dropped, continuations joined). */
export function parseDockerfile(text: string): Stage[] {
  const logicalLines = text
    .split(/\r?\n/)
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n');
  const stages: Stage[] = [];
  for (const line of logicalLines) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const [base, as, name] = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({
        base: base!,
        name: as?.toUpperCase() === 'AS' ? name! : String(stages.length),
        instructions: [],
      });
    } else {
      if (stages.length === 0) throw new Error(`${keyword} before the first FROM`);
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

export function readDockerfile(file = DOCKERFILE): Stage[] {
  return parseDockerfile(fs.readFileSync(file, 'utf8'));
}

export function stageNamed(stages: Stage[], name: string): Stage {
  const stage = stages.find((s) => s.name === name);
  if (!stage)
    throw new Error(`the Dockerfile has no stage ${name} (stages: ${stages.map((s) => s.name).join(', ')})`);
  return stage;
}

/** The arguments of every instruction of one kind in a stage, in order. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** The one instruction of a kind in a stage (WORKDIR, CMD, HEALTHCHECK, USER…). */
export function onlyArgsOf(stage: Stage, keyword: string): string {
  const all = argsOf(stage, keyword);
  if (all.length !== 1)
    throw new Error(`stage ${stage.name} has ${all.length} ${keyword} instructions, not one`);
  return all[0]!;
}

/** The words of a shell-form command that is one plain command line (no quoting, no operators). */
export function commandWords(command: string): string[] {
  if (/["'`$&|;<>()\\]/.test(command)) throw new Error(`not a plain command line: ${command}`);
  return command.split(/\s+/).filter(Boolean);
}

/** The RUN of a stage whose command starts with the given words, as the command's words. */
export function runStartingWith(stage: Stage, ...start: string[]): string[] {
  const runs = argsOf(stage, 'RUN').filter((args) => !args.startsWith('['));
  const found = runs
    .map((args) => args.split(/\s+/))
    .filter((words) => start.every((word, i) => words[i] === word));
  if (found.length !== 1) {
    throw new Error(`stage ${stage.name} has ${found.length} RUN ${start.join(' ')} instructions, not one`);
  }
  return commandWords(found[0]!.join(' '));
}

/** An exec-form JSON array (`["node", "main.js"]`), or an error saying the instruction is in shell form. */
export function execForm(args: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`not an exec-form JSON array: ${args}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((word) => typeof word === 'string')) {
    throw new Error(`not an exec-form JSON array of strings: ${args}`);
  }
  return parsed as string[];
}

/** The command of a `HEALTHCHECK [--option=value…] CMD [...]`, in exec form. */
export function healthcheckCommand(args: string): string[] {
  const match = /^(?:--[a-z-]+=\S+\s+)*CMD\s+(.*)$/s.exec(args);
  if (!match) throw new Error(`HEALTHCHECK without a CMD: ${args}`);
  return execForm(match[1]!);
}

/** The variables a stage's ENV instructions set (`ENV NAME=value NAME=value`, values without spaces). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of argsOf(stage, 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(pair);
      if (!match) throw new Error(`ENV ${args}: write NAME=value pairs without quotes or spaces`);
      env[match[1]!] = match[2]!;
    }
  }
  return env;
}
