/**
 * Exports at count scale: a store of a thousand small images (bench/count_store.ts), every
 * name in one export, compared byte for byte with `ctr images export` of the same names (allowing
 * for SPEC section 7); and what the plan keeps and the export asks for per blob, counted (never
 * timed).
 */
import assert from "node:assert/strict";
import { buildCountStore, countStoreBlobs } from "../bench/count_store.ts";
import { Containerd, requireTools } from "./support/containerd.ts";
import { as2x, assertSameArchive, collect, optionsFromFlags } from "./support/differential.ts";
import { type ContentProvider, exportArchive, openLayout } from "../mod.ts";
import { ArchiveWriter } from "../lib/export/archive_writer.ts";
import { planArchive } from "../lib/export/walk.ts";
import { ANNOTATION_IMAGE_NAME } from "../lib/oci/documents.ts";
import { isIndexType, isManifestType } from "../lib/oci/media_types.ts";
import { CountingProvider } from "./support/counting_provider.ts";

/**
 * Images in the store: 1,000 images, 1,100 names, 5,040 blobs. (ctr imports about a hundred blobs
 * a second, even in memory: more would make this test long.)
 */
const IMAGES = 1000;

const tools = requireTools("containerd", "ctr", "tar");

Deno.test({
  name: `every name of ${IMAGES} small images: the same archive as ctr images export`,
  ignore: tools.ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ocipack-count-" });
    await using containerd = await Containerd.start({ inMemory: true });
    try {
      const store = await buildCountStore(`${dir}/store`, IMAGES);
      const tar = new Deno.Command("tar", {
        args: ["-C", store.dir, "-cf", `${dir}/store.tar`, "."],
      });
      assert.equal((await tar.output()).code, 0, "tar of the store");
      await containerd.ctrOk(["images", "import", "--no-unpack", `${dir}/store.tar`], {
        timeoutMs: 300_000,
      });
      const ctr = await containerd.ctr(["images", "export", `${dir}/ctr.tar`, ...store.names], {
        timeoutMs: 300_000,
      });
      assert.equal(ctr.code, 0, `ctr images export: ${ctr.stderr}`);
      const layout = await openLayout(store.dir);
      const ours = await collect(
        exportArchive(layout, { ...optionsFromFlags([]), images: store.names }),
      );
      const expected = as2x(await Deno.readFile(`${dir}/ctr.tar`), ours, []);
      assertSameArchive(ours, expected, `${store.names.length} names`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("at count scale, the plan keeps documents within its budget and each blob is read a bounded number of times", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ocipack-count-" });
  try {
    const images = 300;
    const store = await buildCountStore(`${dir}/store`, images);
    const layout = await openLayout(store.dir);
    const requests = [];
    for (const name of store.names) {
      const { target } = await layout.getImage(name);
      requests.push({ ...target, annotations: { [ANNOTATION_IMAGE_NAME]: name } });
    }
    // A budget for about a third of the manifests: the rest are read again by the writer.
    const budget = 100 * 1024;
    const counting = new CountingProvider(layout);
    const plan = await planArchive(counting, requests, { documentCacheBytes: budget });
    const blobs = [...plan.records].filter((r) => r.kind === "blob");
    assert.equal(blobs.length, countStoreBlobs(images));
    let kept = 0;
    for (const record of blobs) kept += record.bytes?.length ?? 0;
    assert.ok(kept > 0 && kept <= budget, `${kept} bytes kept`);

    const writer = new ArchiveWriter(counting, plan);
    const buffer = new ArrayBuffer(1024 * 1024);
    while (!(await writer.fill(buffer, 0, buffer.byteLength)).ended);
    for (const record of blobs) {
      const { digest, mediaType } = record.descriptor;
      const document = isManifestType(mediaType) || isIndexType(mediaType);
      // A manifest is read to plan, and read again to write unless the plan kept it; any other
      // blob is read once, to write. Each is looked up once (a manifest, being requested, for
      // its labels).
      const opens = document ? (record.bytes === undefined ? 2 : 1) : 1;
      assert.equal(counting.opens.get(digest), opens, `opens of ${digest}`);
      assert.equal(counting.stats.get(digest), 1, `stats of ${digest}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ArchiveWriter fails a file whose body is not the size it was measured at", async () => {
  // index.json and manifest.json are measured when planned and made again when written: a body
  // that came out otherwise would shift every byte after it, so the export fails there instead.
  const never: ContentProvider = {
    stat: () => Promise.reject(new Error("no blobs")),
    open: () => Promise.reject(new Error("no blobs")),
  };
  for (const made of [3, 5, 70_000]) {
    const body = new Uint8Array(made);
    const record = {
      kind: "file" as const,
      name: "index.json",
      mode: 0o644,
      size: 4,
      body: async function* () {
        yield body.subarray(0, made >> 1);
        yield body.subarray(made >> 1);
      },
    };
    const writer = new ArchiveWriter(never, { records: [record], manifests: [], incomplete: [] });
    const buffer = new ArrayBuffer(64 * 1024);
    await assert.rejects(
      async () => {
        while (!(await writer.fill(buffer, 0, buffer.byteLength)).ended);
      },
      {
        message: `The archive's index.json came out ${
          made > 4 ? "over" : `${made} bytes long, not`
        } the 4 bytes it was measured at`,
      },
    );
  }
});
