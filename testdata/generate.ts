/**
 * Regenerates the test stores under testdata/ (run from the repository root):
 *
 *     deno run -R -W testdata/generate.ts
 *
 * Everything is deterministic: the same script writes the same bytes. Layers are small tar files
 * made with ocipack's own tar encoder (one is gzipped with node:zlib), configs and manifests are
 * plain JSON (some pretty-printed, as registries serve them, so tests notice any re-encoding).
 *
 * - `store/`: an OCI image layout with single-platform OCI and Docker images, a multi-platform OCI
 *   index (with an attestation manifest) and a Docker manifest list, a nested index, one manifest
 *   under several names, layers shared between images, a non-distributable layer that is present
 *   and a foreign layer that is not.
 * - `partial/`: a two-platform index of which only linux/amd64 was copied (the arm64 manifest is
 *   absent, and the arm/v7 manifest is present without its layer).
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { encodeHeader, endOfArchive, paddingLength } from "../lib/export/tar.ts";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
const IMAGE_NAME = "io.containerd.image.name";
const REF_NAME = "org.opencontainers.image.ref.name";

interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

const encoder = new TextEncoder();
const here = new URL(".", import.meta.url);

/** An in-memory store being built; `write()` puts it on disk. */
class StoreBuilder {
  readonly blobs = new Map<string, Uint8Array>();
  readonly index: Descriptor[] = [];

  add(mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
    const digest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length, ...extra };
  }

  json(mediaType: string, value: unknown, pretty = false): Descriptor {
    const text = pretty ? JSON.stringify(value, null, 3) + "\n" : JSON.stringify(value);
    return this.add(mediaType, encoder.encode(text));
  }

  name(target: Descriptor, name: string, refName?: string): void {
    const annotations: Record<string, string> = { [IMAGE_NAME]: name };
    if (refName !== undefined) annotations[REF_NAME] = refName;
    this.index.push({ ...target, annotations });
  }

  async write(dir: URL, omit: readonly string[] = []): Promise<void> {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(new URL("blobs/sha256/", dir), { recursive: true });
    await Deno.writeTextFile(new URL("oci-layout", dir), '{"imageLayoutVersion":"1.0.0"}');
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: this.index };
    await Deno.writeTextFile(new URL("index.json", dir), JSON.stringify(index, null, 2) + "\n");
    const digests = [...this.blobs.keys()].sort();
    for (const digest of digests) {
      if (omit.includes(digest)) continue;
      const path = new URL(`blobs/sha256/${digest.slice(7)}`, dir);
      await Deno.writeFile(path, this.blobs.get(digest)!);
    }
  }
}

/** A small layer: a tar of the given files (and their directories), deterministic. */
function layerTar(files: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  const dirs = new Set<string>();
  for (const path of Object.keys(files).sort()) {
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join("/") + "/";
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parts.push(encodeHeader({ name: dir, mode: 0o755, size: 0, typeflag: "5" }));
    }
    const body = encoder.encode(files[path]);
    parts.push(encodeHeader({ name: path, mode: 0o644, size: body.length, typeflag: "0" }));
    parts.push(body, new Uint8Array(paddingLength(body.length)));
  }
  parts.push(endOfArchive());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function diffId(tar: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(tar).digest("hex");
}

function config(platform: Platform, layers: Uint8Array[], cmd: string): unknown {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Cmd: ["/bin/" + cmd], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: layers.map(diffId) },
    history: layers.map((_, i) => ({ created_by: `ocipack testdata layer ${i}` })),
  };
}

/** An OCI image for a platform: config, the shared base layer and a layer of its own. */
function ociImage(
  store: StoreBuilder,
  platform: Platform,
  base: Uint8Array,
  pretty = false,
): Descriptor {
  const tag = [platform.os, platform.architecture, platform.variant].filter(Boolean).join("-");
  const own = layerTar({ [`etc/${tag}`]: `built for ${tag}\n` });
  const cfg = store.json(OCI_CONFIG, config(platform, [base, own], tag));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: cfg,
    layers: [store.add(OCI_LAYER, base), store.add(OCI_LAYER, own)],
  };
  return store.json(OCI_MANIFEST, manifest, pretty);
}

function dockerImage(store: StoreBuilder, platform: Platform, base: Uint8Array): Descriptor {
  const tag = [platform.os, platform.architecture, platform.variant].filter(Boolean).join("-");
  const own = layerTar({ [`etc/docker-${tag}`]: `docker image for ${tag}\n` });
  const cfg = store.json(DOCKER_CONFIG, config(platform, [base, own], tag), true);
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: cfg,
    layers: [
      store.add(DOCKER_LAYER_GZIP, gzipSync(base, { level: 9 })),
      store.add(DOCKER_LAYER, own),
    ],
  };
  return store.json(DOCKER_MANIFEST, manifest, true);
}

function withPlatform(desc: Descriptor, platform: Platform): Descriptor {
  return { ...desc, platform };
}

const AMD64: Platform = { architecture: "amd64", os: "linux" };
const I386: Platform = { architecture: "386", os: "linux" };
const ARM64: Platform = { architecture: "arm64", os: "linux", variant: "v8" };
const ARMV7: Platform = { architecture: "arm", os: "linux", variant: "v7" };
const ARMV6: Platform = { architecture: "arm", os: "linux", variant: "v6" };
const WINDOWS: Platform = { architecture: "amd64", os: "windows", "os.version": "10.0.20348.2227" };

async function main(): Promise<void> {
  const base = layerTar({
    "bin/hello": "#!/bin/sh\necho hello from ocipack testdata\n",
    "etc/os-release": "NAME=ocipack-testdata\n",
  });

  // ---- store/ ----
  const store = new StoreBuilder();

  // Single-platform OCI image, under three names.
  const hello = ociImage(store, AMD64, base, true);
  store.name(hello, "docker.io/library/hello:oci", "oci");
  store.name(hello, "docker.io/library/hello:latest", "latest");
  store.name(hello, "localhost:5000/team/hello:v1", "v1");

  // Single-platform Docker image (gzip base layer, uncompressed own layer).
  store.name(dockerImage(store, AMD64, base), "docker.io/library/hello:docker");

  // Multi-platform OCI index, with a BuildKit-style attestation manifest for amd64.
  const multi = [AMD64, I386, ARMV7, ARMV6, ARM64].map((p) =>
    withPlatform(ociImage(store, p, base), p)
  );
  const statement = store.add(
    "application/vnd.in-toto+json",
    encoder.encode('{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x"}'),
    { annotations: { "in-toto.io/predicate-type": "https://spdx.dev/Document" } },
  );
  const attestation = store.json(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: store.add("application/vnd.oci.image.config.v1+json", encoder.encode("{}")),
    layers: [statement],
  });
  const multiIndex = store.json(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      ...multi,
      {
        ...attestation,
        platform: { architecture: "unknown", os: "unknown" },
        annotations: {
          "vnd.docker.reference.digest": multi[0].digest,
          "vnd.docker.reference.type": "attestation-manifest",
        },
      },
    ],
  }, true);
  store.name(multiIndex, "example.com/multi:1.0", "1.0");

  // Docker manifest list, including a Windows image whose base layer is foreign (not stored).
  const list = [AMD64, I386, ARMV7, ARM64].map((p) => withPlatform(dockerImage(store, p, base), p));
  const foreign: Descriptor = {
    mediaType: DOCKER_FOREIGN,
    digest: "sha256:" + createHash("sha256").update("windows base layer").digest("hex"),
    size: 1048576,
    urls: ["https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:0000"],
  };
  const winOwn = layerTar({ "Files/hello.txt": "hello from windows\r\n" });
  const winConfig = store.json(DOCKER_CONFIG, {
    architecture: "amd64",
    os: "windows",
    "os.version": WINDOWS["os.version"],
    rootfs: { type: "layers", diff_ids: ["sha256:" + "0".repeat(64), diffId(winOwn)] },
  });
  const windows = store.json(DOCKER_MANIFEST, {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: winConfig,
    layers: [foreign, store.add(DOCKER_LAYER, winOwn)],
  }, true);
  const dockerList = store.json(DOCKER_LIST, {
    schemaVersion: 2,
    mediaType: DOCKER_LIST,
    manifests: [...list, withPlatform(windows, WINDOWS)],
  }, true);
  store.name(dockerList, "docker.io/library/multi:list");
  store.name(windows, "example.com/windows:ltsc2022");

  // A nested index: an index (no platform) inside an index, next to a linux/amd64 manifest.
  const nested = store.json(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [multiIndex, multi[0]],
  });
  store.name(nested, "example.com/nested:1");

  // An OCI image with a non-distributable layer that is present in the store.
  const restricted = layerTar({ "licensed/blob.bin": "not for redistribution\n" });
  const nondistConfig = store.json(OCI_CONFIG, config(AMD64, [base, restricted], "restricted"));
  const nondist = store.json(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: nondistConfig,
    layers: [store.add(OCI_LAYER, base), store.add(OCI_NONDIST, restricted)],
  });
  store.name(nondist, "example.com/restricted:1");

  await store.write(new URL("store/", here));

  // ---- partial/ ----
  // Its own base layer, so none of its blobs is shared with store/ (tests import both stores
  // into one containerd, whose content store would otherwise hold the "absent" blobs).
  const partialBase = layerTar({ "bin/hello": "#!/bin/sh\necho partial copy\n" });
  const partial = new StoreBuilder();
  const pAmd64 = withPlatform(ociImage(partial, AMD64, partialBase), AMD64);
  const pArm64 = withPlatform(ociImage(partial, ARM64, partialBase), ARM64);
  const armOwn = layerTar({ "etc/armv7": "only the manifest and config of arm/v7 are here\n" });
  const armConfig = partial.json(OCI_CONFIG, config(ARMV7, [partialBase, armOwn], "armv7"));
  const armLayer = partial.add(OCI_LAYER_GZIP, gzipSync(armOwn, { level: 9 }));
  const pArmV7 = withPlatform(
    partial.json(OCI_MANIFEST, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: armConfig,
      layers: [partial.add(OCI_LAYER, partialBase), armLayer],
    }),
    ARMV7,
  );
  const partialIndex = partial.json(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [pAmd64, pArm64, pArmV7],
  });
  partial.name(partialIndex, "example.com/partial:1", "1");
  const arm64Blobs = [pArm64.digest];
  await partial.write(new URL("partial/", here), [...arm64Blobs, armLayer.digest]);
}

if (import.meta.main) await main();
