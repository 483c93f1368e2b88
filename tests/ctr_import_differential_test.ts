/**
 * Differential tests of `import` against the real `ctr images import` (Debian's containerd 1.6):
 * archives made by `ctr images export`, `podman save` (oci-archive and docker-archive),
 * `skopeo copy` to oci-archive: and docker-archive:, and a Docker-24-style `docker save` archive
 * built by tests/support/docker_archive.ts are imported by both with the same flags; the store's
 * names and digests must equal `ctr images ls`, and an export from the new store must equal
 * `ctr images export` of the same names (after the 1.6-vs-2.x adjustments of SPEC section 7).
 */
import assert from "node:assert/strict";
import { Containerd, requireTools } from "./support/containerd.ts";
import {
  as2x,
  assertSameArchive,
  collect,
  optionsFromFlags,
  TESTDATA,
} from "./support/differential.ts";
import { dockerArchive, sourceImage } from "./support/docker_archive.ts";
import {
  defaultStrict,
  exportArchive,
  importArchive,
  type ImportOptions,
  openLayout,
  ordered,
  parsePlatform,
} from "../mod.ts";

const STORE = `${TESTDATA}store`;
let namespaces = 0;

async function run(command: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(command, {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  assert.equal(code, 0, `${command} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/** The ocipack options for ctr import flags. */
function importOptions(flags: readonly string[]): ImportOptions {
  const value = (flag: string) => {
    const i = flags.indexOf(flag);
    return i < 0 ? undefined : flags[i + 1];
  };
  const platform = value("--platform");
  return {
    platform: flags.includes("--all-platforms")
      ? "all"
      : platform !== undefined
      ? ordered(parsePlatform(platform))
      : defaultStrict(),
    baseName: value("--base-name"),
    digests: flags.includes("--digests"),
    indexName: value("--index-name"),
  };
}

/**
 * Imports an archive with ctr (into a namespace of its own) and with ocipack (into a new store),
 * compares names and digests, then exports every imported name from both and compares.
 */
async function compare(
  containerd: Containerd,
  archive: string,
  flags: string[],
  expectNames: number,
): Promise<void> {
  const namespace = `import-${++namespaces}`;
  await containerd.ctrOk(["images", "import", "--no-unpack", ...flags, archive], { namespace });
  const ctrImages = (await containerd.images(namespace))
    .map((i) => `${i.name} ${i.mediaType} ${i.digest}`).sort();
  const store = `${containerd.dir}/store-${namespace}`;
  using file = await Deno.open(archive);
  const result = await importArchive(file.readable, store, importOptions(flags));
  const layout = await openLayout(store);
  const ours = (await layout.listImages())
    .map((i) => `${i.name} ${i.target.mediaType} ${i.target.digest}`).sort();
  assert.deepEqual(ours, ctrImages, `${archive} ${flags.join(" ")}`);
  assert.equal(ours.length, expectNames, ours.join("\n"));
  assert.equal(result.images.length, expectNames);
  // Export each name back out of both stores.
  const exportFlags = flags.includes("--all-platforms") ? ["--all-platforms"] : [];
  for (const image of await layout.listImages()) {
    if (
      image.target.mediaType === "application/vnd.oci.image.index.v1+json" &&
      image.name.startsWith("idx")
    ) {
      continue; // the archive's own index: its entries are named images, not platforms
    }
    const out = `${containerd.dir}/ctr-export.tar`;
    await containerd.ctrOk(["images", "export", ...exportFlags, out, image.name], { namespace });
    const mine = await collect(
      exportArchive(layout, { ...optionsFromFlags(exportFlags), images: [image.name] }),
    );
    assertSameArchive(mine, as2x(await Deno.readFile(out), mine, exportFlags), image.name);
  }
}

const tools = requireTools("containerd", "ctr", "tar", "skopeo");

Deno.test({
  name: "import matches ctr images import: ctr, skopeo and docker 24 archives",
  ignore: tools.ignore,
  async fn(t) {
    const containerd = await Containerd.start();
    await using _ = containerd;
    const dir = containerd.dir;
    // Content for ctr to export: the testdata store imported as a layout.
    await run("tar", ["-C", STORE, "-cf", `${dir}/testdata.tar`, "."]);
    await containerd.importArchive(`${dir}/testdata.tar`);

    await t.step("ctr images export, one image", async () => {
      await containerd.ctrOk([
        "images",
        "export",
        `${dir}/hello.tar`,
        "docker.io/library/hello:oci",
      ]);
      await compare(containerd, `${dir}/hello.tar`, ["--all-platforms"], 1);
      await compare(containerd, `${dir}/hello.tar`, ["--platform", "linux/amd64"], 1);
    });
    await t.step("ctr images export, several images, all platforms", async () => {
      await containerd.ctrOk([
        "images",
        "export",
        "--all-platforms",
        `${dir}/multi.tar`,
        "example.com/multi:1.0",
        "docker.io/library/hello:docker",
        "localhost:5000/team/hello:v1",
      ]);
      await compare(containerd, `${dir}/multi.tar`, ["--all-platforms"], 3);
      await compare(containerd, `${dir}/multi.tar`, [
        "--all-platforms",
        "--digests",
        "--index-name",
        "idx.example.com/all:1",
      ], 7);
    });
    await t.step("skopeo copy to oci-archive: and docker-archive:", async () => {
      await run("skopeo", [
        "copy",
        "-q",
        `oci:${STORE}:oci`,
        `oci-archive:${dir}/sk-oci.tar:example.com/sk:1`,
      ]);
      await compare(containerd, `${dir}/sk-oci.tar`, ["--all-platforms"], 1);
      await compare(containerd, `${dir}/sk-oci.tar`, [
        "--all-platforms",
        "--base-name",
        "example.com/sk",
      ], 1);
      await run("skopeo", [
        "copy",
        "-q",
        `oci:${STORE}:oci`,
        `docker-archive:${dir}/sk-docker.tar:example.com/sk:2`,
      ]);
      await compare(containerd, `${dir}/sk-docker.tar`, ["--all-platforms"], 1);
    });
    await t.step("a Docker 24 style archive (docker save), layer links included", async () => {
      const image = await sourceImage();
      const changed = {
        ...image,
        config: new TextEncoder().encode(
          new TextDecoder().decode(image.config).replace("layer 1", "layer one"),
        ),
      };
      await Deno.writeFile(
        `${dir}/docker24.tar`,
        dockerArchive([
          { image, repoTags: ["hello:24", "example.com/team/hello:24"] },
          { image: changed, repoTags: ["hello:shared"] },
        ], "docker24"),
      );
      await compare(containerd, `${dir}/docker24.tar`, ["--all-platforms"], 3);
      await compare(
        containerd,
        `${dir}/docker24.tar`,
        ["--platform", "linux/amd64", "--digests"],
        5,
      );
    });
  },
});

Deno.test({
  name: "import matches ctr images import: podman save, both formats",
  ignore: requireTools("containerd", "ctr", "tar", "skopeo", "podman").ignore,
  async fn() {
    const containerd = await Containerd.start();
    await using _ = containerd;
    const dir = containerd.dir;
    // Podman's own storage in a directory of the test (short: podman limits the runroot's
    // length), never the system's.
    const short = await Deno.makeTempDir({ prefix: "op-" });
    const podman = [
      "--root",
      `${short}/root`,
      "--runroot",
      `${short}/run`,
      "--storage-driver",
      "vfs",
    ];
    try {
      await run("skopeo", [
        "copy",
        "-q",
        `oci:${STORE}:oci`,
        `containers-storage:[vfs@${short}/root+${short}/run]localhost/hello:1`,
      ]);
      for (const format of ["oci-archive", "docker-archive"]) {
        const out = `${dir}/podman-${format}.tar`;
        await run("podman", [
          ...podman,
          "save",
          "--format",
          format,
          "-o",
          out,
          "localhost/hello:1",
        ]);
        await compare(containerd, out, ["--all-platforms"], 1);
      }
    } finally {
      await Deno.remove(short, { recursive: true }).catch(() => {});
    }
  },
});
