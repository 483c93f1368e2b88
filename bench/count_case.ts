/**
 * The count-scale benchmark: every name of a store of many small images exported in one call, to
 * a pipe, where the cost is per blob, not per byte (issue 13). Two stores, built once and cached
 * (bench/count_store.ts): 2,000 images (2,200 names, 10,040 blobs) and 20,000 (22,000 names,
 * 100,040 blobs). Peers, interleaved run by run, each from a warm page cache:
 * - `ocipack export` of every name (digests verified), its peak RSS and CPU time from
 *   /usr/bin/time; and the same with `--v8-flags=--max-semi-space-size=1` (a 1 MiB young
 *   generation, which only the launch line can set);
 * - GNU tar of the same store (verifies nothing);
 * - `ctr images export` of the same names from a private containerd into which the store was
 *   imported (the 2,000-image store only: on the larger one a run takes minutes);
 * - `ocipack list` of the store.
 * The names go on the command line through `$(cat file)`: 22,000 of them exceed what one `bash -c`
 * argument may hold.
 *
 * @module
 */
import { Containerd, toolsAvailable } from "../tests/support/containerd.ts";
import { cachedCountStore, type CountStore } from "./count_store.ts";
import { machine, median, sh, type ShResult } from "./support.ts";

/** The store sizes, in images. */
const SIZES = [2000, 20000];
/** Stores up to this many images are also exported by ctr. */
const CTR_MAX_IMAGES = 2000;

interface Peer {
  label: string;
  command: string;
  /** The command that warms the page cache for it. */
  warm: string;
  results: ShResult[];
}

/** Runs the count case and prints its table. */
export async function countCase(cacheDir: string, runs: number): Promise<void> {
  const stores: CountStore[] = [];
  for (const images of SIZES) stores.push(await cachedCountStore(cacheDir, images));
  const work = await Deno.makeTempDir({ prefix: "ocipack-bench-count-" });
  const cli = new URL("../cli.ts", import.meta.url).pathname;
  const time = "/usr/bin/time -o TIMEFILE -f '%M %U %S'";
  const haveTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  if (!haveTime) throw new Error("The count case needs /usr/bin/time (Debian package time)");
  const canCtr = toolsAvailable("containerd", "ctr", "tar") && Deno.uid() === 0;
  let containerd: Containerd | undefined;
  try {
    const peers = new Map<number, Peer[]>();
    for (const store of stores) {
      const images = Number(store.dir.slice(store.dir.lastIndexOf("-") + 1));
      const names = `${work}/names-${images}`;
      await Deno.writeTextFile(names, store.names.join("\n") + "\n");
      const warm = `find ${store.dir} -type f -exec cat {} + > /dev/null`;
      const list: Peer[] = [
        {
          label: "ocipack export",
          command: `${time} ${Deno.execPath()} run -R -W ${cli} export -q --store ${store.dir} ` +
            `$(cat ${names}) | cat > /dev/null`,
          warm,
          results: [],
        },
        {
          // The same with a 1 MiB young generation, which V8 otherwise grows to 16 or 32 MiB
          // semi-spaces as the plan's data survives (set only on the launch line).
          label: "ocipack export, small young gen",
          command: `${time} ${Deno.execPath()} run -R -W ` +
            `--v8-flags=--max-semi-space-size=1 ${cli} export -q --store ${store.dir} ` +
            `$(cat ${names}) | cat > /dev/null`,
          warm,
          results: [],
        },
        {
          label: "GNU tar (no verification)",
          command:
            `${time} tar -C ${store.dir} -cf - blobs index.json oci-layout | cat > /dev/null`,
          warm,
          results: [],
        },
        {
          label: "ocipack list",
          command: `${time} ${Deno.execPath()} run -R ${cli} list --store ${store.dir} > /dev/null`,
          warm,
          results: [],
        },
      ];
      if (canCtr && images <= CTR_MAX_IMAGES) {
        // In memory: containerd syncs each blob it ingests, which on a disk makes importing
        // 10,000 blobs take minutes. Its exports read from memory as the others read from a warm
        // page cache.
        if (containerd === undefined) containerd = await Containerd.start({ inMemory: true });
        console.error(`Importing the ${images}-image store into a private containerd ...`);
        await sh(
          `tar -C ${store.dir} -cf ${work}/store.tar . && ctr -a ${containerd.socket} -n bench ` +
            `images import --no-unpack ${work}/store.tar && rm ${work}/store.tar`,
        );
        list.push({
          label: "ctr images export",
          command: `${time} ctr -a ${containerd.socket} -n bench images export - $(cat ${names}) ` +
            "| cat > /dev/null",
          warm: `find ${containerd.contentDir} -type f -exec cat {} + > /dev/null`,
          results: [],
        });
      }
      peers.set(images, list);
    }
    for (let run = 1; run <= runs; run++) {
      for (const [images, list] of peers) {
        for (const peer of list) {
          await sh(peer.warm);
          const result = await sh(peer.command);
          peer.results.push(result);
          console.error(
            `run ${run}/${runs}  ${images} images  ${peer.label.padEnd(26)} ` +
              `${result.seconds.toFixed(2)} s`,
          );
        }
      }
    }
    printTable(peers, runs, canCtr);
    console.log(await machine());
  } finally {
    await containerd?.stop();
    await Deno.remove(work, { recursive: true });
  }
}

function printTable(peers: Map<number, Peer[]>, runs: number, canCtr: boolean): void {
  const rows = [["images", "", "median", "best", "x GNU tar", "CPU (user+sys)", "peak RSS"]];
  const summary: Record<
    number,
    { ocipack: number; tar: number; ctr?: number; rss: number; smallRss: number }
  > = {};
  for (const [images, list] of peers) {
    const tar = median(list.find((p) => p.label.startsWith("GNU tar"))!.results.map(seconds));
    for (const peer of list) {
      const m = median(peer.results.map(seconds));
      const rss = Math.max(...peer.results.map((r) => r.rssKiB ?? NaN)) / 1024;
      rows.push([
        images.toLocaleString("en-US"),
        peer.label,
        `${m.toFixed(2)} s`,
        `${Math.min(...peer.results.map(seconds)).toFixed(2)} s`,
        peer.label === "ocipack list" ? "" : (m / tar).toFixed(1),
        `${median(peer.results.map((r) => r.cpuSeconds ?? NaN)).toFixed(2)} s`,
        `${rss.toFixed(0)} MiB`,
      ]);
      const entry = summary[images] ??= { ocipack: NaN, tar, rss: NaN, smallRss: NaN };
      if (peer.label === "ocipack export") Object.assign(entry, { ocipack: m, rss });
      if (peer.label === "ocipack export, small young gen") entry.smallRss = rss;
      if (peer.label === "ctr images export") entry.ctr = m;
    }
    if (!canCtr && images <= CTR_MAX_IMAGES) {
      rows.push([
        images.toLocaleString("en-US"),
        "ctr images export",
        "n/a (needs root, containerd, ctr)",
        "",
        "",
        "",
        "",
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    `\nCount scale: every name of a store of small images, to a pipe; ${runs} interleaved runs ` +
      "each, warm page cache",
  );
  console.log("");
  for (const r of rows) console.log("| " + r.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |");
  const [small, large] = SIZES.map((n) => summary[n]);
  console.log("");
  console.log(
    `${SIZES[0]} images: ocipack ${(small.ocipack / small.tar).toFixed(1)} x GNU tar (goal <= 8)` +
      (small.ctr === undefined
        ? ""
        : `, ${(small.ctr / small.ocipack).toFixed(1)} x faster than ctr (goal >= 10)`) +
      `, peak RSS ${small.rss.toFixed(0)} MiB (goal <= 100; ${
        small.smallRss.toFixed(0)
      } MiB with a small young generation)`,
  );
  console.log(
    `${SIZES[1]} against ${SIZES[0]} images: ${(large.ocipack / small.ocipack).toFixed(1)} x the ` +
      `time (goal <= 11), peak RSS ${(large.rss - small.rss).toFixed(0)} MiB more (goal <= 30; ` +
      `${(large.smallRss - small.smallRss).toFixed(0)} MiB with a small young generation)`,
  );
  const list = peers.get(SIZES[1])!.find((p) => p.label === "ocipack list")!;
  console.log(
    `ocipack list of ${SIZES[1]} images: ${median(list.results.map(seconds)).toFixed(2)} s ` +
      "(goal < 1 s)",
  );
}

function seconds(result: ShResult): number {
  return result.seconds;
}
