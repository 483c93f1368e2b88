/**
 * Differential tests of registry export against the real `ctr images pull` + `ctr images export`
 * (Debian's containerd 1.6) from the same real registry, in its three set-ups (no auth with
 * ctr's `--plain-http`; htpasswd with `--user`; TLS and token auth with `--tlscacert`).
 *
 * ctr fetches every platform (`ctr content fetch`: the pull without unpacking, which the
 * synthetic test layers do not survive) (so that any export flags can be tried on its content); ocipack reads
 * only what each export needs. ctr's archive is adjusted for the 1.6-vs-2.x differences of SPEC
 * section 7, including the one that matters here: 2.x copies the `containerd.io/distribution.
 * source.HOST` label its pull set on each requested image's content into that image's index.json
 * annotations, 1.6 does not, so the label is added to ctr's index.json before comparing.
 */
import assert from "node:assert/strict";
import { Containerd, requireTools } from "./support/containerd.ts";
import { as2x, assertSameArchive, optionsFromFlags, rebuild } from "./support/differential.ts";
import { PASSWORD, type Setup, TestRegistry, USER } from "./support/registry.ts";
import { entry, readTar } from "./support/tar_reader.ts";
import { exportArchive, OcipackError, openRegistry } from "../mod.ts";

const tools = requireTools("docker-registry", "htpasswd", "openssl", "containerd", "ctr");
const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const LABEL = "containerd.io/distribution.source.127.0.0.1";

/** Store name -> repository, tag. */
const IMAGES: Record<string, [string, string]> = {
  hello: ["team/hello", "oci"],
  docker: ["hello", "docker"],
  multi: ["multi", "1.0"],
  list: ["library/multi", "list"],
  nested: ["nested", "1"],
};
const STORE_NAMES: Record<string, string> = {
  hello: "docker.io/library/hello:oci",
  docker: "docker.io/library/hello:docker",
  multi: "example.com/multi:1.0",
  list: "docker.io/library/multi:list",
  nested: "example.com/nested:1",
};

interface Case {
  name: string;
  images: (keyof typeof IMAGES)[];
  flags?: string[];
  fail?: boolean;
}

const CASES: Case[] = [
  { name: "OCI manifest", images: ["hello"] },
  { name: "Docker manifest", images: ["docker"] },
  { name: "index, host platform", images: ["multi"] },
  { name: "index, linux/arm64", images: ["multi"], flags: ["--platform", "linux/arm64"] },
  { name: "index, linux/arm (v7)", images: ["multi"], flags: ["--platform", "linux/arm"] },
  {
    name: "index, platforms in preference order",
    images: ["multi"],
    flags: ["--platform", "linux/arm/v6", "--platform", "linux/amd64"],
  },
  { name: "index, all platforms", images: ["multi"], flags: ["--all-platforms"] },
  { name: "index, skip manifest.json", images: ["multi"], flags: ["--skip-manifest-json"] },
  {
    name: "manifest list, linux/arm64",
    images: ["list"],
    flags: ["--platform", "linux/arm64"],
  },
  {
    name: "manifest list, linux/amd64, skip non-distributable",
    images: ["list"],
    flags: ["--platform", "linux/amd64", "--skip-non-distributable"],
  },
  {
    name: "nested index, all platforms",
    images: ["nested"],
    flags: ["--all-platforms", "--platform", "linux/amd64"],
  },
  {
    name: "several images at once",
    images: ["hello", "multi", "docker", "list"],
    flags: ["--platform", "linux/amd64"],
  },
  {
    name: "no manifest for the platform",
    images: ["multi"],
    flags: ["--platform", "linux/s390x"],
    fail: true,
  },
];

/**
 * Adds to ctr's index.json the source label of each named entry, read from containerd's own
 * content labels (what its pull set), as containerd 2.x writes it.
 */
async function withSourceLabels(archive: Uint8Array, containerd: Containerd): Promise<Uint8Array> {
  const listing = new TextDecoder().decode((await containerd.ctrOk(["content", "ls"])).stdout);
  const key = LABEL.replaceAll(".", "\\.");
  const labelOf = (digest: string): string | undefined => {
    const line = listing.split("\n").find((l) => l.startsWith(digest));
    if (line === undefined) return undefined;
    return new RegExp(`${key}=(.+?)(?:,containerd\\.io/|\\s|$)`).exec(line)?.[1];
  };
  const records = readTar(archive);
  const index = entry(records, "index.json");
  const text = new TextDecoder().decode(index.body).replace(
    /"digest":"([^"]+)","size":(\d+),"annotations":\{"io\.containerd\.image\.name":"/g,
    (all, digest: string, size: string) => {
      const repositories = labelOf(digest);
      return repositories === undefined
        ? all
        : `"digest":"${digest}","size":${size},"annotations":{"${LABEL}":"${repositories}",` +
          `"io.containerd.image.name":"`;
    },
  );
  index.body = new TextEncoder().encode(text);
  return rebuild(records, new Set(["index.json"]));
}

for (const setup of ["none", "basic", "token"] as Setup[]) {
  Deno.test({
    name: `registry export matches ctr images pull + export (${setup})`,
    ignore: tools.ignore,
    async fn(t) {
      await using registry = await TestRegistry.start(setup);
      for (const [key, [repository, tag]] of Object.entries(IMAGES)) {
        await registry.push(STORE, STORE_NAMES[key], repository, tag);
      }
      const refs = new Map<string, string>();
      for (const [key, [repository, tag]] of Object.entries(IMAGES)) {
        refs.set(key, `${registry.host}/${repository}:${tag}`);
      }
      /** A fresh containerd that has pulled the images (so its labels are those pulls' own). */
      const pulled = async (keys: readonly string[]): Promise<Containerd> => {
        const containerd = await Containerd.start();
        try {
          const pullFlags: string[] = [];
          if (setup === "none") pullFlags.push("--plain-http");
          if (setup === "basic") pullFlags.push("--plain-http", "--user", `${USER}:${PASSWORD}`);
          if (setup === "token") {
            const ca = `${containerd.dir}/ca.pem`;
            await Deno.writeTextFile(ca, registry.caPem!);
            // ctr 1.6 speaks plain http to a loopback registry unless a hosts.toml says https.
            const hosts = `${containerd.dir}/hosts.d`;
            await Deno.mkdir(`${hosts}/${registry.host}`, { recursive: true });
            await Deno.writeTextFile(
              `${hosts}/${registry.host}/hosts.toml`,
              `server = "https://${registry.host}"\n\n[host."https://${registry.host}"]\n` +
                `  capabilities = ["pull", "resolve"]\n  ca = "${ca}"\n`,
            );
            pullFlags.push(
              "--hosts-dir",
              hosts,
              "--tlscacert",
              ca,
              "--user",
              `${USER}:${PASSWORD}`,
            );
          }
          for (const key of keys) {
            // `content fetch` is the pull without unpacking (which the synthetic layers fail).
            await containerd.ctrOk([
              "content",
              "fetch",
              // The list's Windows child has a foreign layer whose URL is not reachable here.
              ...(key === "list"
                ? ["linux/amd64", "linux/386", "linux/arm/v7", "linux/arm64"].flatMap((p) => [
                  "--platform",
                  p,
                ])
                : ["--all-platforms"]),
              ...pullFlags,
              refs.get(key)!,
            ], { timeoutMs: 60_000 });
          }
          return containerd;
        } catch (error) {
          await containerd.stop();
          throw error;
        }
      };
      for (const c of CASES) {
        await t.step(c.name, async () => {
          const names = c.images.map((k) => refs.get(k)!);
          const flags = c.flags ?? [];
          await using containerd = await pulled(c.images);
          const out = `${containerd.dir}/ctr.tar`;
          const ctr = await containerd.exportArchive(out, names, flags);
          await using source = openRegistry({
            plainHttp: setup === "token" ? undefined : [registry.host],
            caCerts: registry.caPem ? [registry.caPem] : undefined,
            credentials: setup === "none"
              ? undefined
              : { [registry.host]: { username: USER, password: PASSWORD } },
          });
          const run = async () =>
            new Uint8Array(
              await new Response(
                exportArchive(source, {
                  ...optionsFromFlags(flags),
                  images: names.map((n) => `docker://${n}`),
                }),
              ).arrayBuffer(),
            );
          if (c.fail) {
            assert.equal(ctr.code, 1, `ctr exit code (stderr: ${ctr.stderr})`);
            await assert.rejects(run, OcipackError);
            return;
          }
          assert.equal(ctr.code, 0, `ctr failed: ${ctr.stderr}`);
          const ours = await run();
          const theirs = await withSourceLabels(
            as2x(await Deno.readFile(out), ours, flags),
            containerd,
          );
          assertSameArchive(ours, theirs, `${setup}: ${c.name}`);
        });
      }
    },
  });
}
