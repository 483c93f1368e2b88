/**
 * Import benchmark: `ocipack import` of the benchmark image's archive into an empty store, against
 * `tar -x` of the same archive followed by OpenSSL's SHA-256 of the extracted blobs (what a
 * verified unpacking costs with native tools), `ocipack verify` (reading and checking alone, no
 * writes) and `ctr images import` (containerd 1.6, into a private daemon). Interleaved, median of
 * several runs, the archive read once into the page cache before each run. Run by
 * `deno task bench` after the export table (bench/run.ts builds the store), or alone:
 *
 *     deno run --allow-all bench/import.ts [--size 1g|4g] [--runs N]
 */
import { parseArgs } from "node:util";
import { Containerd, toolsAvailable } from "../tests/support/containerd.ts";
import { median, sh } from "./support.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    size: { type: "string", default: "1g" },
    runs: { type: "string", default: "5" },
    // Taken, and ignored, when bench/run.ts runs this after its own cases.
    case: { type: "string" },
  },
});
const runs = Math.max(3, Number(values.runs));
const here = new URL(".", import.meta.url).pathname;
const store = `${here}.cache/store-${values.size}`;
const name = `docker.io/bench/random:${values.size}`;
const cli = new URL("../cli.ts", import.meta.url).pathname;
try {
  await Deno.stat(`${store}/index.json`);
} catch {
  throw new Error(`No benchmark store at ${store}: run deno task bench first`);
}

const work = await Deno.makeTempDir({ prefix: "ocipack-bench-import-" });
let containerd: Containerd | undefined;
try {
  const archive = `${work}/a.tar`;
  await sh(`${Deno.execPath()} run -R -W ${cli} export -q --store ${store} -o ${archive} ${name}`);
  const bytes = (await Deno.stat(archive)).size;
  const peers: { name: string; run: string; cleanup: string; available: boolean }[] = [
    {
      name: "ocipack import",
      run: `/usr/bin/time -o TIMEFILE -f %M ${Deno.execPath()} run -R -W ${cli} import -q ` +
        `--store ${work}/s ${archive}`,
      cleanup: `rm -rf ${work}/s`,
      available: await Deno.stat("/usr/bin/time").then(() => true, () => false),
    },
    {
      name: "tar -x, then OpenSSL SHA-256",
      run: `mkdir ${work}/x && tar -xf ${archive} -C ${work}/x && ` +
        `openssl dgst -sha256 ${work}/x/blobs/sha256/* > /dev/null`,
      cleanup: `rm -rf ${work}/x`,
      available: toolsAvailable("tar", "openssl"),
    },
    {
      name: "ocipack verify (no writes)",
      run: `${Deno.execPath()} run -R ${cli} verify ${archive}`,
      cleanup: "true",
      available: true,
    },
    {
      name: "ctr images import",
      run: "",
      cleanup: "",
      available: toolsAvailable("containerd", "ctr") && Deno.uid() === 0,
    },
  ];
  const ctr = peers[3];
  if (ctr.available) {
    containerd = await Containerd.start();
    ctr.run = `ctr -a ${containerd.socket} -n bench images import --no-unpack ${archive}`;
    ctr.cleanup = `ctr -a ${containerd.socket} -n bench images rm ${name} > /dev/null && ` +
      `ctr -a ${containerd.socket} -n bench content prune references > /dev/null 2>&1 || true`;
  }
  const active = peers.filter((p) => p.available);
  const times = new Map<string, number[]>(active.map((p) => [p.name, []]));
  const rss: number[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const peer of active) {
      await sh(`sync; cat ${archive} > /dev/null`);
      const result = await sh(peer.run);
      await sh(peer.cleanup);
      times.get(peer.name)!.push(result.seconds);
      if (peer === peers[0] && result.rssKiB) rss.push(result.rssKiB);
      console.error(
        `import run ${run}/${runs}  ${peer.name.padEnd(30)} ${result.seconds.toFixed(2)} s`,
      );
    }
  }
  const base = median(times.get(peers[1].name) ?? [NaN]);
  const rows = [["", "median", "MB/s", "x tar+OpenSSL", "best"]];
  for (const peer of active) {
    const t = times.get(peer.name)!;
    const m = median(t);
    rows.push([
      peer.name,
      `${m.toFixed(2)} s`,
      (bytes / 1e6 / m).toFixed(0),
      (m / base).toFixed(2),
      `${Math.min(...t).toFixed(2)} s`,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    `\nImport of the ${values.size} archive (${bytes} bytes), ${runs} interleaved runs each`,
  );
  for (const r of rows) console.log("| " + r.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |");
  if (rss.length > 0) {
    console.log(`\nocipack import peak RSS: ${(Math.max(...rss) / 1024).toFixed(0)} MiB`);
  }
} finally {
  await containerd?.stop();
  await Deno.remove(work, { recursive: true });
}
