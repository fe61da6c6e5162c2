import { readdirSync, readFileSync } from 'node:fs';

/**
 * Per-process figures from Linux's /proc, so a benchmark can measure one process (the worker, the Temporal
 * server) apart from the rest of the machine.
 */

/** Clock ticks per second of /proc/<pid>/stat's CPU times; 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds the process has used so far (its threads included). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident and peak resident memory in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The first process whose command line (arguments joined by spaces) satisfies `match`. */
export function findProcess(match: (commandLine: string) => boolean): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (match(commandLine)) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  return null;
}

/** CPU use of a process between two moments, as a share of one core (100% = one core busy). */
export class CpuMeter {
  private cpu: number;
  private at: number;
  constructor(private readonly pid: number) {
    this.cpu = cpuSeconds(pid);
    this.at = performance.now();
  }

  /** Percent of one core since the meter was made or last read; restarts the measurement. */
  read(): number {
    const cpu = cpuSeconds(this.pid);
    const at = performance.now();
    const percent = ((cpu - this.cpu) / ((at - this.at) / 1000)) * 100;
    this.cpu = cpu;
    this.at = at;
    return percent;
  }
}
