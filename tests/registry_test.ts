/**
 * The registry source against a real registry (Debian's docker-registry) in three set-ups: no
 * auth, htpasswd basic auth, and TLS with token auth. Each export from the registry must equal the
 * export of the same images from the testdata store, plus the distribution-source label a
 * containerd pull sets (SPEC sections 7 and 8). Faults are injected by a proxy in front of the
 * registry: the outcome is either an identical archive or one clear error.
 */
import assert from "node:assert/strict";
import { requireTools } from "./support/containerd.ts";
import { assertSameArchive } from "./support/differential.ts";
import { PASSWORD, REFRESH_TOKEN, type Setup, TestRegistry, USER } from "./support/registry.ts";
import { FaultProxy, flipped, isBlobGet, stalled, truncated } from "./support/fault_proxy.ts";
import {
  type ContentProvider,
  DigestMismatchError,
  exportArchive,
  type ExportOptions,
  InvalidDocumentError,
  NotFoundError,
  openLayout,
  openRegistry,
  RegistryError,
  type RegistryOptions,
} from "../mod.ts";

const tools = requireTools("docker-registry", "htpasswd", "openssl");
const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const LABEL = "containerd.io/distribution.source.127.0.0.1";

/** Store name -> repository:tag pushed. */
const PUSHED: [string, string, string][] = [
  ["docker.io/library/hello:oci", "team/hello", "oci"],
  ["docker.io/library/hello:docker", "hello", "docker"],
  ["example.com/multi:1.0", "multi", "1.0"],
  ["docker.io/library/multi:list", "library/multi", "list"],
  ["example.com/nested:1", "nested", "1"],
];

async function pushAll(registry: TestRegistry, prefix = ""): Promise<void> {
  for (const [name, repository, tag] of PUSHED) {
    await registry.push(STORE, name, prefix + repository, tag);
  }
}

/** The largest layer of the multi-platform index, which every export with all platforms reads. */
async function largestBlob(): Promise<{ digest: string; size: number }> {
  const layout = await openLayout(STORE);
  let best = { digest: "", size: 0 };
  const { target } = await layout.getImage("example.com/multi:1.0");
  const read = async (d: { digest: string; size: number; mediaType: string }) =>
    JSON.parse(new TextDecoder().decode(await new Response((await layout.open(d)).stream).bytes()));
  for (const child of (await read(target)).manifests) {
    for (const layer of (await read(child)).layers) {
      if (layer.size > best.size) best = { digest: layer.digest, size: layer.size };
    }
  }
  return best;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The archive containerd 2.x would write after pulling: the store's export under the registry
 * names, with each requested image's source label.
 */
async function expected(
  images: { store: string; name: string; repository: string }[],
  options: ExportOptions,
): Promise<Uint8Array> {
  const layout = await openLayout(STORE);
  const manifests = [];
  const sources = new Map<string, Set<string>>();
  for (const image of images) {
    const { target } = await layout.getImage(image.store);
    manifests.push({ descriptor: target, names: [image.name] });
    if (!sources.has(target.digest)) sources.set(target.digest, new Set());
    sources.get(target.digest)!.add(image.repository);
  }
  const provider: ContentProvider = {
    async stat(descriptor) {
      const info = await layout.stat(descriptor);
      const repositories = sources.get(descriptor.digest);
      if (repositories === undefined) return info;
      return { ...info, labels: { [LABEL]: [...repositories].sort().join(",") } };
    },
    open: (descriptor) => layout.open(descriptor),
  };
  return await collect(exportArchive(provider, { ...options, manifests }));
}

function registryOptions(registry: TestRegistry, extra: RegistryOptions = {}): RegistryOptions {
  return {
    plainHttp: registry.setup === "token" ? undefined : [registry.host],
    caCerts: registry.caPem ? [registry.caPem] : undefined,
    credentials: registry.setup === "none"
      ? undefined
      : { [registry.host]: { username: USER, password: PASSWORD } },
    ...extra,
  };
}

const VARIANTS: [string, ExportOptions][] = [
  ["linux/amd64", { platform: "linux/amd64" }],
  ["linux/arm64", { platform: "linux/arm64" }],
  ["all platforms", { allPlatforms: true, skipNonDistributable: true }],
  ["skip manifest.json", { platform: "linux/amd64", skipDockerManifest: true }],
];

for (const setup of ["none", "basic", "token"] as Setup[]) {
  Deno.test({
    name: `registry export equals the store's export, with source labels (${setup})`,
    ignore: tools.ignore,
    async fn(t) {
      await using registry = await TestRegistry.start(setup);
      await pushAll(registry);
      const cases: [string, string[]][] = [
        ["OCI manifest", ["docker.io/library/hello:oci"]],
        ["Docker manifest", ["docker.io/library/hello:docker"]],
        ["OCI index", ["example.com/multi:1.0"]],
        ["Docker manifest list", ["docker.io/library/multi:list"]],
        ["nested index", ["example.com/nested:1"]],
        ["several images", [
          "docker.io/library/hello:oci",
          "example.com/multi:1.0",
          "docker.io/library/hello:docker",
        ]],
      ];
      for (const [label, stores] of cases) {
        for (const [variant, options] of VARIANTS) {
          if (label === "nested index" && variant === "linux/arm64") continue; // no such manifest
          await t.step(`${label}, ${variant}`, async () => {
            const images = stores.map((store) => {
              const [, repository, tag] = PUSHED.find(([name]) => name === store)!;
              return { store, repository, name: `${registry.host}/${repository}:${tag}` };
            });
            const want = await expected(images, options).catch((error) => error as Error);
            await using source = openRegistry(registryOptions(registry));
            const got = collect(
              exportArchive(source, {
                ...options,
                images: images.map((i) => `docker://${i.name}`),
              }),
            );
            if (want instanceof Error) {
              // The store's export fails (a foreign layer is absent): so must the registry's.
              await assert.rejects(got, want.constructor as new () => Error);
              return;
            }
            assertSameArchive(await got, want, "registry");
          });
        }
      }

      await t.step("a digest reference", async () => {
        const layout = await openLayout(STORE);
        const { target } = await layout.getImage("example.com/multi:1.0");
        const name = `${registry.host}/multi@${target.digest}`;
        await using source = openRegistry(registryOptions(registry));
        const image = await source.getImage(`docker://${name}`);
        assert.deepEqual(
          image,
          ({ name, target: { ...target, annotations: undefined } }).target
            ? {
              name,
              target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
            }
            : image,
        );
        const got = await collect(exportArchive(source, { images: [name], platform: "linux/386" }));
        const want = await expected(
          [{ store: "example.com/multi:1.0", name, repository: "multi" }],
          { platform: "linux/386" },
        );
        assert.deepEqual(got, want);
      });

      await t.step("an HTTP handler streams a registry image to its caller", async () => {
        // The README's handler, with this registry's options.
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          async (request, info) => {
            const image = new URL(request.url).searchParams.get("image") ?? "alpine";
            const source = openRegistry(registryOptions(registry));
            // Once the response is delivered (or the client has gone), drop what is left.
            info.completed.catch(() => {}).then(() => source.close());
            try {
              const { name } = await source.getImage(image);
              const archive = exportArchive(source, { images: [name], platform: "linux/amd64" });
              return new Response(archive, { headers: { "Content-Type": "application/x-tar" } });
            } catch (error) {
              await source.close();
              return new Response(`${(error as Error).message}\n`, { status: 404 });
            }
          },
        );
        try {
          const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`;
          const name = `${registry.host}/multi:1.0`;
          const response = await fetch(`${base}?image=${encodeURIComponent(name)}`);
          assert.equal(response.status, 200);
          const want = await expected(
            [{ store: "example.com/multi:1.0", name, repository: "multi" }],
            { platform: "linux/amd64" },
          );
          assertSameArchive(new Uint8Array(await response.arrayBuffer()), want, "handler");
          const missing = await fetch(`${base}?image=${registry.host}/multi:nope`);
          assert.equal(missing.status, 404);
          assert.match(await missing.text(), /multi:nope not found/);
        } finally {
          await server.shutdown();
        }
      });

      await t.step("tags of a repository", async () => {
        await using source = openRegistry(registryOptions(registry));
        assert.deepEqual(await source.listTags(`docker://${registry.host}/team/hello`), ["oci"]);
      });

      await t.step("an absent tag is NotFoundError", async () => {
        await using source = openRegistry(registryOptions(registry));
        await assert.rejects(
          source.getImage(`${registry.host}/team/hello:nope`),
          (error: Error) =>
            error instanceof NotFoundError && /team\/hello:nope/.test(error.message),
        );
      });

      if (setup !== "none") {
        await t.step("without credentials: one clear line", async () => {
          const env = Deno.env.get("REGISTRY_AUTH_FILE");
          Deno.env.set("REGISTRY_AUTH_FILE", `${registry.dir}/no-such-auth.json`);
          try {
            await using source = openRegistry({ ...registryOptions(registry), credentials: {} });
            const ref = `${registry.host}/team/hello:oci`;
            await assert.rejects(source.getImage(ref), (error: Error) => {
              assert(error instanceof RegistryError, String(error));
              assert.equal(error.status, 401);
              if (setup === "basic") {
                assert.equal(error.message, `${ref}: unauthorized: authentication required`);
              } else {
                assert.match(error.message, new RegExp(`^${ref}: unauthorized: `));
              }
              return true;
            });
          } finally {
            if (env === undefined) Deno.env.delete("REGISTRY_AUTH_FILE");
            else Deno.env.set("REGISTRY_AUTH_FILE", env);
          }
        });

        await t.step("a wrong password is refused", async () => {
          await using source = openRegistry({
            ...registryOptions(registry),
            credentials: { [registry.host]: { username: USER, password: "wrong" } },
          });
          await assert.rejects(source.getImage(`${registry.host}/team/hello:oci`), RegistryError);
        });

        await t.step("credentials from $REGISTRY_AUTH_FILE", async () => {
          const file = `${registry.dir}/auth.json`;
          await Deno.writeTextFile(
            file,
            JSON.stringify({ auths: { [registry.host]: { auth: btoa(`${USER}:${PASSWORD}`) } } }),
          );
          const env = Deno.env.get("REGISTRY_AUTH_FILE");
          Deno.env.set("REGISTRY_AUTH_FILE", file);
          try {
            await using source = openRegistry({ ...registryOptions(registry), credentials: {} });
            const { target } = await source.getImage(`${registry.host}/team/hello:oci`);
            assert.equal(target.size, 695);
          } finally {
            if (env === undefined) Deno.env.delete("REGISTRY_AUTH_FILE");
            else Deno.env.set("REGISTRY_AUTH_FILE", env);
          }
        });

        await t.step("credentials from a docker config.json with a helper", async () => {
          const dir = `${registry.dir}/docker-config`;
          await Deno.mkdir(`${dir}/bin`, { recursive: true });
          await Deno.writeTextFile(
            `${dir}/config.json`,
            JSON.stringify({ credHelpers: { [registry.host]: "ocipacktest" } }),
          );
          await Deno.writeTextFile(
            `${dir}/bin/docker-credential-ocipacktest`,
            `#!/bin/sh\nread server\n[ "$server" = "${registry.host}" ] || exit 1\n` +
              `echo '{"ServerURL":"${registry.host}","Username":"${USER}","Secret":"${PASSWORD}"}'\n`,
          );
          await Deno.chmod(`${dir}/bin/docker-credential-ocipacktest`, 0o755);
          const saved = ["REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG", "PATH"].map(
            (k) => [k, Deno.env.get(k)] as const,
          );
          Deno.env.delete("REGISTRY_AUTH_FILE");
          Deno.env.delete("XDG_RUNTIME_DIR");
          Deno.env.set("DOCKER_CONFIG", dir);
          Deno.env.set("PATH", `${dir}/bin:${Deno.env.get("PATH")}`);
          try {
            await using source = openRegistry({ ...registryOptions(registry), credentials: {} });
            const { target } = await source.getImage(`${registry.host}/team/hello:oci`);
            assert.equal(target.size, 695);
          } finally {
            for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
          }
        });
      }

      if (setup === "token") {
        await t.step("anonymous bearer tokens, cached per scope", async () => {
          await registry.push(STORE, "example.com/multi:1.0", "public/multi", "1.0");
          const before = registry.tokens!.requests.length;
          await using source = openRegistry({ caCerts: [registry.caPem!] });
          const name = `${registry.host}/public/multi:1.0`;
          const got = await collect(
            exportArchive(source, { images: [name], allPlatforms: true }),
          );
          const want = await expected(
            [{ store: "example.com/multi:1.0", name, repository: "public/multi" }],
            { allPlatforms: true },
          );
          assert.deepEqual(got, want);
          const tokens = registry.tokens!.requests.slice(before);
          assert.deepEqual(tokens, [{
            scope: "repository:public/multi:pull",
            service: "ocipack-test-registry",
            account: undefined,
            method: "GET",
          }]);
        });

        await t.step("an OAuth2 identity token is exchanged at the realm", async () => {
          const before = registry.tokens!.requests.length;
          await using source = openRegistry({
            caCerts: [registry.caPem!],
            credentials: { [registry.host]: { identityToken: REFRESH_TOKEN } },
          });
          const { target } = await source.getImage(`${registry.host}/team/hello:oci`);
          assert.equal(target.size, 695);
          assert.deepEqual(
            registry.tokens!.requests.slice(before).map((r) => [r.method, r.account]),
            [["POST", USER]],
          );
        });

        await t.step("a token the registry calls invalid is renewed once", async () => {
          const before = registry.tokens!.requests.length;
          registry.tokens!.expireNext = 1;
          await using source = openRegistry(registryOptions(registry));
          const { target } = await source.getImage(`${registry.host}/team/hello:oci`);
          assert.equal(target.size, 695);
          assert.equal(registry.tokens!.requests.length - before, 2);
          // A token that keeps being refused ends in one error, not a loop.
          registry.tokens!.expireNext = 10;
          await using again = openRegistry(registryOptions(registry));
          await assert.rejects(
            again.getImage(`${registry.host}/team/hello:oci`),
            (error: Error) => error instanceof RegistryError && error.status === 401,
          );
          assert(registry.tokens!.expireNext >= 7, "at most three tokens were asked for");
          registry.tokens!.expireNext = 0;
        });

        await t.step("an untrusted certificate is refused", async () => {
          await using source = openRegistry({});
          await assert.rejects(
            source.getImage(`${registry.host}/public/multi:1.0`),
            (error: Error) =>
              error instanceof RegistryError && /TLS|certificate/.test(error.message),
          );
        });

        await t.step("skipVerify trusts any certificate", async () => {
          await using source = openRegistry({ skipVerify: true });
          // The token realm is on the same host, so it is not verified either.
          const { target } = await source.getImage(`${registry.host}/public/multi:1.0`);
          assert.equal(target.mediaType, "application/vnd.oci.image.index.v1+json");
        });
      }
    },
  });
}

Deno.test({
  name: "registry faults: resumed and identical, or one clear error",
  ignore: tools.ignore,
  async fn(t) {
    await using registry = await TestRegistry.start("basic");
    await pushAll(registry);
    await using proxy = FaultProxy.start(registry.origin);
    const credentials = { [proxy.host]: { username: USER, password: PASSWORD } };
    const options = (extra: RegistryOptions = {}): RegistryOptions => ({
      plainHttp: [proxy.host],
      credentials,
      retry: { baseDelay: 5, maxDelay: 50 },
      ...extra,
    });
    const MULTI = `${proxy.host}/multi:1.0`;
    const multiWant = await expected(
      [{ store: "example.com/multi:1.0", name: MULTI, repository: "multi" }],
      { allPlatforms: true },
    );
    const exportMulti = async (extra: RegistryOptions = {}) => {
      await using source = openRegistry(options(extra));
      return await collect(exportArchive(source, { images: [MULTI], allPlatforms: true }));
    };
    const reset = () => {
      proxy.requests.length = 0;
      proxy.fault = undefined;
    };

    await t.step("only what the export needs is fetched", async () => {
      reset();
      const layout = await openLayout(STORE);
      const { target } = await layout.getImage("example.com/multi:1.0");
      const index = JSON.parse(
        new TextDecoder().decode(await new Response((await layout.open(target)).stream).bytes()),
      );
      const arm64 = index.manifests.find((m: { platform: { architecture: string } }) =>
        m.platform.architecture === "arm64"
      );
      const manifest = JSON.parse(
        new TextDecoder().decode(await new Response((await layout.open(arm64)).stream).bytes()),
      );
      await using source = openRegistry(options());
      const got = await collect(
        exportArchive(source, { images: [MULTI], platform: "linux/arm64" }),
      );
      assert.deepEqual(
        got,
        await expected(
          [{ store: "example.com/multi:1.0", name: MULTI, repository: "multi" }],
          { platform: "linux/arm64" },
        ),
      );
      const wanted = [
        arm64.digest,
        manifest.config.digest,
        ...manifest.layers.map((l: { digest: string }) => l.digest),
      ];
      assert.deepEqual(new Set(proxy.fetchedDigests()), new Set(wanted));
      assert.equal(proxy.fetchedDigests().length, wanted.length, "each fetched once");
      const manifestTags = proxy.requests.filter((r) => r.path.endsWith("/manifests/1.0"));
      assert.equal(manifestTags.filter((r) => r.authorization !== null).length, 1);
      for (const r of proxy.blobRequests()) assert.equal(r.acceptEncoding, "identity");
    });

    await t.step("a 401 without a challenge takes it from GET /v2/", async () => {
      reset();
      proxy.fault = async (request, forward) => {
        if (new URL(request.url).pathname === "/v2/") return undefined;
        const response = await forward();
        if (response.status !== 401) return response;
        const headers = new Headers(response.headers);
        headers.delete("www-authenticate");
        return new Response(response.body, { status: 401, headers });
      };
      assert.deepEqual(await exportMulti(), multiWant);
      assert.equal(proxy.requests.filter((r) => r.path === "/v2/").length, 1);
    });

    await t.step("a connection dropped mid-blob is resumed with Range", async () => {
      reset();
      let dropped = false;
      const big = await largestBlob();
      proxy.fault = async (request, forward) => {
        if (!isBlobGet(request) || !request.url.endsWith(big.digest)) return undefined;
        if (dropped || request.headers.has("range")) return undefined;
        dropped = true;
        return await truncated(await forward(), Math.floor(big.size / 2));
      };
      assert.deepEqual(await exportMulti(), multiWant);
      assert(dropped, "a blob was cut");
      const ranges = proxy.requests.filter((r) => r.range !== null);
      assert.equal(ranges.length, 1);
      assert.match(ranges[0].range!, /^bytes=\d+-$/);
    });

    await t.step("a flipped byte fails the export", async () => {
      reset();
      const big = await largestBlob();
      proxy.fault = async (request, forward) =>
        isBlobGet(request) && request.url.endsWith(big.digest)
          ? await flipped(await forward(), 100)
          : undefined;
      await assert.rejects(exportMulti(), DigestMismatchError);
    });

    await t.step("429 with Retry-After is waited out", async () => {
      reset();
      let refused = 0;
      proxy.fault = (request) => {
        if (!isBlobGet(request) || refused >= 2) return undefined;
        refused++;
        return new Response("slow down", { status: 429, headers: { "Retry-After": "0" } });
      };
      assert.deepEqual(await exportMulti(), multiWant);
      assert.equal(refused, 2);
    });

    await t.step("endless 503s: bounded, one clear error", async () => {
      reset();
      proxy.fault = (request) =>
        isBlobGet(request)
          ? Response.json({ errors: [{ code: "UNAVAILABLE", message: "try later" }] }, {
            status: 503,
          })
          : undefined;
      await assert.rejects(
        exportMulti({ retry: { attempts: 3, baseDelay: 5 } }),
        (error: Error) => {
          assert(error instanceof RegistryError, String(error));
          assert.match(error.message, /unavailable: try later \(gave up after 3 attempts\)/);
          assert(!error.message.includes("\n"));
          return true;
        },
      );
      // Each blob request gave up after 3 attempts; nothing is retried without bound.
      const perDigest = new Map<string, number>();
      for (const r of proxy.blobRequests()) perDigest.set(r.path, (perDigest.get(r.path) ?? 0) + 1);
      for (const count of perDigest.values()) assert(count <= 3);
    });

    await t.step("404 and 403 are not retried", async () => {
      reset();
      proxy.fault = (request) =>
        isBlobGet(request)
          ? Response.json({ errors: [{ code: "DENIED", message: "no" }] }, { status: 403 })
          : undefined;
      await assert.rejects(exportMulti(), /denied: no/);
      const perDigest = new Map<string, number>();
      for (const r of proxy.blobRequests()) perDigest.set(r.path, (perDigest.get(r.path) ?? 0) + 1);
      for (const count of perDigest.values()) assert.equal(count, 1);
    });

    await t.step("blob redirects to another origin get no Authorization", async () => {
      reset();
      // The other origin serves blobs without auth, as a storage backend's signed URL would.
      await using other = FaultProxy.start(registry.origin);
      other.fault = async (request, _forward, seen) => {
        const response = await fetch(registry.origin + seen.path, {
          headers: { Authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` },
        });
        void request;
        return response;
      };
      proxy.fault = (request) => {
        if (!isBlobGet(request)) return undefined;
        const url = new URL(request.url);
        return new Response(null, {
          status: 307,
          headers: { Location: `http://${other.host}${url.pathname}` },
        });
      };
      assert.deepEqual(await exportMulti({ plainHttp: true }), multiWant);
      assert(other.requests.length > 0);
      for (const r of other.requests) assert.equal(r.authorization, null);
      for (const r of proxy.blobRequests()) assert.notEqual(r.authorization, null);
    });

    await t.step("a redirect loop ends after 10 hops", async () => {
      reset();
      proxy.fault = (request) =>
        isBlobGet(request)
          ? new Response(null, {
            status: 302,
            headers: { Location: new URL(request.url).pathname },
          })
          : undefined;
      await assert.rejects(exportMulti(), /more than 10 redirects/);
    });

    await t.step("a stall once is resumed", async () => {
      reset();
      let stalls = 0;
      proxy.fault = (request) => {
        if (!isBlobGet(request) || stalls > 0) return undefined;
        stalls++;
        return stalled(proxy.stopping);
      };
      assert.deepEqual(await exportMulti({ stallTimeout: 300 }), multiWant);
      assert.equal(stalls, 1);
    });

    await t.step("a stall that never ends times out", async () => {
      reset();
      proxy.fault = (request) => isBlobGet(request) ? stalled(proxy.stopping) : undefined;
      await assert.rejects(
        exportMulti({ stallTimeout: 200, retry: { attempts: 2, baseDelay: 5 } }),
        (error: Error) => error instanceof RegistryError && /sent nothing/.test(error.message),
      );
    });

    await t.step("a manifest that is not what it claims is refused", async () => {
      reset();
      proxy.fault = async (request, forward) => {
        if (!new URL(request.url).pathname.includes("/manifests/")) return undefined;
        const response = await forward();
        const headers = new Headers(response.headers);
        headers.set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json");
        return new Response(await response.arrayBuffer(), { status: response.status, headers });
      };
      await assert.rejects(exportMulti(), InvalidDocumentError);
      proxy.fault = (request) =>
        new URL(request.url).pathname.includes("/manifests/")
          ? new Response('{"schemaVersion":1,"name":"multi","tag":"1.0"}', {
            headers: {
              "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws",
            },
          })
          : undefined;
      await assert.rejects(exportMulti(), /schema 1 manifest/);
    });

    await t.step("a manifest by digest must hash to it", async () => {
      reset();
      const layout = await openLayout(STORE);
      const { target } = await layout.getImage("example.com/multi:1.0");
      proxy.fault = async (request, forward) =>
        new URL(request.url).pathname.includes("/manifests/")
          ? await flipped(await forward(), 10)
          : undefined;
      await using source = openRegistry(options());
      await assert.rejects(
        source.getImage(`${proxy.host}/multi@${target.digest}`),
        DigestMismatchError,
      );
    });

    await t.step("blobs and manifests are fetched ahead, a bounded number at a time", async () => {
      reset();
      await using slow = FaultProxy.start(registry.origin, { delay: 30 });
      // Requests in flight at once, blobs and manifests apart.
      const inFlight = { blobs: 0, manifests: 0 };
      const most = { blobs: 0, manifests: 0 };
      slow.fault = async (request, forward) => {
        const path = new URL(request.url).pathname;
        const kind = path.includes("/blobs/")
          ? "blobs"
          : /\/manifests\/sha256:/.test(path)
          ? "manifests"
          : undefined;
        if (kind !== undefined) most[kind] = Math.max(most[kind], ++inFlight[kind]);
        try {
          const response = await forward();
          return new Response(await response.arrayBuffer(), {
            status: response.status,
            headers: response.headers,
          });
        } finally {
          if (kind !== undefined) inFlight[kind]--;
        }
      };
      const name = `${slow.host}/multi:1.0`;
      await using source = openRegistry({
        plainHttp: [slow.host],
        credentials: { [slow.host]: { username: USER, password: PASSWORD } },
        concurrency: 3,
      });
      await collect(exportArchive(source, { images: [name], allPlatforms: true }));
      // Blobs: the one being read and up to 3 ahead. Manifests: the walk reads up to 8 ahead.
      assert(most.blobs >= 2, `at most ${most.blobs} blob request in flight`);
      assert(most.blobs <= 4, `${most.blobs} blob requests in flight`);
      assert(most.manifests >= 2, `at most ${most.manifests} manifest request in flight`);
      assert(most.manifests <= 8, `${most.manifests} manifest requests in flight`);
    });
  },
});
