/**
 * An archive file as a store: every exportable differential case, exported to a file, re-exports
 * from that file to the same bytes; compressed archives are refused with a hint; a Docker-format
 * archive (skopeo's docker-archive:, with layer symlinks) is a source too.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { openArchive } from "../lib/stores/archive/store.ts";
import { exportArchive, InvalidArgumentError, type ManifestRequest, openLayout } from "../mod.ts";
import { resolveImage } from "../lib/cli/images.ts";
import { caseImages, CASES, collect, layoutCaseExport, TESTDATA } from "./support/differential.ts";
import { requireTools } from "./support/containerd.ts";
import { InvalidArchiveError } from "../lib/oci/errors.ts";
import { archive, end, entry, join } from "./support/tar_builder.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ocipack-archive-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("archive store: every case re-exports from its own archive to the same bytes", async () => {
  await withTempDir(async (dir) => {
    const cases = CASES.filter((c) => c.expect === undefined && c.store === undefined);
    const layout = await openLayout(`${TESTDATA}store`);
    const hello = (await layout.getImage("docker.io/library/hello:oci")).target.digest;
    let checked = 0;
    for (const c of cases) {
      const names = caseImages(c, hello);
      const exported = await layoutCaseExport(layout, c, hello);
      if (exported === undefined) continue; // a name only the ctr differential creates
      const { manifests = [], ...options } = exported;
      const first = await collect(exportArchive(layout, exported));
      await Deno.writeFile(`${dir}/a.tar`, first);
      const store = await openArchive(`${dir}/a.tar`);
      const again: ManifestRequest[] = [];
      for (const name of names) {
        // Names resolve through the archive's own index.json where it has them.
        again.push(await resolveImage(store, name).catch(() => manifests[again.length]));
      }
      const second = await collect(exportArchive(store, { ...options, manifests: again }));
      assert.deepEqual(second, first, c.name);
      checked++;
    }
    assert(checked >= 20, `${checked} cases`);
  });
});

Deno.test("archive store: a compressed archive is refused with a hint", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/a.tar.gz`, gzipSync(archive({ "oci-layout": "{}" })));
    await assert.rejects(
      openArchive(`${dir}/a.tar.gz`),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        /gzip-compressed.*gunzip.*import/.test(error.message),
    );
  });
});

Deno.test("archive store: hostile or incomplete archives are refused", async () => {
  await withTempDir(async (dir) => {
    const cases: [Uint8Array, RegExp][] = [
      [
        archive({ "oci-layout": '{"imageLayoutVersion":"2.0.0"}', "index.json": "{}" }),
        /version "2.0.0"/,
      ],
      [archive({ "oci-layout": '{"imageLayoutVersion":"1.0.0"}' }), /no index.json/],
      [archive({ "README": "hi" }), /neither oci-layout nor manifest.json/],
      [
        join([entry({ name: "a", body: "x" }), entry({ name: "a/../a", body: "y" }), end()]),
        /appears twice/,
      ],
      [
        archive({ "manifest.json": '[{"Config":"c.json","RepoTags":["a:1"],"Layers":["l.tar"]}]' }),
        /image config "c.json" of manifest.json is not in the archive/,
      ],
    ];
    for (const [bytes, pattern] of cases) {
      await Deno.writeFile(`${dir}/x.tar`, bytes);
      await assert.rejects(openArchive(`${dir}/x.tar`), (error: unknown) => {
        assert(error instanceof InvalidArchiveError, String(error));
        assert.match(error.message, pattern);
        return true;
      });
    }
  });
});

Deno.test({
  name: "archive store: skopeo's docker-archive: (layer symlinks) is a source",
  ignore: requireTools("skopeo").ignore,
  async fn() {
    await withTempDir(async (dir) => {
      const skopeo = await new Deno.Command("skopeo", {
        args: [
          "copy",
          "-q",
          `oci:${TESTDATA}store:oci`,
          `docker-archive:${dir}/d.tar:example.com/hello:v1`,
        ],
        stderr: "piped",
      }).output();
      assert.equal(skopeo.code, 0, new TextDecoder().decode(skopeo.stderr));
      const store = await openArchive(`${dir}/d.tar`);
      assert.equal(store.format, "docker");
      const [image] = await store.listImages();
      assert.equal(image.name, "example.com/hello:v1");
      assert.equal(image.target.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
      assert.deepEqual(image.target.platform, { architecture: "amd64", os: "linux" });
      // The layers keep their bytes: the same layer digests as the OCI image they came from.
      const layout = await openLayout(`${TESTDATA}store`);
      const original = await new Response(
        (await layout.open((await layout.getImage("docker.io/library/hello:oci")).target)).stream,
      ).json();
      const manifest = await new Response((await store.open(image.target)).stream).json();
      assert.deepEqual(
        manifest.layers.map((l: { digest: string }) => l.digest),
        original.layers.map((l: { digest: string }) => l.digest),
      );
      await exportArchive(store, { images: [image.name] }).pipeTo(new WritableStream());
    });
  },
});
