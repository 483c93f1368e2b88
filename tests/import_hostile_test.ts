/**
 * One test per hostile or broken input: import refuses it with an error naming the entry, and
 * the store (already holding an image) is byte for byte as it was; verify refuses it too.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  exportArchive,
  importArchive,
  InvalidArchiveError,
  OcipackError,
  openLayout,
  verifyArchive,
} from "../mod.ts";
import { readTar, type TarRecord } from "./support/tar_reader.ts";
import { end, entry, header, join, pax } from "./support/tar_builder.ts";
import { dockerArchive, sourceImage } from "./support/docker_archive.ts";
import { listing } from "./support/store_listing.ts";
import { TESTDATA } from "./support/differential.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const layout = await openLayout(`${TESTDATA}store`);
const HELLO = await new Response(
  exportArchive(layout, { images: ["docker.io/library/hello:oci"] }),
).bytes();
const MULTI = await new Response(
  exportArchive(layout, { images: ["example.com/multi:1.0"], allPlatforms: true }),
).bytes();
const records = readTar(HELLO);
const index = JSON.parse(decoder.decode(records.find((r) => r.name === "index.json")!.body));
const MANIFEST = index.manifests[0].digest.slice(7);
const manifest = JSON.parse(
  decoder.decode(records.find((r) => r.name === `blobs/sha256/${MANIFEST}`)!.body),
);
const LAYER = manifest.layers[0].digest.slice(7);

/** Where the body of a named entry of HELLO starts (its name is in its header, not a prefix). */
function bodyOffset(name: string): number {
  const needle = encoder.encode(name);
  for (let at = 0; at < HELLO.length; at += 512) {
    if (needle.every((b, i) => HELLO[at + i] === b) && HELLO[at + needle.length] === 0) {
      return at + 512;
    }
  }
  throw new Error(`No ${name}`);
}

/** Rebuilds the hello archive with records changed, dropped or added. */
function rebuild(
  change: (r: TarRecord) => { name: string; body: Uint8Array; type?: string; linkname?: string }[],
  extra: Uint8Array[] = [],
): Uint8Array {
  const parts: Uint8Array[][] = [];
  for (const r of records) {
    for (const e of change(r)) {
      parts.push(
        entry({
          name: e.name,
          body: e.body,
          type: e.type ?? r.typeflag,
          mode: r.mode,
          linkname: e.linkname,
        }),
      );
    }
  }
  return join([...parts, ...extra, end()]);
}

const same = (r: TarRecord) => [{ name: r.name, body: r.body }];
const withBody = (name: string, body: Uint8Array | string) => (r: TarRecord) =>
  r.name === name
    ? [{ name, body: typeof body === "string" ? encoder.encode(body) : body }]
    : same(r);
const editIndex = (edit: (text: string) => string) =>
  withBody("index.json", edit(decoder.decode(records.find((r) => r.name === "index.json")!.body)));

interface Hostile {
  name: string;
  archive: () => Uint8Array | Promise<Uint8Array>;
  entry: string | undefined;
  message: RegExp;
  options?: Parameters<typeof importArchive>[2];
}

const docker = async (edit?: (files: Map<string, Uint8Array>) => void): Promise<Uint8Array> => {
  const bytes = dockerArchive([{ image: await sourceImage(), repoTags: ["hello:1"] }], "podman");
  if (edit === undefined) return bytes;
  const files = new Map(readTar(bytes).map((r) => [r.name, r.body]));
  edit(files);
  return join([...[...files].map(([name, body]) => entry({ name, body })), end()]);
};

const CASES: Hostile[] = [
  {
    name: "an absolute name",
    archive: () => rebuild(same, entry({ name: "/etc/cron.d/x", body: "x" })),
    entry: "/etc/cron.d/x",
    message: /absolute name/,
  },
  {
    name: "a name climbing out with ..",
    archive: () => rebuild(same, entry({ name: "blobs/../../x", body: "x" })),
    entry: "blobs/../../x",
    message: /climbs out/,
  },
  {
    name: "a hard link",
    archive: () => rebuild(same, entry({ name: "x", type: "1", linkname: "index.json" })),
    entry: "x",
    message: /hard link/,
  },
  {
    name: "a character device",
    archive: () => rebuild(same, entry({ name: "null", type: "3" })),
    entry: "null",
    message: /character device/,
  },
  {
    name: "a block device",
    archive: () => rebuild(same, entry({ name: "sda", type: "4" })),
    entry: "sda",
    message: /block device/,
  },
  {
    name: "a FIFO",
    archive: () => rebuild(same, entry({ name: "fifo", type: "6" })),
    entry: "fifo",
    message: /FIFO/,
  },
  {
    name: "a sparse file (GNU S)",
    archive: () => rebuild(same, entry({ name: "sparse", type: "S", body: "x" })),
    entry: "sparse",
    message: /sparse/,
  },
  {
    name: "a sparse file (PAX GNU.sparse)",
    archive: () =>
      rebuild(same, [...pax({ "GNU.sparse.major": "1" }), ...entry({ name: "sp", body: "x" })]),
    entry: "sp",
    message: /sparse/,
  },
  {
    name: "a symbolic link for a blob",
    archive: () =>
      rebuild((r) =>
        r.name === `blobs/sha256/${LAYER}`
          ? [{ name: r.name, body: new Uint8Array(0), type: "2", linkname: "../../index.json" }]
          : same(r)
      ),
    entry: `blobs/sha256/${LAYER}`,
    message: /only a Docker layer/,
  },
  {
    name: "a symbolic link out of the archive",
    archive: () =>
      rebuild(same, entry({ name: "x/layer.tar", type: "2", linkname: "../../etc/shadow" })),
    entry: "x/layer.tar",
    message: /outside the archive/,
  },
  {
    name: "a duplicate name",
    archive: () => rebuild((r) => r.name === "index.json" ? [same(r)[0], same(r)[0]] : same(r)),
    entry: "index.json",
    message: /appears twice/,
  },
  {
    name: "a duplicate name spelled ./",
    archive: () =>
      rebuild((r) =>
        r.name === "oci-layout" ? [same(r)[0], { name: "./oci-layout", body: r.body }] : same(r)
      ),
    entry: "./oci-layout",
    message: /appears twice/,
  },
  {
    name: "a truncated archive",
    archive: () => HELLO.subarray(0, bodyOffset(`blobs/sha256/${LAYER}`) + 100),
    entry: `blobs/sha256/${LAYER}`,
    message: /truncated: the archive ends inside it/,
  },
  {
    name: "no end marker",
    archive: () => HELLO.subarray(0, HELLO.length - 1024),
    entry: records[records.length - 1].name,
    message: /truncated: it ends without an end-of-archive marker/,
  },
  {
    name: "bytes after the end marker",
    archive: () => join([HELLO, encoder.encode("trailing garbage"), new Uint8Array(496)]),
    entry: undefined,
    message: /non-zero bytes after its end-of-archive marker/,
  },
  {
    name: "a bad header checksum",
    archive: () => rebuild(same, [header({ name: "bad", checksumDelta: 3 })]),
    entry: "bad",
    message: /bad header checksum/,
  },
  {
    name: "a gzip bomb",
    archive: () =>
      new Uint8Array(
        gzipSync(join([header({ name: "zeros", size: 8 << 20 }), new Uint8Array(8 << 20), end()])),
      ),
    options: { maxDecompressedSize: 1 << 20 },
    entry: undefined,
    message: /expands past the 1048576-byte bound/,
  },
  {
    name: "a blob whose content is not its digest",
    archive: () => rebuild(withBody(`blobs/sha256/${LAYER}`, new Uint8Array(4096))),
    entry: `blobs/sha256/${LAYER}`,
    message: /content does not match its name/,
  },
  {
    name: "a blob named with an invalid digest",
    archive: () => rebuild(same, entry({ name: `blobs/sha256/${LAYER.toUpperCase()}`, body: "x" })),
    entry: `blobs/sha256/${LAYER.toUpperCase()}`,
    message: /not named blobs\/<algorithm>\/<hex>/,
  },
  {
    name: "a blob under an unknown algorithm",
    archive: () => rebuild(same, entry({ name: `blobs/md5/${LAYER.slice(0, 32)}`, body: "x" })),
    entry: `blobs/md5/${LAYER.slice(0, 32)}`,
    message: /not named blobs/,
  },
  {
    name: "a missing layer",
    archive: () => rebuild((r) => r.name === `blobs/sha256/${LAYER}` ? [] : same(r)),
    entry: `blobs/sha256/${LAYER}`,
    message: /layer sha256:.* named in blobs\/sha256\/.* is not in the archive/,
  },
  {
    name: "a descriptor whose size is wrong",
    archive: () =>
      rebuild(editIndex((t) => t.replace(/"size":(\d+)/, (_, n) => `"size":${Number(n) + 1}`))),
    entry: `blobs/sha256/${MANIFEST}`,
    message: /descriptor says/,
  },
  {
    name: "a descriptor with a path for a digest (CVE-2024-3727)",
    archive: () =>
      rebuild(editIndex((t) => t.replace(`sha256:${MANIFEST}`, "sha256:../../../etc/passwd"))),
    entry: "index.json",
    message: /invalid digest/,
  },
  {
    name: "a manifest that is an index (CVE-2021-41190)",
    archive: () => {
      const confused = encoder.encode(JSON.stringify({ ...manifest, manifests: [] }));
      const hex = sha256(confused);
      return rebuild((r) =>
        r.name === "index.json"
          ? [{
            name: r.name,
            body: encoder.encode(
              decoder.decode(r.body).replace(MANIFEST, hex).replace(
                /"size":\d+/,
                `"size":${confused.length}`,
              ),
            ),
          }]
          : r.name === `blobs/sha256/${MANIFEST}`
          ? [{ name: `blobs/sha256/${hex}`, body: confused }]
          : same(r)
      );
    },
    entry: undefined,
    message: /expected a manifest .* but found an index/,
  },
  {
    name: "an unsupported oci-layout version",
    archive: () => rebuild(withBody("oci-layout", '{"imageLayoutVersion":"2.0.0"}')),
    entry: "oci-layout",
    message: /Unsupported OCI layout version "2.0.0"/,
  },
  {
    name: "an oci-layout without index.json",
    archive: () => rebuild((r) => r.name === "index.json" ? [] : same(r)),
    entry: "index.json",
    message: /no index.json/,
  },
  {
    name: "a Docker layer that is not what diff_ids says",
    archive: () =>
      docker((files) => {
        const name = [...files.keys()].find((n) => n.endsWith(".json") && n !== "manifest.json")!;
        files.set(
          name,
          encoder.encode(decoder.decode(files.get(name)!).replace(LAYER, "0".repeat(64))),
        );
        const list = JSON.parse(decoder.decode(files.get("manifest.json")!));
        const hex = sha256(files.get(name)!);
        files.set(`${hex}.json`, files.get(name)!);
        files.delete(name);
        list[0].Config = `${hex}.json`;
        files.set("manifest.json", encoder.encode(JSON.stringify(list)));
      }),
    entry: `${LAYER}.tar`,
    message: /uncompresses to sha256:.* but image config .* says diff_id/,
  },
  {
    name: "a Docker layer link to nothing",
    archive: async () => {
      const bytes = await docker();
      return join([
        bytes.subarray(0, bytes.length - 1024),
        entry({ name: "x/layer.tar", type: "2", linkname: "../missing.tar" }),
        end(),
      ]);
    },
    entry: "x/layer.tar",
    message: /not a file of the archive/,
  },
  {
    name: "a manifest.json naming a missing layer",
    archive: () => docker((files) => files.delete(`${LAYER}.tar`)),
    entry: `${LAYER}.tar`,
    message: /layer .* of manifest.json is not in the archive/,
  },
  {
    name: "a manifest.json that does not parse",
    archive: () => docker((files) => files.set("manifest.json", encoder.encode('[{"Config":1}]'))),
    entry: "manifest.json",
    message: /Invalid manifest.json/,
  },
  {
    name: "neither oci-layout nor manifest.json",
    archive: () => join([entry({ name: "README", body: "hi" }), end()]),
    entry: undefined,
    message: /neither oci-layout nor manifest.json/,
  },
  {
    name: "a missing platform of a multi-platform index",
    archive: () => {
      const r = readTar(MULTI);
      const idx = JSON.parse(decoder.decode(r.find((x) => x.name === "index.json")!.body));
      const list = JSON.parse(
        decoder.decode(
          r.find((x) => x.name === `blobs/sha256/${idx.manifests[0].digest.slice(7)}`)!.body,
        ),
      );
      const arm64 = list.manifests.find((m: { platform: { architecture: string } }) =>
        m.platform.architecture === "arm64"
      );
      return join([
        ...r.filter((x) => x.name !== `blobs/sha256/${arm64.digest.slice(7)}`).map((x) =>
          entry({ name: x.name, body: x.body, type: x.typeflag, mode: x.mode })
        ),
        end(),
      ]);
    },
    options: { platform: "all" },
    entry: undefined,
    message: /manifest sha256:.* is not in the archive .*\(image example.com\/multi:1.0\)/,
  },
];

for (const c of CASES) {
  Deno.test(`import refuses ${c.name}, leaving the store as it was`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "ocipack-hostile-" });
    try {
      await importArchive(ReadableStream.from([HELLO]), dir);
      const before = await listing(dir);
      const bytes = await c.archive();
      const check = (error: unknown) => {
        assert(error instanceof OcipackError, `${c.name}: ${error}`);
        assert.match(error.message, c.message, c.name);
        if (c.entry !== undefined || error instanceof InvalidArchiveError) {
          assert(error instanceof InvalidArchiveError, `${c.name}: ${error}`);
          if (c.entry !== undefined) {
            assert.equal(error.entry, c.entry, `${c.name}: ${error.message}`);
          }
        }
        return true;
      };
      await assert.rejects(importArchive(ReadableStream.from([bytes]), dir, c.options), check);
      assert.deepEqual(await listing(dir), before, c.name);
      await assert.rejects(
        verifyArchive(ReadableStream.from([bytes]), {
          platform: c.options?.platform,
        }),
        OcipackError,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("verify refuses a manifest.json that disagrees with index.json; import (OCI wins) does not", async () => {
  const renamed = rebuild(
    withBody(
      "manifest.json",
      decoder.decode(records.find((r) => r.name === "manifest.json")!.body).replace(
        "hello:oci",
        "hello:other",
      ),
    ),
  );
  await assert.rejects(verifyArchive(ReadableStream.from([renamed])), (error: unknown) => {
    assert(error instanceof InvalidArchiveError);
    assert.equal(error.entry, "manifest.json");
    assert.match(error.message, /names hello:other .* but index.json does not name that image so/);
    return true;
  });
  const relaid = rebuild(
    withBody(
      "manifest.json",
      `[{"Config":"blobs/sha256/${"0".repeat(64)}","RepoTags":[],"Layers":[]}]`,
    ),
  );
  await assert.rejects(
    verifyArchive(ReadableStream.from([relaid])),
    /matches no manifest of index.json/,
  );
  const dir = await Deno.makeTempDir({ prefix: "ocipack-hostile-" });
  try {
    const result = await importArchive(ReadableStream.from([renamed]), dir);
    assert.deepEqual(result.images.map((i) => i.name), ["docker.io/library/hello:oci"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify checks only the selected platforms' content", async () => {
  const r = readTar(MULTI);
  const idx = JSON.parse(decoder.decode(r.find((x) => x.name === "index.json")!.body));
  const list = JSON.parse(
    decoder.decode(
      r.find((x) => x.name === `blobs/sha256/${idx.manifests[0].digest.slice(7)}`)!.body,
    ),
  );
  const arm64 = list.manifests.find((m: { platform: { architecture: string } }) =>
    m.platform.architecture === "arm64"
  );
  const withoutArm64 = join([
    ...r.filter((x) => x.name !== `blobs/sha256/${arm64.digest.slice(7)}`)
      .map((x) => entry({ name: x.name, body: x.body, type: x.typeflag, mode: x.mode })),
    end(),
  ]);
  const { ordered, parsePlatform } = await import("../mod.ts");
  const amd64 = await verifyArchive(ReadableStream.from([withoutArm64]), {
    platform: ordered(parsePlatform("linux/amd64")),
  });
  assert.deepEqual(amd64.images[0].platforms, ["linux/amd64"]);
  await assert.rejects(
    verifyArchive(ReadableStream.from([withoutArm64]), {
      platform: ordered(parsePlatform("linux/arm64")),
    }),
    /is not in the archive/,
  );
});
