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
 * CPU time (ms) each running process of one command name (`/proc/<pid>/comm`, e.g. `postgres`) has used so
 * far, by pid; `cpuSince` sums what they used after an earlier reading.
 */
export function commandCpuMs(command: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== command) continue;
    } catch {
      continue;
    }
    const ms = procCpuMs(`/proc/${pid}/stat`);
    if (ms !== undefined) byPid.set(Number(pid), ms);
  }
  return byPid;
}

/**
 * CPU (ms) used between two readings of commandCpuMs: by the processes of both, their difference; by one
 * started since, all of its time. A process that exited in between is not counted (its time left with it),
 * so the figure may be low, never negative.
 */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}
