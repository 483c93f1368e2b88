/** Helpers shared by the benchmark cases. */

/** What {@linkcode sh} measured. */
export interface ShResult {
  /** Wall-clock seconds. */
  seconds: number;
  /** Peak RSS, when the command wrote `%M` (or `%M %U %S`) to TIMEFILE. */
  rssKiB?: number;
  /** User plus system CPU seconds, when it wrote `%M %U %S`. */
  cpuSeconds?: number;
}

/**
 * Runs a shell command line; `TIMEFILE` in it names a file for `/usr/bin/time -o`, which should
 * be given `-f %M` (peak RSS) or `-f "%M %U %S"` (and CPU time).
 */
export async function sh(command: string): Promise<ShResult> {
  const timeFile = await Deno.makeTempFile();
  const started = performance.now();
  const { code, stderr } = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", command.replaceAll("TIMEFILE", timeFile)],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const timeText = await Deno.readTextFile(timeFile).catch(() => "");
  await Deno.remove(timeFile);
  if (code !== 0) throw new Error(`${command}\n${new TextDecoder().decode(stderr)}`);
  const time = /^(\d+)(?: ([\d.]+) ([\d.]+))?$/m.exec(timeText);
  return {
    seconds,
    rssKiB: time ? Number(time[1]) : undefined,
    cpuSeconds: time?.[2] === undefined ? undefined : Number(time[2]) + Number(time[3]),
  };
}

/** The median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One line describing this machine. */
export async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
  const mem = Number((await Deno.readTextFile("/proc/meminfo")).match(/MemTotal:\s*(\d+)/)?.[1]);
  const sha = (await Deno.readTextFile("/proc/cpuinfo")).includes(" sha_ni") ? ", SHA-NI" : "";
  return `${cpu}${sha}, ${navigator.hardwareConcurrency} cores, ${
    (mem / 1024 / 1024).toFixed(0)
  } GiB, ` +
    `Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}`;
}
