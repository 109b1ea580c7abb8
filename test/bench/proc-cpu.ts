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

/**
 * The whole machine's CPU time so far (ms): busy (every state but idle and iowait) and all, summed over its
 * cores, from the first line of `/proc/stat` (clock ticks, 100 per second); undefined where there is none.
 */
export function machineCpuMs(): { busy: number; all: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // user nice system idle iowait irq softirq steal (guest time is already counted in user and nice).
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const all = ticks.reduce((sum, t) => sum + t, 0);
    return { busy: (all - ticks[3] - ticks[4]) * 10, all: all * 10 };
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) the running processes of one command name (`/proc/<pid>/comm`, e.g. `postgres`) have used so
 * far, summed. A process that exits between two readings takes its time with it: for long-lived servers.
 */
export function commandCpuMs(command: string): number {
  let sum = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== command) continue;
    } catch {
      continue;
    }
    sum += procCpuMs(`/proc/${pid}/stat`) ?? 0;
  }
  return sum;
}
