/**
 * Real tools read what ocipack writes: skopeo (docker-archive: and oci-archive:, which verify every
 * digest), umoci (unpacks the layers into a root filesystem), containerd (imports the archive and
 * exports it back to the same bytes), and a multi-platform image built by buildah exported
 * identically by ocipack and ctr.
 */
import assert from "node:assert/strict";
import { Containerd, requireTools } from "./support/containerd.ts";
import { as2x, assertSameArchive } from "./support/differential.ts";
import { readTar, text } from "./support/tar_reader.ts";
import { exportArchive, openLayout } from "../mod.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const HELLO = "docker.io/library/hello:oci";

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `${command} ${args.join(" ")}: ${err}`);
  return new TextDecoder().decode(stdout);
}

async function ocipack(...args: string[]): Promise<Uint8Array> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-R", "-W", CLI, "export", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return stdout;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ocipack-tools-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "skopeo reads the archive as docker-archive: and oci-archive:, verifying every blob",
  ignore: requireTools("skopeo").ignore,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.writeFile(`${dir}/a.tar`, await ocipack("--store", STORE, HELLO));
      const inspected = JSON.parse(await run("skopeo", ["inspect", `docker-archive:${dir}/a.tar`]));
      assert.equal(inspected.Architecture, "amd64");
      assert.equal(inspected.Layers.length, 2);
      // Copies verify each blob's digest on the way.
      await run("skopeo", [
        "copy",
        "-q",
        `docker-archive:${dir}/a.tar`,
        `oci:${dir}/from-docker:x`,
      ]);
      // --preserve-digests: skopeo would otherwise gzip the uncompressed layers on the way.
      await run("skopeo", [
        "copy",
        "-q",
        "--preserve-digests",
        `oci-archive:${dir}/a.tar:oci`,
        `oci:${dir}/from-oci:x`,
      ]);
      const index = JSON.parse(await Deno.readTextFile(`${dir}/from-oci/index.json`));
      const manifest = JSON.parse(text(readTar(await Deno.readFile(`${dir}/a.tar`)), "index.json"));
      assert.equal(
        index.manifests[0].digest,
        manifest.manifests[0].digest,
        "the manifest is kept as is",
      );
    });
  },
});

Deno.test({
  name: "umoci unpacks the exported layers into a root filesystem",
  ignore: requireTools("umoci", "tar").ignore,
  async fn() {
    await withTempDir(async (dir) => {
      // umoci does not choose platforms: give it a single-platform image (ref.name "oci").
      await Deno.writeFile(`${dir}/a.tar`, await ocipack("--store", STORE, HELLO));
      await Deno.mkdir(`${dir}/layout`);
      await run("tar", ["-xf", `${dir}/a.tar`, "-C", `${dir}/layout`]);
      await run("umoci", ["unpack", "--image", `${dir}/layout:oci`, `${dir}/bundle`]);
      const rootfs = `${dir}/bundle/rootfs`;
      assert.match(await Deno.readTextFile(`${rootfs}/bin/hello`), /hello from ocipack testdata/);
      assert.equal(await Deno.readTextFile(`${rootfs}/etc/linux-amd64`), "built for linux-amd64\n");
    });
  },
});

Deno.test({
  name: "containerd imports the archive and exports it back to the same bytes",
  ignore: requireTools("containerd", "ctr").ignore,
  async fn() {
    // (containerd 1.6's import reads plain tar only; 2.x also reads the --gzip output, which the
    // CLI tests show gunzips to this same archive.)
    await using containerd = await Containerd.start();
    const flags = ["--all-platforms", "--platform", "linux/amd64"];
    const ours = await ocipack("--store", STORE, ...flags, "example.com/multi:1.0");
    await Deno.writeFile(`${containerd.dir}/ours.tar`, ours);
    await containerd.importArchive(`${containerd.dir}/ours.tar`);
    const images = await containerd.images();
    assert.ok(images.some((i) => i.name === "example.com/multi:1.0"), JSON.stringify(images));
    const out = `${containerd.dir}/back.tar`;
    const r = await containerd.exportArchive(out, ["example.com/multi:1.0"], flags);
    assert.equal(r.code, 0, r.stderr);
    assertSameArchive(ours, as2x(await Deno.readFile(out), ours, flags), "round trip");
  },
});

Deno.test({
  name: "a multi-platform image built by buildah: ocipack and ctr export the same bytes",
  ignore: requireTools("buildah", "containerd", "ctr", "tar").ignore,
  async fn() {
    await withTempDir(async (dir) => {
      const storage = [
        "--root",
        `${dir}/storage`,
        "--runroot",
        `${dir}/run`,
        "--storage-driver",
        "vfs",
      ];
      const list = "localhost/ocipack-buildah:1";
      await run("buildah", [...storage, "manifest", "create", list]);
      for (const arch of ["amd64", "arm64"]) {
        const container = (await run("buildah", [...storage, "from", "--arch", arch, "scratch"]))
          .trim();
        await Deno.writeTextFile(`${dir}/hello-${arch}`, `built by buildah for ${arch}\n`);
        await run("buildah", [...storage, "copy", container, `${dir}/hello-${arch}`, `/hello`]);
        await run("buildah", [
          ...storage,
          "config",
          "--arch",
          arch,
          "--os",
          "linux",
          "--cmd",
          "/hello",
          container,
        ]);
        await run("buildah", [...storage, "commit", "-q", "--manifest", list, container]);
        await run("buildah", [...storage, "rm", container]);
      }
      await run("buildah", [
        ...storage,
        "manifest",
        "push",
        "-q",
        "--all",
        list,
        `oci:${dir}/layout:1`,
      ]);
      // The CLI finds the index by buildah's ref.name, "1".
      const byCli = readTar(
        await ocipack("--store", `${dir}/layout`, "--platform", "linux/arm64", "1"),
      );
      const entry = JSON.parse(text(byCli, "manifest.json"))[0];
      assert.equal(JSON.parse(text(byCli, entry.Config)).architecture, "arm64");

      // containerd imports the layout (naming the index after the date); both export it.
      await using containerd = await Containerd.start();
      await run("tar", ["-C", `${dir}/layout`, "-cf", `${dir}/layout.tar`, "."]);
      await containerd.importArchive(`${dir}/layout.tar`);
      const image = (await containerd.images()).find((i) => i.mediaType.includes("index"));
      assert.ok(image, "containerd imported the index");
      const flags = ["--all-platforms", "--platform", "linux/arm64"];
      const r = await containerd.exportArchive(`${dir}/ctr.tar`, [image.name], flags);
      assert.equal(r.code, 0, r.stderr);
      const descriptor = { mediaType: image.mediaType, digest: image.digest, size: image.size };
      const ours = new Uint8Array(
        await new Response(exportArchive(await openLayout(`${dir}/layout`), {
          manifests: [{ descriptor, names: [image.name] }],
          platform: "linux/arm64",
          allPlatforms: true,
        })).arrayBuffer(),
      );
      assertSameArchive(ours, as2x(await Deno.readFile(`${dir}/ctr.tar`), ours, flags), "buildah");
    });
  },
});
