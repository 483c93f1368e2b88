/**
 * Registry benchmark: export straight from a registry (Debian's docker-registry on loopback).
 *
 *     deno run -A bench/registry.ts                 # 1 GiB image (4 layers), 5 runs
 *     deno run -A bench/registry.ts --size 64m      # a smoke-sized image
 *
 * 1. One image of 4 incompressible layers (512+256+128+128 MiB at 1g), pushed with skopeo: the
 *    ocipack CLI from `docker://` (its peak RSS with /usr/bin/time), the same export from a local
 *    store, and `skopeo copy docker://... docker-archive:`; median of interleaved runs.
 * 2. 60 layers of 100 KiB behind a proxy that adds 50 ms to every request: the library with its
 *    read-ahead (default concurrency) against one blob at a time (concurrency 0).
 *
 * `deno task bench` runs this after its own table (at its size) when docker-registry is installed.
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { toolsAvailable } from "../tests/support/containerd.ts";
import { TestRegistry } from "../tests/support/registry.ts";
import { FaultProxy } from "../tests/support/fault_proxy.ts";
import { exportArchive, openRegistry } from "../mod.ts";
import { median, sh } from "./support.ts";

const MiB = 1024 * 1024;
const SCALES: Record<string, number> = { "64m": 1 / 16, "256m": 1 / 4, "1g": 1, "4g": 4 };
const here = new URL(".", import.meta.url).pathname;
const cli = new URL("../cli.ts", import.meta.url).pathname;

/** Writes an OCI layout with one image of random layers; returns its size in bytes. */
async function buildStore(dir: string, layerSizes: number[], tag: string): Promise<number> {
  try {
    await Deno.stat(`${dir}/index.json`);
    return layerSizes.reduce((a, b) => a + b, 0);
  } catch {
    // not built yet
  }
  const partial = `${dir}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${partial}/blobs/sha256`, { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    await Deno.writeFile(`${partial}/blobs/sha256/${hex}`, bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layers = [];
  const diffIds = [];
  const chunk = new Uint8Array(Math.min(MiB, Math.max(...layerSizes)));
  for (const size of layerSizes) {
    const hash = createHash("sha256");
    const tmp = `${partial}/layer.tmp`;
    {
      using file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      for (let written = 0; written < size;) {
        const n = Math.min(chunk.length, size - written);
        for (let i = 0; i < n; i += 65536) {
          crypto.getRandomValues(chunk.subarray(i, Math.min(n, i + 65536)));
        }
        hash.update(chunk.subarray(0, n));
        let off = 0;
        while (off < n) off += await file.write(chunk.subarray(off, n));
        written += n;
      }
    }
    const hex = hash.digest("hex");
    await Deno.rename(tmp, `${partial}/blobs/sha256/${hex}`);
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: `sha256:${hex}`,
      size,
    });
    diffIds.push(`sha256:${hex}`);
  }
  const encoder = new TextEncoder();
  const config = await put(encoder.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: diffIds },
  })));
  const manifest = await put(encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers,
  })));
  await Deno.writeTextFile(`${partial}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${partial}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: {
          "io.containerd.image.name": `docker.io/bench/registry:${tag}`,
          "org.opencontainers.image.ref.name": tag,
        },
      }],
    }),
  );
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(partial, dir);
  return layerSizes.reduce((a, b) => a + b, 0);
}

/** Runs both registry benchmarks and prints their tables. */
export async function registryBench(size: string, runs: number): Promise<void> {
  const scale = SCALES[size];
  if (scale === undefined) throw new Error(`--size must be one of ${Object.keys(SCALES)}`);
  if (!toolsAvailable("docker-registry", "skopeo")) {
    console.log("\nRegistry benchmark: n/a (needs docker-registry and skopeo)");
    return;
  }
  const store = `${here}.cache/registry-store-${size}`;
  const layerSizes = [512, 256, 128, 128].map((s) => s * scale * MiB);
  console.error(`Building the ${size} registry store in ${store} ...`);
  const total = await buildStore(store, layerSizes, size);
  await using registry = await TestRegistry.start("none");
  const work = await Deno.makeTempDir({ prefix: "ocipack-registry-bench-" });
  try {
    console.error(`Pushing to ${registry.host} ...`);
    const ref = `${registry.host}/bench/registry:${size}`;
    await sh(`skopeo copy -q --dest-tls-verify=false oci:${store}:${size} docker://${ref}`);
    const deno = Deno.execPath();
    const peers: [string, string][] = [
      [
        "ocipack export docker://",
        `/usr/bin/time -o TIMEFILE -f %M ${deno} run -A ${cli} export -q --plain-http ` +
        `docker://${ref} | cat > /dev/null`,
      ],
      [
        "ocipack export --store (local)",
        `/usr/bin/time -o TIMEFILE -f %M ${deno} run -A ${cli} export -q --store ${store} ` +
        `docker.io/bench/registry:${size} | cat > /dev/null`,
      ],
      [
        "skopeo copy docker:// docker-archive:",
        `skopeo copy -q --src-tls-verify=false docker://${ref} docker-archive:${work}/d.tar:${ref} ` +
        `&& rm ${work}/d.tar`,
      ],
    ];
    const times = new Map<string, number[]>(peers.map(([name]) => [name, []]));
    const rss = new Map<string, number[]>(peers.map(([name]) => [name, []]));
    for (let run = 1; run <= runs; run++) {
      for (const [name, command] of peers) {
        await sh(`cat ${store}/blobs/sha256/* > /dev/null`); // warm the local store
        const result = await sh(command);
        times.get(name)!.push(result.seconds);
        if (result.rssKiB) rss.get(name)!.push(result.rssKiB);
        console.error(`run ${run}/${runs}  ${name.padEnd(38)} ${result.seconds.toFixed(2)} s`);
      }
    }
    const registryMedian = median(times.get(peers[0][0])!);
    console.log(
      `\nRegistry export: ${(total / MiB).toFixed(0)} MiB image (layers ${
        layerSizes.map((s) => s / MiB).join("+")
      } MiB) from docker-registry on loopback, ${runs} interleaved runs`,
    );
    console.log("| | median | MB/s | x ocipack docker:// | peak RSS |");
    console.log("|---|---|---|---|---|");
    for (const [name] of peers) {
      const m = median(times.get(name)!);
      const peak = rss.get(name)!.length > 0
        ? `${(Math.max(...rss.get(name)!) / 1024).toFixed(0)} MiB`
        : "";
      console.log(
        `| ${name} | ${m.toFixed(2)} s | ${(total / 1e6 / m).toFixed(0)} | ${
          (m / registryMedian).toFixed(2)
        } | ${peak} |`,
      );
    }

    // 60 layers of 100 KiB behind 50 ms of latency per request.
    const small = `${here}.cache/registry-small`;
    await buildStore(small, Array(60).fill(100 * 1024), "small");
    await registry.push(small, "docker.io/bench/registry:small", "bench/small", "small");
    await using proxy = FaultProxy.start(registry.origin, { delay: 50 });
    const smallRef = `${proxy.host}/bench/small:small`;
    const timed = async (concurrency?: number) => {
      await using source = openRegistry({ plainHttp: [proxy.host], concurrency });
      const started = performance.now();
      await exportArchive(source, { images: [smallRef] }).pipeTo(new WritableStream());
      return (performance.now() - started) / 1000;
    };
    const ahead: number[] = [];
    const oneByOne: number[] = [];
    for (let run = 1; run <= runs; run++) {
      ahead.push(await timed());
      oneByOne.push(await timed(0));
      console.error(
        `run ${run}/${runs}  60 x 100 KiB, 50 ms: read-ahead ${ahead.at(-1)!.toFixed(2)} s, ` +
          `one at a time ${oneByOne.at(-1)!.toFixed(2)} s`,
      );
    }
    console.log(
      `\n60 layers of 100 KiB, 50 ms added to every request: read-ahead (8 in flight) ` +
        `${median(ahead).toFixed(2)} s, one blob at a time ${median(oneByOne).toFixed(2)} s: ` +
        `${(median(oneByOne) / median(ahead)).toFixed(1)} x faster`,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { size: { type: "string", default: "1g" }, runs: { type: "string", default: "5" } },
  });
  await registryBench(values.size!, Math.max(1, Number(values.runs)));
}
