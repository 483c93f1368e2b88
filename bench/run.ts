/**
 * End-to-end benchmark: a verified export with ocipack against its peers, on one machine, in one
 * run, interleaved, median of several runs each.
 *
 *     deno task bench                 # 1 GiB image (layers of 512+256+128+128 MiB)
 *     deno task bench --size 4g       # the same shape at 4 GiB
 *     deno task bench --runs 7        # more runs per peer (default 5, at least 3)
 *
 * The store is built once (incompressible layers) and cached under bench/.cache/. Every peer reads
 * the same blobs, from the page cache (read once just before each run), and writes to a pipe read
 * by `cat` (skopeo writes its archive file, deleted after each run):
 * - ocipack: `cli.ts export` (digests verified), its peak RSS taken with /usr/bin/time;
 * - GNU tar of the same files (verifies nothing): the floor for moving the bytes;
 * - OpenSSL's SHA-256 of the same files (`openssl dgst -sha256`, with the CPU's SHA instructions;
 *   reads and hashes on one core, writes nothing): what verifying alone costs;
 * - that tar and that OpenSSL run at once: the two halves of a verified export done side by side
 *   by native tools, the machine's own limit for the whole job;
 * - `ctr images export` (containerd, through its content API), from a private containerd into
 *   which the store was imported;
 * - `skopeo copy` to `oci-archive:` and to `docker-archive:`.
 * Peers whose tools are missing are reported as such. Below the table: how long SHA-256 of these
 * bytes takes in memory (`openssl speed`), a floor no verified export can beat, against tar.
 *
 *     deno task bench --case count    # only the count case (or OCIPACK_BENCH=count)
 *     deno task bench --case bytes    # only the case above
 *
 * The count case (bench/count_case.ts) exports every name of a store of 2,000 small images
 * (2,200 names, 10,040 blobs) and of one of 20,000 (22,000 names, 100,040 blobs), where the cost
 * is per blob rather than per byte, beside GNU tar of the same store and `ctr images export` of
 * the same names; and times `ocipack list` of the larger store. Both cases run by default.
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { Containerd, toolsAvailable } from "../tests/support/containerd.ts";
import { countCase } from "./count_case.ts";
import { machine, median, sh } from "./support.ts";
import { registryBench } from "./registry.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    size: { type: "string", default: "1g" },
    runs: { type: "string", default: "5" },
    case: { type: "string", default: Deno.env.get("OCIPACK_BENCH") ?? "all" },
  },
});
const scale = { "1g": 1, "4g": 4 }[values.size!];
if (scale === undefined) throw new Error("--size must be 1g or 4g");
if (!["all", "bytes", "count"].includes(values.case!)) {
  throw new Error("--case must be all, bytes or count");
}
const runs = Math.max(3, Number(values.runs));
const MiB = 1024 * 1024;
const layerSizes = [512, 256, 128, 128].map((s) => s * scale * MiB);
const totalBytes = layerSizes.reduce((a, b) => a + b, 0);
const name = `docker.io/bench/random:${values.size}`;
const here = new URL(".", import.meta.url).pathname;
const store = `${here}.cache/store-${values.size}`;
const cli = new URL("../cli.ts", import.meta.url).pathname;

/** Builds the store: random layers, their config and manifest, an index.json naming them. */
async function buildStore(): Promise<void> {
  try {
    await Deno.stat(`${store}/index.json`);
    return;
  } catch {
    // not built yet
  }
  console.error(`Building ${values.size} store in ${store} ...`);
  const dir = `${store}.partial`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const layers = [];
  const chunk = new Uint8Array(MiB);
  for (const size of layerSizes) {
    const hash = createHash("sha256");
    const path = `${dir}/layer.tmp`;
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    for (let done = 0; done < size; done += chunk.length) {
      for (let o = 0; o < chunk.length; o += 65536) {
        crypto.getRandomValues(chunk.subarray(o, o + 65536));
      }
      hash.update(chunk);
      for (let w = 0; w < chunk.length;) w += await file.write(chunk.subarray(w));
    }
    const digest = `sha256:${hash.digest("hex")}`;
    await Deno.rename(path, `${dir}/blobs/sha256/${digest.slice(7)}`);
    layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size });
  }
  const put = async (value: unknown, mediaType: string) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const config = await put({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
  }, "application/vnd.oci.image.config.v1+json");
  const manifest = await put(
    { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers },
    "application/vnd.oci.image.manifest.v1+json",
  );
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  const annotations = {
    "io.containerd.image.name": name,
    "org.opencontainers.image.ref.name": values.size!,
  };
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations }] }),
  );
  await Deno.rename(dir, store);
}

interface Peer {
  name: string;
  /** A shell command line. */
  command: string;
  available: boolean;
  /** Why it is not available. */
  why?: string;
}

/** SHA-256 bytes per second on one core, from `openssl speed`; undefined without openssl. */
async function sha256Rate(): Promise<number | undefined> {
  if (!toolsAvailable("openssl")) return undefined;
  const { stdout } = await new Deno.Command("openssl", {
    args: ["speed", "-evp", "sha256", "-bytes", String(MiB), "-seconds", "2"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const rate = /^sha256\s+([\d.]+)k\s*$/m.exec(new TextDecoder().decode(stdout));
  return rate ? Number(rate[1]) * 1000 : undefined;
}

if (values.case === "count") {
  await countCase(`${here}.cache`, runs);
  Deno.exit(0);
}
await buildStore();
const work = await Deno.makeTempDir({ prefix: "ocipack-bench-" });
const canRoot = Deno.uid() === 0;
let containerd: Containerd | undefined;
const peers: Peer[] = [
  {
    name: "ocipack export",
    command: `/usr/bin/time -o TIMEFILE -f %M ${Deno.execPath()} run -R -W ${cli} export -q ` +
      `--store ${store} ${name} | cat > /dev/null`,
    available: toolsAvailable("cat") &&
      (await Deno.stat("/usr/bin/time").then(() => true, () => false)),
    why: "needs /usr/bin/time (Debian package time)",
  },
  {
    name: "GNU tar (no verification)",
    command: `tar -C ${store} -cf - blobs index.json oci-layout | cat > /dev/null`,
    available: toolsAvailable("tar"),
  },
  {
    name: "OpenSSL SHA-256 of the files",
    command: `openssl dgst -sha256 ${store}/blobs/sha256/* > /dev/null`,
    available: toolsAvailable("openssl"),
    why: "needs openssl",
  },
  {
    name: "tar and OpenSSL side by side",
    command: `openssl dgst -sha256 ${store}/blobs/sha256/* > /dev/null & hashing=$!; ` +
      `tar -C ${store} -cf - blobs index.json oci-layout | cat > /dev/null && wait $hashing`,
    available: toolsAvailable("tar", "openssl"),
    why: "needs tar and openssl",
  },
  {
    name: "ctr images export",
    command: "",
    available: toolsAvailable("containerd", "ctr", "tar") && canRoot,
    why: "needs containerd, ctr and root",
  },
  {
    name: "skopeo copy oci-archive:",
    command:
      `skopeo copy -q oci:${store}:${values.size} oci-archive:${work}/o.tar && rm ${work}/o.tar`,
    available: toolsAvailable("skopeo"),
    why: "needs skopeo",
  },
  {
    name: "skopeo copy docker-archive:",
    command: `skopeo copy -q oci:${store}:${values.size} docker-archive:${work}/d.tar:${name} && ` +
      `rm ${work}/d.tar`,
    available: toolsAvailable("skopeo"),
    why: "needs skopeo",
  },
];

const [ocipackPeer, tarPeer] = peers;
const ctrPeer = peers.find((p) => p.name === "ctr images export")!;
try {
  if (ctrPeer.available) {
    console.error("Importing the store into a private containerd ...");
    containerd = await Containerd.start();
    await sh(
      `tar -C ${store} -cf ${work}/store.tar . && ctr -a ${containerd.socket} -n bench ` +
        `images import --no-unpack ${work}/store.tar && rm ${work}/store.tar`,
    );
    ctrPeer.command =
      `ctr -a ${containerd.socket} -n bench images export - ${name} | cat > /dev/null`;
  }
  const active = peers.filter((p) => p.available);
  // Interleave the peers run by run. Each run reads from a warm page cache: the files it reads
  // are read once just before, because this VM's memory manager (DAMON, action pageout) evicts
  // pages that sat unused during the other peers' runs, which once made a run take 12 s.
  const warmStore = `cat ${store}/blobs/sha256/* > /dev/null`;
  const warmContainerd = containerd
    ? `cat ${containerd.contentDir}/blobs/sha256/* > /dev/null`
    : "";
  const times = new Map<string, number[]>(active.map((p) => [p.name, []]));
  const rss: number[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const peer of active) {
      await sh(peer === ctrPeer ? warmContainerd : warmStore);
      const result = await sh(peer.command);
      times.get(peer.name)!.push(result.seconds);
      if (peer === ocipackPeer && result.rssKiB) rss.push(result.rssKiB);
      console.error(`run ${run}/${runs}  ${peer.name.padEnd(28)} ${result.seconds.toFixed(2)} s`);
    }
  }
  // The ratio is of medians. The best run is shown too: on this VM a run of tar lands either fast
  // (tar and cat on separate cores) or up to twice as slow, so its median moves between runs.
  const tarTimes = times.get(tarPeer.name) ?? [NaN];
  const tarMedian = median(tarTimes);
  const tarBest = Math.min(...tarTimes);
  const rows = [["", "median", "MB/s", "x GNU tar", "best", "x best tar"]];
  for (const peer of peers) {
    if (!peer.available) {
      rows.push([peer.name, `n/a (${peer.why})`, "", "", "", ""]);
      continue;
    }
    const m = median(times.get(peer.name)!);
    const best = Math.min(...times.get(peer.name)!);
    rows.push([
      peer.name,
      `${m.toFixed(2)} s`,
      (totalBytes / 1e6 / m).toFixed(0),
      (m / tarMedian).toFixed(2),
      `${best.toFixed(2)} s`,
      (best / tarBest).toFixed(2),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    `\n${(totalBytes / MiB / 1024).toFixed(0)} GiB image (layers ${
      layerSizes.map((s) => s / MiB).join("+")
    } MiB), ${runs} interleaved runs each, warm page cache`,
  );
  console.log(await machine());
  console.log("");
  for (const r of rows) console.log("| " + r.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |");
  // Hashing alone bounds any verified export from below: one blob's SHA-256 runs on one core.
  const hashRate = await sha256Rate();
  if (hashRate !== undefined && tarPeer.available) {
    const hashSeconds = totalBytes / hashRate;
    console.log(
      `\nSHA-256 in memory (openssl speed, 1 MiB blocks): ${(hashRate / 1e6).toFixed(0)} MB/s, ` +
        `so hashing these bytes takes ${hashSeconds.toFixed(2)} s on one core, ` +
        `${(hashSeconds / tarMedian).toFixed(2)} x GNU tar's median by itself`,
    );
  }
  if (rss.length > 0) {
    console.log(
      `\nocipack peak RSS: ${(Math.max(...rss) / 1024).toFixed(0)} MiB (max of ${rss.length} runs)`,
    );
  }
  // Export straight from a loopback registry, at the same size (bench/registry.ts).
  await registryBench(values.size!, runs);
} finally {
  await containerd?.stop();
  await Deno.remove(work, { recursive: true });
}
if (values.case === "all") await countCase(`${here}.cache`, runs);

// The other half of a transfer: importing the same image's archive (bench/import.ts).
await import("./import.ts");
