// Smoke test of tests/support/containerd.ts against the real containerd/ctr.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Containerd, requireTools } from "./support/containerd.ts";

const ignore = requireTools("containerd", "ctr", "tar").ignore;

const enc = new TextEncoder();

function sha256(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** A one-file tar archive (ustar), enough for a layer blob. */
function tinyTar(name: string, body: Uint8Array): Uint8Array {
  const header = new Uint8Array(512);
  const put = (off: number, s: string) => header.set(enc.encode(s), off);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, body.length.toString(8).padStart(11, "0") + "\0");
  put(136, "00000000000\0");
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  const sum = header.reduce((a, b) => a + b, 0);
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  const padded = Math.ceil(body.length / 512) * 512;
  const out = new Uint8Array(512 + padded + 1024);
  out.set(header, 0);
  out.set(body, 512);
  return out;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}: ${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

/** Writes an OCI image layout with one manifest named `name`; returns its blobs' digests. */
async function writeLayout(dir: string, name: string) {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const digest = sha256(bytes);
    await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
    return { digest, size: bytes.length };
  };
  const layer = await put(tinyTar("hello.txt", enc.encode("hello from ocipack\n")));
  const config = await put(enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: [layer.digest] },
  })));
  const manifest = await put(enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  })));
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: { "io.containerd.image.name": name },
      }],
    }),
  );
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return { layer, config, manifest };
}

Deno.test({
  name: "containerd harness: start, import, list, export, stop",
  ignore,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "ocipack-harness-" });
    const ctrd = await Containerd.start();
    try {
      const name = "docker.io/library/smoke:1";
      const layout = `${work}/layout`;
      const blobs = await writeLayout(layout, name);
      const archive = `${work}/in.tar`;
      await run("tar", ["-C", layout, "-cf", archive, "."]);

      await ctrd.importArchive(archive);
      const images = await ctrd.images();
      assert.deepEqual(images, [{
        name,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: blobs.manifest.digest,
        size: blobs.manifest.size,
      }]);
      for (const b of [blobs.layer, blobs.config, blobs.manifest]) {
        const st = await Deno.stat(`${ctrd.contentDir}/blobs/sha256/${b.digest.slice(7)}`);
        assert.equal(st.size, b.size);
      }

      const out = `${work}/out.tar`;
      const res = await ctrd.exportArchive(out, [name], []);
      assert.deepEqual(res, { code: 0, stderr: "" });
      const listed = (await run("tar", ["-tf", out])).trim().split("\n").sort();
      assert.deepEqual(
        listed,
        [
          "blobs/",
          "blobs/sha256/",
          ...[blobs.layer, blobs.config, blobs.manifest].map((b) =>
            `blobs/sha256/${b.digest.slice(7)}`
          ),
          "index.json",
          "manifest.json",
          "oci-layout",
        ].sort(),
      );

      const missing = await ctrd.exportArchive(`${work}/none.tar`, ["nope:1"], []);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^ctr: image "nope:1": not found/);

      await ctrd.removeImage(name);
      assert.deepEqual(await ctrd.images(), []);
    } finally {
      await ctrd.stop();
      await Deno.remove(work, { recursive: true });
    }
    assert.equal(ctrd.exited, true);
    await assert.rejects(Deno.stat(ctrd.dir), Deno.errors.NotFound);
    // The pid is gone (or at least no longer our containerd).
    const alive = await Deno.readTextFile(`/proc/${ctrd.pid}/cmdline`).then(
      (c) => c.includes("containerd"),
      () => false,
    );
    assert.equal(alive, false);
  },
});

Deno.test({
  name: "containerd harness: parallel instances do not collide; await using stops",
  ignore,
  fn: async () => {
    const dirs: string[] = [];
    {
      await using a = await Containerd.start();
      await using b = await Containerd.start();
      dirs.push(a.dir, b.dir);
      assert.notEqual(a.socket, b.socket);
      const [va, vb] = await Promise.all([a.ctr(["version"]), b.ctr(["version"])]);
      assert.equal(va.code, 0);
      assert.equal(vb.code, 0);
    }
    for (const d of dirs) await assert.rejects(Deno.stat(d), Deno.errors.NotFound);
  },
});
