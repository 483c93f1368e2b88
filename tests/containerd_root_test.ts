/**
 * Differential tests of containerd roots (openContainerd) against the real `ctr images export`.
 *
 * The testdata stores are imported into a private containerd, in two namespaces; some content is
 * labelled `containerd.io/distribution.source.*` as `ctr images pull` labels it. Then every case
 * of the differential table is exported by name from the containerd root, with ctr and with
 * ocipack: the archives must be byte-identical once ctr 1.6's output is adjusted as SPEC section 7
 * says (including the source labels 2.x copies into index.json and 1.6 does not), first while
 * containerd runs, then again from the same root after it has stopped.
 */
import assert from "node:assert/strict";
import { Containerd, NAMESPACE, requireTools } from "./support/containerd.ts";
import {
  as2x,
  assertSameArchive,
  caseImages,
  CASES,
  collect,
  HELLO,
  MULTI,
  optionsFromFlags,
  startContainerdWithTestdata,
  TESTDATA,
} from "./support/differential.ts";
import { readBolt } from "../lib/stores/containerd/bbolt.ts";
import { readNamespace } from "../lib/stores/containerd/metadata.ts";
import { CONTAINERD_METADATA_DB } from "../lib/stores/containerd/store.ts";
import {
  exportArchive,
  listContainerdNamespaces,
  NotFoundError,
  OcipackError,
  openContainerd,
} from "../mod.ts";

const tools = requireTools("containerd", "ctr", "tar");

/** The second namespace, holding the testdata store again with labels of its own. */
const SECOND = "second";

/** The cases also run through the command line (`ocipack export --store ROOT -n NS`). */
const CLI_CASES = new Set([
  "OCI manifest, host platform",
  "index, linux/arm64",
  "several images and names at once",
  "digest-only name",
  "partial store, an absent platform",
  `${SECOND}: index, all platforms`,
]);

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Runs `ocipack export --store ROOT -n NS [flags] names...` to stdout. */
async function ocipack(
  root: string,
  namespace: string,
  flags: string[],
  names: string[],
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-R",
      "-W",
      "--no-lock",
      CLI,
      "export",
      "--store",
      root,
      "-n",
      namespace,
      ...flags,
      ...names,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout, stderr: new TextDecoder().decode(stderr) };
}

Deno.test({
  name: "containerd root: ocipack export by name matches ctr images export, running and stopped",
  ignore: tools.ignore,
  async fn(t) {
    const { containerd, images, helloDigest } = await startContainerdWithTestdata();
    await using _ = containerd;
    await containerd.ctrOk(
      ["images", "import", "--no-unpack", "--all-platforms", `${containerd.dir}/store.tar`],
      { namespace: SECOND },
    );
    const hello = images.get(HELLO)!.digest;
    const multi = images.get(MULTI)!.digest;
    const labels = new Map<string, Map<string, Record<string, string>>>([
      [
        NAMESPACE,
        new Map<string, Record<string, string>>([
          [hello, { "containerd.io/distribution.source.127.0.0.1": "team/hello" }],
          [multi, {
            "containerd.io/distribution.source.127.0.0.1": "team/multi,other/multi",
            "containerd.io/distribution.source.registry.example": "multi",
          }],
        ]),
      ],
      [
        SECOND,
        new Map<string, Record<string, string>>([[multi, {
          "containerd.io/distribution.source.example.org": "x/multi",
        }]]),
      ],
    ]);
    for (const [namespace, byDigest] of labels) {
      for (const [digest, set] of byDigest) {
        const pairs = Object.entries(set).map(([key, value]) => `${key}=${value}`);
        // Labels that are not source labels stay out of index.json.
        pairs.push("example.com/not-a-source=1");
        await containerd.ctrOk(["content", "label", digest, ...pairs], { namespace });
      }
    }

    const runs: {
      label: string;
      namespace: string;
      names: string[];
      flags: string[];
      expect: string;
      ctr?: Uint8Array;
    }[] = [];
    for (const c of CASES) {
      runs.push({
        label: c.name,
        namespace: NAMESPACE,
        names: caseImages(c, helloDigest),
        flags: c.flags ?? [],
        expect: c.expect ?? "same",
      });
    }
    runs.push(
      {
        label: `${SECOND}: manifest`,
        namespace: SECOND,
        names: [HELLO],
        flags: [],
        expect: "same",
      },
      {
        label: `${SECOND}: index, all platforms`,
        namespace: SECOND,
        names: [MULTI, HELLO],
        flags: ["--all-platforms"],
        expect: "same",
      },
      {
        label: `${SECOND}: an image of the other namespace`,
        namespace: SECOND,
        names: ["example.com/partial:1"],
        flags: [],
        expect: "fail",
      },
    );

    const check = async (daemon: string) => {
      for (const run of runs) {
        await t.step(`${daemon}: ${run.label}`, async () => {
          const store = await openContainerd(containerd.root, { namespace: run.namespace });
          const exported = () =>
            collect(exportArchive(store, { ...optionsFromFlags(run.flags), images: run.names }));
          if (run.expect !== "same") {
            await assert.rejects(exported, OcipackError);
            if (CLI_CASES.has(run.label)) {
              const cli = await ocipack(containerd.root, run.namespace, run.flags, run.names);
              assert.equal(cli.code, 1, cli.stderr);
              // Content of a platform that was not pulled: the CLI's hint, as for any store.
              assert.match(cli.stderr, /add --skip-missing to export what is there/);
            }
            return;
          }
          const ours = await exported();
          const expected = as2x(run.ctr!, ours, run.flags, labels.get(run.namespace));
          assertSameArchive(ours, expected, run.label);
          if (CLI_CASES.has(run.label)) {
            const cli = await ocipack(containerd.root, run.namespace, run.flags, run.names);
            assert.equal(cli.code, 0, cli.stderr);
            assertSameArchive(cli.stdout, expected, `${run.label} (command line)`);
          }
        });
      }
    };

    for (const run of runs) {
      const out = `${containerd.dir}/ctr.tar`;
      const r = await containerd.ctr(["images", "export", ...run.flags, out, ...run.names], {
        namespace: run.namespace,
      });
      if (run.expect === "same") {
        assert.equal(r.code, 0, `${run.label}: ctr failed: ${r.stderr}`);
        run.ctr = await Deno.readFile(out);
      } else {
        assert.equal(r.code, run.expect === "fail" ? 1 : 0, `${run.label}: ctr: ${r.stderr}`);
      }
    }
    // The labels reach index.json: a check of the comparison itself.
    const labelled = runs.find((r) => r.label === "OCI manifest, host platform")!;
    assert.notDeepEqual(
      as2x(labelled.ctr!, labelled.ctr!, [], labels.get(NAMESPACE)),
      as2x(labelled.ctr!, labelled.ctr!, []),
    );

    await check("running");

    const namespaces = await listContainerdNamespaces(containerd.root);
    const counts = new Map(namespaces.map((n) => [n.name, n.images]));
    assert.equal(counts.get(NAMESPACE), (await containerd.images(NAMESPACE)).length);
    assert.equal(counts.get(SECOND), (await containerd.images(SECOND)).length);

    // Content of one namespace is not found through another, as through containerd.
    const second = await openContainerd(containerd.root, { namespace: SECOND });
    const partial = images.get("example.com/partial:1")!;
    await assert.rejects(second.stat(partial), NotFoundError);
    await assert.rejects(second.open(partial), NotFoundError);

    Deno.kill(containerd.pid, "SIGTERM");
    while (!containerd.exited) await new Promise((resolve) => setTimeout(resolve, 20));
    await check("stopped");
    assert.deepEqual(await listContainerdNamespaces(containerd.root), namespaces);
  },
});

Deno.test({
  name: "containerd root: read consistently while containerd commits transactions",
  ignore: tools.ignore,
  async fn() {
    const { containerd } = await startContainerdWithTestdata();
    await using _ = containerd;
    const base = await containerd.images();
    const hello = base.find((i) => i.name === HELLO)!;
    const TAGS = 40;
    let done = false;
    const writer = (async () => {
      try {
        for (let i = 0; i < TAGS; i++) await containerd.tag(HELLO, `example.com/busy:${i}`);
      } finally {
        done = true;
      }
    })();
    let reads = 0;
    while (!done || reads < 2) {
      // In turn: the store (meta.db copied into memory, then parsed), and the reader page by
      // page (parsed while read, so more often spoilt by a commit and read again).
      const listed = reads % 2 === 0
        ? await (await openContainerd(containerd.root, { namespace: NAMESPACE })).listImages()
        : await readBolt(
          `${containerd.root}/${CONTAINERD_METADATA_DB}`,
          (db) => readNamespace(db, NAMESPACE)!.images,
          { inMemoryLimit: 0 },
        );
      reads++;
      for (const { name } of base) assert.ok(listed.some((i) => i.name === name), name);
      for (const image of listed.filter((i) => i.name.startsWith("example.com/busy:"))) {
        assert.equal(image.target.digest, hello.digest, image.name);
        assert.equal(image.target.size, hello.size, image.name);
      }
    }
    await writer;
    const store = await openContainerd(containerd.root, { namespace: NAMESPACE });
    assert.equal((await store.listImages()).length, base.length + TAGS);
    assert.ok(reads > 1, `${reads} reads`);
  },
});

Deno.test({
  name: "containerd root: 2000 images, branch and overflow pages",
  ignore: tools.ignore,
  async fn() {
    const containerd = await Containerd.start();
    await using _ = containerd;
    const namespace = "many";
    const COUNT = 2000;
    // One layout naming the testdata hello manifest 2000 times; some names are long, and every
    // 500th entry carries a 20 KB annotation, more than a page.
    const layout = `${containerd.dir}/many`;
    await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
    await Deno.copyFile(`${TESTDATA}store/oci-layout`, `${layout}/oci-layout`);
    const store = JSON.parse(await Deno.readTextFile(`${TESTDATA}store/index.json`));
    const hello = store.manifests.find((m: { annotations?: Record<string, string> }) =>
      m.annotations?.["io.containerd.image.name"] === HELLO
    );
    const blob = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`;
    const manifest = JSON.parse(await Deno.readTextFile(`${TESTDATA}store/${blob(hello.digest)}`));
    for (const d of [hello, manifest.config, ...manifest.layers]) {
      await Deno.copyFile(`${TESTDATA}store/${blob(d.digest)}`, `${layout}/${blob(d.digest)}`);
    }
    const big = "0123456789abcdef".repeat(1280);
    const names: string[] = [];
    const entries = [];
    for (let i = 0; i < COUNT; i++) {
      const name = `example.com/many/${i % 7 === 0 ? "long-".repeat(30) : ""}image-${i}:t${i}`;
      names.push(name);
      const annotations: Record<string, string> = { "io.containerd.image.name": name };
      if (i % 500 === 0) annotations["com.example.big"] = big;
      entries.push({
        mediaType: hello.mediaType,
        digest: hello.digest,
        size: hello.size,
        annotations,
      });
    }
    await Deno.writeTextFile(
      `${layout}/index.json`,
      JSON.stringify({ schemaVersion: 2, manifests: entries }),
    );
    const tar = await new Deno.Command("tar", {
      args: ["-C", layout, "-cf", `${layout}.tar`, "."],
    }).output();
    assert.equal(tar.code, 0);
    await containerd.ctrOk(["images", "import", "--no-unpack", `${layout}.tar`], { namespace });

    const root = containerd.root;
    const listed = await (await openContainerd(root, { namespace })).listImages();
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(listed.map((i) => i.name), sorted);
    for (const image of listed) {
      assert.equal(image.target.digest, hello.digest, image.name);
      const i = Number(/image-(\d+):/.exec(image.name)![1]);
      assert.equal(image.target.annotations?.["com.example.big"], i % 500 === 0 ? big : undefined);
    }
    assert.deepEqual(await listContainerdNamespaces(root), [{ name: namespace, images: COUNT }]);
    const stats = await readBolt(`${root}/${CONTAINERD_METADATA_DB}`, (db) => {
      readNamespace(db, namespace);
      return db.stats;
    });
    assert.ok(stats.branchPages >= 2, `${stats.branchPages} branch pages`);
    assert.ok(stats.overflowPages >= COUNT / 500, `${stats.overflowPages} overflow pages`);

    // Some of them exported, against ctr.
    const some = [names[0], names[7], names[1234], names[COUNT - 1]];
    const out = `${containerd.dir}/ctr.tar`;
    await containerd.ctrOk(["images", "export", out, ...some], { namespace });
    const ours = await collect(
      exportArchive(await openContainerd(root, { namespace }), {
        ...optionsFromFlags([]),
        images: some,
      }),
    );
    assertSameArchive(ours, as2x(await Deno.readFile(out), ours, []), "2000 images");
  },
});

/** A throw-away registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1. */
async function startRegistry(dir: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const host = `127.0.0.1:${port}`;
  await Deno.writeTextFile(
    `${dir}/registry.yml`,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/registry\nhttp:\n  addr: ${host}\n`,
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/registry.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
  };
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => (r.body?.cancel(), r.ok), () => false);
    if (ok) return { host, stop };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stop();
  throw new Error(`docker-registry did not answer on ${host}`);
}

/** The labels `ctr content ls` shows for each digest (values may hold commas; keys do not). */
async function contentLabels(
  containerd: Containerd,
  namespace: string,
): Promise<Map<string, Record<string, string>>> {
  const r = await containerd.ctrOk(["content", "ls"], { namespace });
  const out = new Map<string, Record<string, string>>();
  for (const line of new TextDecoder().decode(r.stdout).split("\n").slice(1)) {
    const [digest, , , labels] = line.split("\t").filter((f) => f !== "");
    if (digest === undefined || labels === undefined || labels === "") continue;
    const pairs = labels.split(/,(?=[a-z0-9.-]+\/[^=,]*=)/);
    out.set(
      digest,
      Object.fromEntries(
        pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
      ),
    );
  }
  return out;
}

Deno.test({
  name: "containerd root: images pulled from a registry, with the source labels ctr pull sets",
  ignore: requireTools("containerd", "ctr", "skopeo", "docker-registry").ignore,
  async fn(t) {
    const containerd = await Containerd.start();
    await using _ = containerd;
    const registry = await startRegistry(containerd.dir);
    try {
      const namespace = "pulled";
      const refs = [`${registry.host}/team/hello:1`, `${registry.host}/team/multi:1.0`];
      for (const [tag, ref] of [["oci", refs[0]], ["1.0", refs[1]]]) {
        const copy = await new Deno.Command("skopeo", {
          args: [
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            `oci:${TESTDATA}store:${tag}`,
            `docker://${ref}`,
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(copy.code, 0, new TextDecoder().decode(copy.stderr));
        // ctr 1.6 always unpacks after the pull; the testdata index's configs do not describe
        // their (made-up) layers, so unpacking it fails once everything is fetched and named.
        const pull = await containerd.ctr(
          ["images", "pull", "--plain-http", "--all-platforms", "--snapshotter", "native", ref],
          { namespace },
        );
        if (pull.code !== 0) {
          assert.match(pull.stderr, /mismatched image rootfs and manifest layers/);
        }
      }
      const labels = await contentLabels(containerd, namespace);
      const sources = new Map<string, Record<string, string>>();
      for (const [digest, all] of labels) {
        const source = Object.entries(all).filter(([k]) =>
          k.startsWith("containerd.io/distribution.source.")
        );
        if (source.length > 0) sources.set(digest, Object.fromEntries(source));
      }
      // As SPEC section 7 says: the host without its port, the repository as value.
      const [hello, multi] = await Promise.all(
        refs.map((ref) =>
          containerd.images(namespace).then((images) => images.find((i) => i.name === ref)!)
        ),
      );
      assert.deepEqual(sources.get(hello.digest), {
        "containerd.io/distribution.source.127.0.0.1": "team/hello",
      });
      assert.deepEqual(sources.get(multi.digest), {
        "containerd.io/distribution.source.127.0.0.1": "team/multi",
      });

      const cases: [string, string[], string[]][] = [
        ["manifest", [refs[0]], []],
        ["index, all platforms", [refs[1]], ["--all-platforms"]],
        ["both, linux/arm64 first", [refs[1], refs[0]], [
          "--platform",
          "linux/arm64",
          "--platform",
          "linux/amd64",
        ]],
      ];
      const expected = new Map<string, Uint8Array>();
      for (const [label, names, flags] of cases) {
        const out = `${containerd.dir}/ctr.tar`;
        await containerd.ctrOk(["images", "export", ...flags, out, ...names], { namespace });
        expected.set(label, await Deno.readFile(out));
      }
      for (const daemon of ["running", "stopped"]) {
        if (daemon === "stopped") {
          Deno.kill(containerd.pid, "SIGTERM");
          while (!containerd.exited) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const store = await openContainerd(containerd.root, { namespace });
        for (const [label, names, flags] of cases) {
          await t.step(`${daemon}: ${label}`, async () => {
            const ours = await collect(
              exportArchive(store, { ...optionsFromFlags(flags), images: names }),
            );
            assertSameArchive(ours, as2x(expected.get(label)!, ours, flags, sources), label);
          });
        }
      }
    } finally {
      await registry.stop();
    }
  },
});
