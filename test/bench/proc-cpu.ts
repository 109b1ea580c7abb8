/** CPU time a process or one of its threads has used, as Linux reports it; the benches read it per child. */
import fs from 'node:fs';

/**
 * User + system time (ms) from a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` file, undefined where
 * there is none. utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux);
 * the fields are counted after the command name, which is in parentheses and may itself hold spaces.
 */
export function procCpuMs(statPath: string): number | undefined {
  try {
    const stat = fs.readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
