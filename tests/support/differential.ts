/**
 * The differential cases against `ctr images export` (Debian's containerd 1.6), shared by the
 * library and CLI differential tests, and what they need: a containerd holding the testdata
 * stores, the flags-to-options mapping, and the comparison that allows for exactly the 1.6-vs-2.x
 * differences of SPEC section 7 plus our deliberate ones (manifest.json order, digest-only
 * RepoTags).
 */
import assert from "node:assert/strict";
import { Containerd } from "./containerd.ts";
import { entry, readTar, type TarRecord } from "./tar_reader.ts";
import { encodeHeader, endOfArchive, paddingLength } from "../../lib/export/tar.ts";
import {
  defaultStrict,
  type Descriptor,
  type ExportOptions,
  type ManifestRequest,
} from "../../mod.ts";
import { resolveImage, type Store } from "../../lib/cli/images.ts";

/** The testdata directory. */
export const TESTDATA: string = new URL("../../testdata/", import.meta.url).pathname;

/** One export, run by ctr and by ocipack. */
export interface Case {
  /** Test step name. */
  name: string;
  /** Image names, in order. */
  images: string[];
  /** ctr images export flags (also the CLI's). */
  flags?: string[];
  /** Which testdata store holds the images (default `store`). */
  store?: "store" | "partial";
  /**
   * `same`: both succeed with the same bytes; `fail`: both fail; `ctr16-only`: containerd 1.6
   * succeeds where 2.x (and we) fail (SPEC section 7).
   */
  expect?: "same" | "fail" | "ctr16-only";
}

/** The multi-platform OCI index. */
export const MULTI = "example.com/multi:1.0";
const LIST = "docker.io/library/multi:list";
/** The single-platform OCI image. */
export const HELLO = "docker.io/library/hello:oci";

/** The cases; the CLI differential test runs the same table. */
export const CASES: Case[] = [
  { name: "OCI manifest, host platform", images: [HELLO] },
  { name: "Docker manifest", images: ["docker.io/library/hello:docker"] },
  { name: "manifest with a registry and port", images: ["localhost:5000/team/hello:v1"] },
  { name: "index, host platform", images: [MULTI] },
  { name: "index, linux/arm64", images: [MULTI], flags: ["--platform", "linux/arm64"] },
  { name: "index, linux/arm/v7", images: [MULTI], flags: ["--platform", "linux/arm/v7"] },
  {
    name: "index, linux/arm (normalized to v7)",
    images: [MULTI],
    flags: ["--platform", "linux/arm"],
  },
  { name: "index, linux/arm/v6", images: [MULTI], flags: ["--platform", "linux/arm/v6"] },
  { name: "index, linux/386", images: [MULTI], flags: ["--platform", "linux/386"] },
  { name: "index, lone arch arm64", images: [MULTI], flags: ["--platform", "arm64"] },
  {
    name: "index, platforms in preference order",
    images: [MULTI],
    flags: ["--platform", "linux/arm/v6", "--platform", "linux/amd64"],
  },
  {
    name: "index, preference order reversed",
    images: [MULTI],
    flags: ["--platform", "linux/amd64", "--platform", "linux/arm/v6"],
  },
  { name: "index, all platforms", images: [MULTI], flags: ["--all-platforms"] },
  {
    name: "index, all platforms with a platform",
    images: [MULTI],
    flags: ["--all-platforms", "--platform", "linux/386"],
  },
  { name: "index, skip manifest.json", images: [MULTI], flags: ["--skip-manifest-json"] },
  { name: "manifest, skip manifest.json", images: [HELLO], flags: ["--skip-manifest-json"] },
  { name: "manifest list, linux/amd64", images: [LIST], flags: ["--platform", "linux/amd64"] },
  { name: "manifest list, linux/arm64", images: [LIST], flags: ["--platform", "linux/arm64"] },
  {
    name: "manifest list, all platforms, foreign layer absent",
    images: [LIST],
    flags: ["--all-platforms"],
    expect: "fail",
  },
  {
    name: "manifest list, all platforms, skip non-distributable",
    images: [LIST],
    flags: ["--all-platforms", "--skip-non-distributable"],
  },
  {
    name: "Windows manifest with an absent foreign layer",
    images: ["example.com/windows:ltsc2022"],
    expect: "fail",
  },
  {
    name: "Windows manifest, skip non-distributable",
    images: ["example.com/windows:ltsc2022"],
    flags: ["--skip-non-distributable"],
  },
  { name: "non-distributable layer present", images: ["example.com/restricted:1"] },
  {
    name: "non-distributable layer present, skipped",
    images: ["example.com/restricted:1"],
    flags: ["--skip-non-distributable"],
  },
  { name: "nested index, linux/amd64", images: ["example.com/nested:1"] },
  {
    name: "nested index, all platforms",
    images: ["example.com/nested:1"],
    flags: ["--all-platforms", "--platform", "linux/amd64"],
  },
  {
    name: "nested index, only the inner index matches",
    images: ["example.com/nested:1"],
    flags: ["--platform", "linux/arm64"],
    expect: "fail",
  },
  {
    name: "several images and names at once",
    images: [
      HELLO,
      "docker.io/library/hello:latest",
      "docker.io/library/hello:docker",
      MULTI,
      "localhost:5000/team/hello:v1",
      LIST,
    ],
    flags: ["--platform", "linux/amd64"],
  },
  {
    name: "the same image twice",
    images: [HELLO, HELLO],
  },
  {
    name: "index and its own child by name",
    images: [MULTI, "example.com/multi:1.0-amd64"],
    flags: ["--platform", "linux/amd64"],
  },
  {
    name: "digest-only name",
    images: ["docker.io/library/hello@DIGEST"],
  },
  {
    name: "several images, all platforms, skip manifest.json",
    images: [MULTI, LIST, HELLO],
    flags: ["--all-platforms", "--skip-manifest-json", "--skip-non-distributable"],
  },
  {
    name: "no manifest for the platform",
    images: [MULTI],
    flags: ["--platform", "linux/s390x"],
    expect: "fail",
  },
  {
    name: "no manifest for the platform, skip manifest.json",
    images: [MULTI],
    flags: ["--platform", "linux/s390x", "--skip-manifest-json"],
    expect: "ctr16-only",
  },
  { name: "image not found", images: ["docker.io/library/nope:1"], expect: "fail" },
  {
    name: "partial store, the present platform",
    images: ["example.com/partial:1"],
    store: "partial",
    flags: ["--platform", "linux/amd64"],
  },
  {
    name: "partial store, an absent platform",
    images: ["example.com/partial:1"],
    store: "partial",
    flags: ["--platform", "linux/arm64"],
    expect: "fail",
  },
  {
    name: "partial store, all platforms",
    images: ["example.com/partial:1"],
    store: "partial",
    flags: ["--all-platforms"],
    expect: "fail",
  },
];

/** ocipack options equivalent to ctr's flags, as `ctr images export` sets them. */
export function optionsFromFlags(flags: readonly string[]): ExportOptions {
  const platforms: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] === "--platform") platforms.push(flags[++i]);
  }
  return {
    platform: platforms.length > 0 ? platforms : defaultStrict(),
    allPlatforms: flags.includes("--all-platforms"),
    skipDockerManifest: flags.includes("--skip-manifest-json"),
    skipNonDistributable: flags.includes("--skip-non-distributable"),
  };
}

/** Reads a whole stream. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Rebuilds an archive from records, re-encoding the header of each record whose body changed. */
export function rebuild(records: readonly TarRecord[], changed: ReadonlySet<string>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of records) {
    parts.push(
      changed.has(r.name)
        ? encodeHeader({ name: r.name, mode: r.mode, size: r.body.length, typeflag: "0" })
        : r.header,
      r.body,
      new Uint8Array(paddingLength(r.body.length)),
    );
  }
  parts.push(endOfArchive());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const INDEX_MEDIA_TYPE = '"mediaType":"application/vnd.oci.image.index.v1+json",';

/**
 * ctr 1.6's archive as containerd 2.x would write it, with our deliberate differences applied:
 * index.json gains its mediaType, and the full name as ref.name where 1.6 wrote an empty or
 * digest-only object; manifest.json is dropped
 * under --skip-manifest-json, loses digest-only RepoTags, and takes our entry order. `sourceLabels`
 * (digest -> the `containerd.io/distribution.source.*` labels of that content) are copied into
 * the annotations of the index.json entries with that digest, as 2.x's copySourceLabels does.
 */
export function as2x(
  ctr16: Uint8Array,
  ours: Uint8Array,
  flags: readonly string[],
  sourceLabels: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map(),
): Uint8Array {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let records = readTar(ctr16);
  const changed = new Set<string>();
  const setText = (name: string, value: string) => {
    const record = entry(records, name);
    const bytes = encoder.encode(value);
    if (decoder.decode(record.body) === value) return;
    record.body = bytes;
    changed.add(name);
  };

  const index = decoder.decode(entry(records, "index.json").body)
    .replace(
      '{"schemaVersion":2,"manifests":',
      `{"schemaVersion":2,${INDEX_MEDIA_TYPE}"manifests":`,
    )
    // 1.6 writes the parsed object as ref.name even when it is empty or only a digest; 2.x writes
    // the whole name then (containerd commit 75d32fda0).
    .replace(
      /"io\.containerd\.image\.name":"([^"]*)","org\.opencontainers\.image\.ref\.name":"(@[^"]*|)"/g,
      (all, name: string, ref: string) =>
        ref === "" || name.endsWith(ref)
          ? `"io.containerd.image.name":"${name}","org.opencontainers.image.ref.name":"${name}"`
          : all,
    );
  setText("index.json", withSourceLabels(index, sourceLabels));

  if (flags.includes("--skip-manifest-json")) {
    records = records.filter((r) => r.name !== "manifest.json");
  } else if (records.some((r) => r.name === "manifest.json")) {
    const raw = decoder.decode(entry(records, "manifest.json").body);
    const withoutDigestTags = raw.replace(/"RepoTags":\[([^\]]*)\]/g, (_all, list: string) => {
      const tags = list.split(",").filter((tag) => {
        const name = tag.slice(1, -1).split("@")[0];
        return !tag.includes("@") || name.slice(name.lastIndexOf("/") + 1).includes(":");
      });
      return `"RepoTags":${tags.length === 0 ? "null" : `[${tags.join(",")}]`}`;
    });
    const entries = withoutDigestTags.slice(2, -2).split("},{");
    const oursRaw = readTar(ours).find((r) => r.name === "manifest.json");
    if (oursRaw !== undefined) {
      const order = decoder.decode(oursRaw.body).slice(2, -2).split("},{");
      if (order.length === entries.length && order.every((e) => entries.includes(e))) {
        entries.splice(0, entries.length, ...order);
      }
    }
    setText("manifest.json", `[{${entries.join("},{")}}]`);
  }
  return rebuild(records, changed);
}

/** Adds source labels to the annotations of index.json entries, keys sorted as Go writes them. */
function withSourceLabels(
  index: string,
  sourceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>,
): string {
  const parsed = JSON.parse(index) as { manifests: Descriptor[] };
  if (!parsed.manifests.some((m) => sourceLabels.has(m.digest))) return index;
  for (const entry of parsed.manifests) {
    const labels = sourceLabels.get(entry.digest);
    if (labels === undefined) continue;
    const merged: Record<string, string> = { ...entry.annotations, ...labels };
    entry.annotations = Object.fromEntries(
      Object.keys(merged).sort().map((key) => [key, merged[key]]),
    );
  }
  return JSON.stringify(parsed);
}

/** Asserts two archives are identical, reporting the first record that differs. */
export function assertSameArchive(actual: Uint8Array, expected: Uint8Array, label: string): void {
  if (actual.length === expected.length && actual.every((b, i) => b === expected[i])) return;
  const a = readTar(actual);
  const e = readTar(expected);
  const decoder = new TextDecoder();
  const names = (rs: TarRecord[]) => rs.map((r) => r.name).join("\n  ");
  assert.equal(names(a), names(e), `${label}: the archives hold different records`);
  for (const [i, record] of a.entries()) {
    const other = e[i];
    const show = (r: TarRecord) =>
      r.name.endsWith(".json") ? decoder.decode(r.body) : `${r.body.length} bytes`;
    assert.deepEqual(
      { name: record.name, body: show(record) },
      { name: other.name, body: show(other) },
      `${label}: ${record.name} differs`,
    );
    assert.deepEqual(record.header, other.header, `${label}: the header of ${record.name} differs`);
    assert.deepEqual(record.body, other.body, `${label}: the body of ${record.name} differs`);
  }
  assert.fail(`${label}: the archives differ outside their records`);
}

/** The testdata stores imported into a private containerd, with the digest-only name tagged. */
export async function startContainerdWithTestdata(): Promise<
  { containerd: Containerd; images: Map<string, Descriptor>; helloDigest: string }
> {
  const containerd = await Containerd.start();
  try {
    for (const store of ["store", "partial"]) {
      const archive = `${containerd.dir}/${store}.tar`;
      const tar = new Deno.Command("tar", { args: ["-C", TESTDATA + store, "-cf", archive, "."] });
      assert.equal((await tar.output()).code, 0, `tar of testdata/${store}`);
      if (store === "store") {
        await containerd.importArchive(archive);
      } else {
        // ctr refuses --all-platforms for a store that lacks some platforms' content.
        await containerd.ctrOk(["images", "import", "--no-unpack", archive]);
        await containerd.gc();
      }
    }
    let images = await containerd.images();
    const hello = images.find((i) => i.name === HELLO)!;
    const multi = images.find((i) => i.name === MULTI)!;
    await containerd.tag(HELLO, `docker.io/library/hello@${hello.digest}`);
    // The amd64 child of the index under a name of its own.
    const index = JSON.parse(
      await Deno.readTextFile(containerd.blobPath(multi.digest)),
    ) as { manifests: Descriptor[] };
    const amd64 = index.manifests.find((m) => m.platform?.architecture === "amd64")!;
    await containerd.ctrOk([
      "images",
      "create",
      "example.com/multi:1.0-amd64",
      "--media-type",
      amd64.mediaType,
      "--size",
      String(amd64.size),
      amd64.digest,
    ], {}).catch(async () => {
      // ctr 1.6 has no `images create`: import a one-entry layout naming the child instead.
      const dir = `${containerd.dir}/child`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
      const named = {
        mediaType: amd64.mediaType,
        digest: amd64.digest,
        size: amd64.size,
        annotations: { "io.containerd.image.name": "example.com/multi:1.0-amd64" },
      };
      await Deno.writeTextFile(
        `${dir}/index.json`,
        JSON.stringify({ schemaVersion: 2, manifests: [named] }),
      );
      await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
      await Deno.copyFile(containerd.blobPath(amd64.digest), `${dir}/${blobPathOf(amd64.digest)}`);
      const tar = new Deno.Command("tar", {
        args: ["-C", dir, "-cf", `${dir}.tar`, "."],
      });
      assert.equal((await tar.output()).code, 0);
      await containerd.ctrOk(["images", "import", "--no-unpack", `${dir}.tar`]);
    });
    images = await containerd.images();
    return {
      containerd,
      images: new Map(images.map((i) => [i.name, {
        mediaType: i.mediaType,
        digest: i.digest,
        size: i.size,
      }])),
      helloDigest: hello.digest,
    };
  } catch (error) {
    await containerd.stop();
    throw error;
  }
}

function blobPathOf(digest: string): string {
  const [algorithm, hex] = digest.split(":");
  return `blobs/${algorithm}/${hex}`;
}

/** Substitutes the tagged digest into a case's image names. */
export function caseImages(c: Case, helloDigest: string): string[] {
  return c.images.map((name) => name.replace("@DIGEST", `@${helloDigest}`));
}

/**
 * A case's export, as the CLI resolves its images in the testdata layout: the case's options with
 * its manifests, or undefined for a case naming an image only the ctr differential creates.
 */
export async function layoutCaseExport(
  layout: Store,
  c: Case,
  helloDigest: string,
): Promise<ExportOptions | undefined> {
  const manifests: ManifestRequest[] = [];
  try {
    for (const name of caseImages(c, helloDigest)) {
      manifests.push(await resolveImage(layout, name));
    }
  } catch {
    return undefined;
  }
  return { ...optionsFromFlags(c.flags ?? []), manifests };
}
