/**
 * The differential cases against `ctr images export`, run through the command line: for each
 * case, `ocipack export --store <testdata store> [ctr's flags] IMAGE...` must write the same bytes
 * as ctr (allowing for SPEC section 7), or fail where ctr fails.
 */
import assert from "node:assert/strict";
import { requireTools } from "./support/containerd.ts";
import {
  as2x,
  assertSameArchive,
  caseImages,
  CASES,
  startContainerdWithTestdata,
  TESTDATA,
} from "./support/differential.ts";

const tools = requireTools("containerd", "ctr", "tar");
const CLI = new URL("../cli.ts", import.meta.url).pathname;

Deno.test({
  name: "the CLI matches ctr images export byte for byte",
  ignore: tools.ignore,
  async fn(t) {
    const { containerd, helloDigest } = await startContainerdWithTestdata();
    await using _ = containerd;
    for (const c of CASES) {
      // The CLI resolves names through the testdata layout; a name containerd alone has is skipped.
      if (c.images.some((n) => n.endsWith("-amd64"))) continue;
      await t.step(c.name, async () => {
        const names = caseImages(c, helloDigest);
        const flags = c.flags ?? [];
        const out = `${containerd.dir}/ctr.tar`;
        const ctr = await containerd.exportArchive(out, names, flags);
        const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-R",
            "-W",
            CLI,
            "export",
            "--store",
            TESTDATA + (c.store ?? "store"),
            ...flags,
            ...names,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const message = new TextDecoder().decode(stderr);
        const expect = c.expect ?? "same";
        if (expect === "same") {
          assert.equal(ctr.code, 0, `ctr failed: ${ctr.stderr}`);
          assert.equal(code, 0, message);
          assertSameArchive(stdout, as2x(await Deno.readFile(out), stdout, flags), "CLI");
        } else {
          assert.equal(ctr.code, expect === "fail" ? 1 : 0, `ctr exit code (${ctr.stderr})`);
          assert.equal(code, 1, "the CLI fails with exit code 1");
          assert.match(message, /^ocipack: [^\n]+\n$/, "with one line");
        }
      });
    }
  },
});
