/**
 * Regenerates `testdata/containerd/`, a small containerd root written by the real containerd
 * (run from the repository root, as root, with Debian's containerd and ctr installed):
 *
 *     deno run -A testdata/generate_containerd.ts
 *
 * A private containerd (tests/support/containerd.ts) imports images of `testdata/store` into two
 * namespaces, labels content as `ctr images pull` would, and is stopped; its metadata database
 * and content directory are copied (nothing else of the root; `meta.db` without the unused pages
 * bbolt allocates ahead, past the high-water mark of its meta page). Unlike testdata/generate.ts the
 * bytes of `meta.db` differ from run to run (timestamps), not what they hold:
 *
 * - namespace `default`: `docker.io/library/hello:oci` (its manifest labelled
 *   `containerd.io/distribution.source.registry.example=library/hello`) and
 *   `docker.io/library/hello:docker`;
 * - namespace `moby`: `docker.io/library/hello:oci`, unlabelled.
 */
import { Containerd } from "../tests/support/containerd.ts";
import { openBoltBytes } from "../lib/stores/containerd/bbolt.ts";

const TESTDATA = new URL(".", import.meta.url).pathname;
const OUT = `${TESTDATA}containerd`;
const KEEP = ["docker.io/library/hello:oci", "docker.io/library/hello:docker"];

const containerd = await Containerd.start();
try {
  // A layout of testdata/store with only the images kept (fewer transactions, a smaller file).
  const layout = `${containerd.dir}/layout`;
  await Deno.mkdir(layout);
  await Deno.copyFile(`${TESTDATA}store/oci-layout`, `${layout}/oci-layout`);
  const index = JSON.parse(await Deno.readTextFile(`${TESTDATA}store/index.json`));
  index.manifests = index.manifests.filter((m: { annotations?: Record<string, string> }) =>
    KEEP.includes(m.annotations?.["io.containerd.image.name"] ?? "")
  );
  await Deno.writeTextFile(`${layout}/index.json`, JSON.stringify(index));
  await new Deno.Command("cp", { args: ["-r", `${TESTDATA}store/blobs`, layout] }).output();
  const archive = `${containerd.dir}/store.tar`;
  const tar = await new Deno.Command("tar", { args: ["-C", layout, "-cf", archive, "."] }).output();
  if (tar.code !== 0) throw new Error("tar of the layout failed");
  await containerd.ctrOk(["images", "import", "--no-unpack", "--all-platforms", archive], {
    namespace: "default",
  });
  await containerd.ctrOk(["images", "import", "--no-unpack", "--all-platforms", archive], {
    namespace: "moby",
  });
  await containerd.ctrOk(["images", "rm", KEEP[1]], { namespace: "moby" });
  const [hello] = (await containerd.images("default")).filter((i) => i.name === KEEP[0]);
  await containerd.ctrOk([
    "content",
    "label",
    hello.digest,
    "containerd.io/distribution.source.registry.example=library/hello",
  ], { namespace: "default" });
  for (const namespace of ["default", "moby"]) {
    const id = `gc-${crypto.randomUUID()}`;
    await containerd.ctrOk(["leases", "create", "--id", id], { namespace });
    await containerd.ctrOk(["leases", "delete", "--sync", id], { namespace });
  }
  // Stop the daemon itself, so the copy is what a stopped node holds; then copy.
  Deno.kill(containerd.pid, "SIGTERM");
  while (!containerd.exited) await new Promise((resolve) => setTimeout(resolve, 20));
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  const metadata = `${OUT}/io.containerd.metadata.v1.bolt`;
  await Deno.mkdir(metadata, { recursive: true });
  // bbolt grows its file ahead of use; the pages past the high-water mark are left out.
  const db = await Deno.readFile(`${containerd.root}/io.containerd.metadata.v1.bolt/meta.db`);
  const { pageCount, pageSize } = openBoltBytes(db, "meta.db");
  await Deno.writeFile(`${metadata}/meta.db`, db.subarray(0, pageCount * pageSize));
  const blobs = `${OUT}/io.containerd.content.v1.content/blobs/sha256`;
  await Deno.mkdir(blobs, { recursive: true });
  for await (const entry of Deno.readDir(`${containerd.contentDir}/blobs/sha256`)) {
    await Deno.copyFile(
      `${containerd.contentDir}/blobs/sha256/${entry.name}`,
      `${blobs}/${entry.name}`,
    );
  }
} finally {
  await containerd.stop();
}
