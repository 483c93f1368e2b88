/**
 * Differential tests of the library against the real `ctr images export` (Debian's containerd
 * 1.6).
 *
 * The testdata stores are imported into a private containerd; then each case exports the same
 * images with ctr and with ocipack, from two sources: the testdata OCI layout by name, and
 * containerd's own content directory by descriptor (what `ctr images ls` lists). The archives
 * must be byte-identical once ctr's output is adjusted for exactly the 1.6-vs-2.x differences of
 * SPEC section 7, and the ways we differ on purpose (manifest.json order, digest-only RepoTags).
 * Cases where ctr refuses must fail with us too.
 */
import assert from "node:assert/strict";
import { requireTools } from "./support/containerd.ts";
import {
  as2x,
  assertSameArchive,
  caseImages,
  CASES,
  collect,
  optionsFromFlags,
  startContainerdWithTestdata,
  TESTDATA,
} from "./support/differential.ts";
import { exportArchive, OcipackError, openLayout } from "../mod.ts";

const tools = requireTools("containerd", "ctr", "tar");

Deno.test({
  name: "ocipack matches ctr images export byte for byte",
  ignore: tools.ignore,
  async fn(t) {
    const { containerd, images, helloDigest } = await startContainerdWithTestdata();
    await using _ = containerd;
    const contentStore = await openLayout(containerd.contentDir);
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const names = caseImages(c, helloDigest);
        const flags = c.flags ?? [];
        const out = `${containerd.dir}/ctr.tar`;
        const ctr = await containerd.exportArchive(out, names, flags);
        const options = optionsFromFlags(flags);
        const storeDir = TESTDATA + (c.store ?? "store");
        const layoutNames = names.filter((n) => !n.includes("@") && !n.endsWith("-amd64"));
        const runs: [string, () => Promise<Uint8Array>][] = [
          ["content store by descriptor", async () => {
            const manifests = names.map((name) => {
              const descriptor = images.get(name);
              if (descriptor === undefined) throw new OcipackError(`Image ${name} not found`);
              return { descriptor, names: [name] };
            });
            return await collect(exportArchive(contentStore, { ...options, manifests }));
          }],
        ];
        if (layoutNames.length === names.length) {
          runs.push(["testdata layout by name", async () =>
            await collect(
              exportArchive(await openLayout(storeDir), { ...options, images: names }),
            )]);
        }
        const expect = c.expect ?? "same";
        for (const [source, run] of runs) {
          if (expect === "same") {
            assert.equal(ctr.code, 0, `ctr failed: ${ctr.stderr}`);
            const ours = await run();
            assertSameArchive(ours, as2x(await Deno.readFile(out), ours, flags), source);
          } else {
            assert.equal(
              ctr.code,
              expect === "fail" ? 1 : 0,
              `ctr exit code (stderr: ${ctr.stderr})`,
            );
            await assert.rejects(run, OcipackError, source);
          }
        }
      });
    }
  },
});
