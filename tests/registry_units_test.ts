/**
 * The registry client's small parts without a registry: reference normalization, challenge and
 * Retry-After parsing, and where credentials come from (auth files, Docker Hub's key, identity
 * tokens, helpers).
 */
import assert from "node:assert/strict";
import { parseChallenges } from "../lib/stores/registry/auth.ts";
import { findCredentials } from "../lib/stores/registry/credentials.ts";
import { HttpClient, isRetryableStatus, parseRetryAfter } from "../lib/stores/registry/http.ts";
import {
  hostnameOf,
  isRepositoryOnly,
  parseRegistryReference,
  parseRegistryRepository,
} from "../lib/stores/registry/reference.ts";
import { InvalidArgumentError, RegistryError } from "../mod.ts";
import { makeCertificates } from "./support/registry.ts";
import { toolsAvailable } from "./support/containerd.ts";

Deno.test("references are normalized as docker does", () => {
  assert.deepEqual(parseRegistryReference("alpine"), {
    domain: "docker.io",
    host: "registry-1.docker.io",
    repository: "library/alpine",
    name: "docker.io/library/alpine:latest",
    tag: "latest",
  });
  assert.deepEqual(parseRegistryReference("docker://127.0.0.1:5000/team/app:1"), {
    domain: "127.0.0.1:5000",
    host: "127.0.0.1:5000",
    repository: "team/app",
    name: "127.0.0.1:5000/team/app:1",
    tag: "1",
  });
  const digest = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(parseRegistryReference(`ghcr.io/org/app:1.2@${digest}`), {
    domain: "ghcr.io",
    host: "ghcr.io",
    repository: "org/app",
    name: `ghcr.io/org/app@${digest}`,
    digest,
  });
  assert.equal(
    parseRegistryReference("index.docker.io/user/app").name,
    "docker.io/user/app:latest",
  );
  assert.throws(() => parseRegistryReference("docker://example.com/Upper"), InvalidArgumentError);
  assert.deepEqual(parseRegistryRepository("docker://localhost:5000/app"), {
    domain: "localhost:5000",
    host: "localhost:5000",
    repository: "app",
  });
  assert.throws(() => parseRegistryRepository("app:1"), InvalidArgumentError);
  assert.equal(isRepositoryOnly("docker://127.0.0.1:5000/app"), true);
  assert.equal(isRepositoryOnly("docker://127.0.0.1:5000/app:1"), false);
  assert.equal(hostnameOf("127.0.0.1:5000"), "127.0.0.1");
  assert.equal(hostnameOf("[::1]:5000"), "::1");
  assert.equal(hostnameOf("docker.io"), "docker.io");
});

Deno.test("WWW-Authenticate challenges are parsed", () => {
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",' +
        'scope="repository:library/alpine:pull",error="invalid_token"',
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/alpine:pull",
        error: "invalid_token",
      },
    }],
  );
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
    { scheme: "basic", params: { realm: "Registry Realm" } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=x'), [
    { scheme: "basic", params: { realm: 'a "b"' } },
    { scheme: "bearer", params: { realm: "x" } },
  ]);
});

Deno.test("Retry-After: seconds or an HTTP date; which statuses are retried", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  const now = Date.parse("Fri, 04 Dec 2026 18:00:00 GMT");
  assert.equal(parseRetryAfter("Fri, 04 Dec 2026 18:00:10 GMT", now), 10_000);
  assert.equal(parseRetryAfter("Fri, 04 Dec 2026 17:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(null), undefined);
  for (const status of [408, 429, 500, 502, 503, 504]) assert(isRetryableStatus(status));
  for (const status of [400, 401, 403, 404, 200]) assert(!isRetryableStatus(status));
});

async function withEnv(
  vars: Record<string, string | undefined>,
  fn: () => Promise<void>,
): Promise<void> {
  const saved = Object.keys(vars).map((k) => [k, Deno.env.get(k)] as const);
  for (const [k, v] of Object.entries(vars)) {
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
  try {
    await fn();
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

Deno.test("credentials: options, then auth files in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/run/containers`, { recursive: true });
    await Deno.mkdir(`${dir}/docker`);
    await Deno.writeTextFile(
      `${dir}/run/containers/auth.json`,
      JSON.stringify({
        auths: {
          "quay.io/org": { auth: btoa("org-robot:pw1") },
          "quay.io": { auth: btoa("someone:pw2") },
        },
      }),
    );
    await Deno.writeTextFile(
      `${dir}/docker/config.json`,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: btoa("hubuser:hubpw") },
          "registry.example:5000": { identitytoken: "refresh-me" },
          "https://old.example/v1/": { auth: btoa("old:pw:with:colons") },
        },
      }),
    );
    await withEnv({
      REGISTRY_AUTH_FILE: undefined,
      XDG_RUNTIME_DIR: `${dir}/run`,
      DOCKER_CONFIG: `${dir}/docker`,
    }, async () => {
      assert.deepEqual(await findCredentials("quay.io", "org/app"), {
        username: "org-robot",
        password: "pw1",
      });
      assert.deepEqual(await findCredentials("quay.io", "other/app"), {
        username: "someone",
        password: "pw2",
      });
      assert.deepEqual(await findCredentials("docker.io", "library/alpine"), {
        username: "hubuser",
        password: "hubpw",
      });
      assert.deepEqual(await findCredentials("registry.example:5000", "app"), {
        identityToken: "refresh-me",
      });
      assert.deepEqual(await findCredentials("old.example", "app"), {
        username: "old",
        password: "pw:with:colons",
      });
      assert.equal(await findCredentials("nowhere.example", "app"), undefined);
      // The caller's credentials come first, by registry and repository prefix.
      assert.deepEqual(
        await findCredentials("quay.io", "org/app", { "quay.io/org": { username: "mine" } }),
        { username: "mine" },
      );
      assert.deepEqual(
        await findCredentials("quay.io", "org/app", () => ({ username: "fn", password: "x" })),
        { username: "fn", password: "x" },
      );
    });
    // $REGISTRY_AUTH_FILE comes before the others.
    await Deno.writeTextFile(
      `${dir}/auth.json`,
      JSON.stringify({ auths: { "quay.io": { auth: btoa("first:pw") } } }),
    );
    await withEnv({
      REGISTRY_AUTH_FILE: `${dir}/auth.json`,
      XDG_RUNTIME_DIR: `${dir}/run`,
      DOCKER_CONFIG: `${dir}/docker`,
    }, async () => {
      assert.deepEqual(await findCredentials("quay.io", "org/app"), {
        username: "first",
        password: "pw",
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("credentials: credsStore and credHelpers run docker-credential-NAME get", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ credsStore: "teststore", credHelpers: { "ghcr.io": "testhelper" } }),
    );
    // The store answers for Docker Hub's key with an identity token, and "not found" otherwise.
    await Deno.writeTextFile(
      `${dir}/bin/docker-credential-teststore`,
      '#!/bin/sh\nread server\nif [ "$server" = "https://index.docker.io/v1/" ]; then\n' +
        '  echo \'{"ServerURL":"x","Username":"<token>","Secret":"hub-refresh"}\'\n' +
        "else\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
    );
    await Deno.writeTextFile(
      `${dir}/bin/docker-credential-testhelper`,
      '#!/bin/sh\nread server\necho "{\\"Username\\":\\"gh\\",\\"Secret\\":\\"$server\\"}"\n',
    );
    await Deno.chmod(`${dir}/bin/docker-credential-teststore`, 0o755);
    await Deno.chmod(`${dir}/bin/docker-credential-testhelper`, 0o755);
    await withEnv({
      REGISTRY_AUTH_FILE: undefined,
      XDG_RUNTIME_DIR: undefined,
      DOCKER_CONFIG: dir,
      PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
    }, async () => {
      assert.deepEqual(await findCredentials("docker.io", "library/alpine"), {
        identityToken: "hub-refresh",
      });
      assert.deepEqual(await findCredentials("ghcr.io", "org/app"), {
        username: "gh",
        password: "ghcr.io",
      });
      assert.equal(await findCredentials("quay.io", "org/app"), undefined);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HttpClient: Retry-After is capped, retries are bounded, 404 is not retried", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    hits++;
    const path = new URL(request.url).pathname;
    if (path === "/busy") {
      return new Response("busy", { status: 503, headers: { "Retry-After": "3600" } });
    }
    return new Response("no", { status: 404 });
  });
  try {
    const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
    const http = new HttpClient({ retry: { attempts: 3, maxRetryAfter: 20 } });
    const busy = await http.send({ url: new URL(`${base}/busy`) });
    assert.equal(busy.status, 503);
    assert.equal(busy.attempts, 3);
    await busy.cancel();
    assert.equal(hits, 3);
    const missing = await http.send({ url: new URL(`${base}/missing`) });
    assert.equal(missing.status, 404);
    assert.equal(missing.attempts, 1);
    await missing.cancel();
    assert.equal(hits, 4);
    // A refused connection is a network error: retried, then one error naming the attempts.
    const closed = new HttpClient({ retry: { attempts: 2, baseDelay: 1 } });
    await assert.rejects(
      closed.send({ url: new URL("http://127.0.0.1:1/v2/"), label: "127.0.0.1:1/app:1" }),
      (error: Error) =>
        error instanceof RegistryError &&
        /^127\.0\.0\.1:1\/app:1: .*\(gave up after 2 attempts\)$/.test(error.message),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  name: "HttpClient: a redirect from https to http is refused",
  ignore: !toolsAvailable("openssl"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await makeCertificates(dir);
      const cert = await Deno.readTextFile(`${dir}/server.pem`);
      const ca = await Deno.readTextFile(`${dir}/ca.pem`);
      const server = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        cert,
        key: await Deno.readTextFile(`${dir}/server.key`),
        onListen: () => {},
      }, () => new Response(null, { status: 302, headers: { Location: "http://127.0.0.1:9/x" } }));
      const client = Deno.createHttpClient({ caCerts: [ca] });
      try {
        const http = new HttpClient({ client });
        const url = new URL(`https://127.0.0.1:${(server.addr as Deno.NetAddr).port}/v2/`);
        await assert.rejects(
          http.send({ url, authorization: "Bearer secret" }),
          /refused a redirect from https to plain http/,
        );
      } finally {
        client.close();
        await server.shutdown();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
