/**
 * `ocipack export docker://...` and `ocipack list docker://...` as a subprocess, against the real
 * registry: ctr's flags (--plain-http, -u with and without a password, --tlscacert,
 * --skip-verify), store names and registry references mixed, one-line errors that leave no
 * output file, and the permissions a user grants (no env access needed for anonymous pulls).
 */
import assert from "node:assert/strict";
import { requireTools } from "./support/containerd.ts";
import { PASSWORD, TestRegistry, USER } from "./support/registry.ts";
import { readTar, text } from "./support/tar_reader.ts";
import { exportArchive, openRegistry } from "../mod.ts";

const tools = requireTools("docker-registry", "htpasswd", "openssl", "script");
const CLI = new URL("../cli.ts", import.meta.url).pathname;
const STORE = new URL("../testdata/store/", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

async function ocipack(permissions: string[], ...args: string[]): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "--no-lock", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { REGISTRY_AUTH_FILE: "/nonexistent/auth.json", DOCKER_CONFIG: "/nonexistent" },
  }).output();
  return { code, stdout, stderr: new TextDecoder().decode(stderr) };
}

const ALL = ["-R", "-W", "-N=127.0.0.1", "-E", "--allow-run"];

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "CLI exports and lists docker:// images (basic auth, plain http)",
  ignore: tools.ignore,
  async fn(t) {
    await using registry = await TestRegistry.start("basic");
    await registry.push(STORE, "example.com/multi:1.0", "multi", "1.0");
    await registry.push(STORE, "docker.io/library/hello:oci", "team/hello", "oci");
    const MULTI = `${registry.host}/multi:1.0`;
    const user = `${USER}:${PASSWORD}`;

    await t.step("export with --plain-http and -u USER:PASSWORD", async () => {
      await withTempDir(async (dir) => {
        const r = await ocipack(
          ALL,
          "export",
          "--plain-http",
          "-u",
          user,
          "--platform",
          "linux/arm64",
          "-o",
          `${dir}/multi.tar`,
          `docker://${MULTI}`,
        );
        assert.equal(r.code, 0, r.stderr);
        await using source = openRegistry({
          plainHttp: [registry.host],
          credentials: { [registry.host]: { username: USER, password: PASSWORD } },
        });
        const want = await new Response(
          exportArchive(source, { images: [MULTI], platform: "linux/arm64" }),
        ).bytes();
        assert.deepEqual(await Deno.readFile(`${dir}/multi.tar`), want);
      });
    });

    await t.step("store names and docker:// references in one export", async () => {
      const r = await ocipack(
        ALL,
        "export",
        "--store",
        STORE,
        "--plain-http",
        "-u",
        user,
        "--platform",
        "linux/amd64",
        `docker://${registry.host}/team/hello:oci`,
        "hello:docker",
        `docker://${MULTI}`,
      );
      assert.equal(r.code, 0, r.stderr);
      const index = JSON.parse(text(readTar(r.stdout), "index.json"));
      assert.deepEqual(
        index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations),
        [
          {
            "containerd.io/distribution.source.127.0.0.1": "team/hello",
            "io.containerd.image.name": `${registry.host}/team/hello:oci`,
            "org.opencontainers.image.ref.name": "oci",
          },
          {
            "io.containerd.image.name": "docker.io/library/hello:docker",
            "org.opencontainers.image.ref.name": "docker",
          },
          {
            "containerd.io/distribution.source.127.0.0.1": "multi",
            "io.containerd.image.name": MULTI,
            "org.opencontainers.image.ref.name": "1.0",
          },
        ],
      );
    });

    await t.step("without credentials: one line, and -o leaves nothing", async () => {
      await withTempDir(async (dir) => {
        const r = await ocipack(
          ALL,
          "export",
          "--plain-http",
          "-o",
          `${dir}/out.tar`,
          `docker://${registry.host}/team/hello:oci`,
        );
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `ocipack: ${registry.host}/team/hello:oci: unauthorized: authentication required\n`,
        );
        assert.deepEqual([...Deno.readDirSync(dir)], []);
      });
    });

    await t.step("list docker://REPO prints tags, docker://REF platforms", async () => {
      const tags = await ocipack(
        ALL,
        "list",
        "--plain-http",
        "-u",
        user,
        `docker://${registry.host}/multi`,
      );
      assert.equal(tags.code, 0, tags.stderr);
      assert.equal(new TextDecoder().decode(tags.stdout), "1.0\n");
      const platforms = await ocipack(
        ALL,
        "list",
        "--plain-http",
        "-u",
        user,
        "--json",
        `docker://${MULTI}`,
      );
      assert.equal(platforms.code, 0, platforms.stderr);
      const listing = JSON.parse(new TextDecoder().decode(platforms.stdout));
      assert.equal(listing.name, MULTI);
      assert.deepEqual(
        listing.platforms.map((p: { platform: string }) => p.platform),
        [
          "linux/amd64",
          "linux/386",
          "linux/arm/v7",
          "linux/arm/v6",
          "linux/arm64/v8",
          "unknown/unknown",
        ],
      );
    });

    await t.step("-u USER asks for the password on a terminal", async () => {
      await withTempDir(async (dir) => {
        const line = [
          Deno.execPath(),
          "run",
          ...ALL,
          "--no-lock",
          CLI,
          "list",
          "--plain-http",
          "-u",
          USER,
          `docker://${registry.host}/multi`,
        ]
          .map((a) => `'${a}'`).join(" ");
        const child = new Deno.Command("script", {
          args: ["-qec", `${line} > ${dir}/tags`, "/dev/null"],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // Type the password once the prompt is shown, as a user would.
        const reader = child.stdout.getReader();
        let shown = "";
        while (!shown.includes("Password for tester: ")) {
          const { done, value } = await reader.read();
          if (done) break;
          shown += new TextDecoder().decode(value);
        }
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(`${PASSWORD}\r`));
        await writer.close();
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          shown += new TextDecoder().decode(value);
        }
        await child.stderr.cancel();
        const status = await child.status;
        assert.equal(status.code, 0, shown);
        assert.match(shown, /Password for tester: /);
        assert(!shown.includes(PASSWORD), "the password is not echoed");
        assert.equal(await Deno.readTextFile(`${dir}/tags`), "1.0\n");
      });
    });
  },
});

Deno.test({
  name: "CLI: anonymous pulls need no env access; TLS flags",
  ignore: tools.ignore,
  async fn(t) {
    await t.step("plain http, only -R -W -N", async () => {
      await using registry = await TestRegistry.start("none");
      await registry.push(STORE, "docker.io/library/hello:oci", "team/hello", "oci");
      const r = await ocipack(
        ["-R", "-W", "-N=127.0.0.1"],
        "export",
        "--plain-http",
        `docker://${registry.host}/team/hello:oci`,
      );
      assert.equal(r.code, 0, r.stderr);
      const blobs = readTar(r.stdout).filter((e) => /^blobs\/sha256\/./.test(e.name));
      assert.equal(blobs.length, 4);
    });

    await using registry = await TestRegistry.start("token");
    await registry.push(STORE, "docker.io/library/hello:oci", "team/hello", "oci");
    const ref = `docker://${registry.host}/team/hello:oci`;
    const user = `${USER}:${PASSWORD}`;
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, registry.caPem!);
      await t.step("--tlscacert", async () => {
        const r = await ocipack(ALL, "export", "--tlscacert", `${dir}/ca.pem`, "-u", user, ref);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
      });
      await t.step("an untrusted CA is one clear line", async () => {
        const r = await ocipack(ALL, "export", "-u", user, ref);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^ocipack: .*TLS verification of 127\.0\.0\.1:\d+ failed: .*\n$/);
      });
      await t.step("--skip-verify warns and works", async () => {
        // node:https, which can skip verification, reads the system CAs: --allow-sys.
        const r = await ocipack(
          [...ALL, "--allow-sys"],
          "export",
          "--skip-verify",
          "-u",
          user,
          ref,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /^ocipack: warning: --skip-verify: /);
      });
    });
  },
});
