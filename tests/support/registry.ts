/**
 * Test support: a real registry (Debian's `docker-registry`, distribution 2.8) run as a plain
 * process on 127.0.0.1 with its own config and filesystem storage under a temporary directory, in
 * three set-ups: no auth, htpasswd basic auth, and TLS (a test CA; a leaf with `CA:FALSE` and
 * `subjectAltName IP:127.0.0.1`) with `auth: token` against a small token server of our own that
 * signs ES256 JWTs with an `x5c` certificate from the registry's `rootcertbundle`.
 *
 * Images are pushed from the testdata OCI layout over the registry API (blob uploads, then
 * manifests by digest, then the tag), so every digest is the testdata's own.
 */
import { createPrivateKey, sign } from "node:crypto";
import { isIndexType, isManifestType } from "../../lib/oci/media_types.ts";
import { type Descriptor, NotFoundError, openLayout } from "../../mod.ts";
import type { Layout } from "../../mod.ts";

/** The user the basic and token set-ups accept. */
export const USER = "tester";
/** Its password. */
export const PASSWORD = "s3cret-pass";
/** An OAuth2 refresh token (docker's identity token) the token server accepts for USER. */
export const REFRESH_TOKEN = "ocipack-refresh-token";
/** The token service name. */
export const SERVICE = "ocipack-test-registry";
const ISSUER = "ocipack-test-issuer";

/** Which registry to start. */
export type Setup = "none" | "basic" | "token";

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** A free port on 127.0.0.1 (closed again; a race with other processes is unlikely). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Makes a test CA, a server leaf for 127.0.0.1 signed by it, and a token-signing certificate. */
export async function makeCertificates(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=ocipack test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n" +
      "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  ], dir);
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "signer.key",
    "-out",
    "signer.pem",
    "-days",
    "2",
    "-subj",
    "/CN=ocipack token signer",
  ], dir);
}

function base64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return btoa(String.fromCharCode(...data)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

/** What the token server saw. */
export interface TokenRequest {
  scope: string | null;
  service: string | null;
  account?: string;
  method: string;
}

/** A token server: anonymous pull of `public/*`, everything for {@linkcode USER}. */
export class TokenServer {
  readonly requests: TokenRequest[] = [];
  readonly url: string;
  /** How many of the next tokens are issued already expired (the registry rejects them). */
  expireNext = 0;
  readonly #server: Deno.HttpServer;

  constructor(dir: string, cert: string, key: string, signerKeyPem: string, signerPem: string) {
    const signer = createPrivateKey(signerKeyPem);
    const x5c = [btoa(String.fromCharCode(...pemToDer(signerPem)))];
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert,
      key,
      onListen: () => {},
    }, async (request) => {
      const url = new URL(request.url);
      // GET with basic credentials, or an OAuth2 POST (password or refresh-token grant).
      const params = request.method === "POST"
        ? new URLSearchParams(await request.text())
        : url.searchParams;
      const scope = params.get("scope");
      const service = params.get("service");
      let account: string | undefined;
      const header = request.headers.get("authorization");
      let credentials: [string, string] | undefined;
      if (header?.startsWith("Basic ")) {
        credentials = atob(header.slice(6)).split(":") as [string, string];
      } else if (params.get("grant_type") === "password") {
        credentials = [params.get("username") ?? "", params.get("password") ?? ""];
      } else if (params.get("grant_type") === "refresh_token") {
        credentials = params.get("refresh_token") === REFRESH_TOKEN
          ? [USER, PASSWORD]
          : ["refresh", "wrong"];
      }
      if (credentials !== undefined) {
        const [user, password] = credentials;
        if (user !== USER || password !== PASSWORD) {
          this.requests.push({ scope, service, method: request.method, account: "!" + user });
          return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad password" }] }, {
            status: 401,
          });
        }
        account = user;
      }
      this.requests.push({ scope, service, account, method: request.method });
      const access = [];
      const match = /^repository:([^:]+):(.+)$/.exec(scope ?? "");
      if (match !== null && (account !== undefined || match[1].startsWith("public/"))) {
        const actions = match[2].split(",").filter((a) => account !== undefined || a === "pull");
        access.push({ type: "repository", name: match[1], actions });
      }
      const now = Math.floor(Date.now() / 1000);
      const header64 = base64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c }));
      const claims = base64url(JSON.stringify({
        iss: ISSUER,
        sub: account ?? "",
        aud: SERVICE,
        exp: this.expireNext-- > 0 ? now - 60 : now + 300,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      }));
      const input = `${header64}.${claims}`;
      const signature = sign("sha256", new TextEncoder().encode(input), {
        key: signer,
        dsaEncoding: "ieee-p1363",
      });
      const token = `${input}.${base64url(signature)}`;
      return Response.json({
        token,
        access_token: token,
        expires_in: 300,
        issued_at: new Date().toISOString(),
      });
    });
    const { port } = this.#server.addr as Deno.NetAddr;
    this.url = `https://127.0.0.1:${port}/token`;
    void dir;
  }

  async stop(): Promise<void> {
    await this.#server.shutdown();
  }
}

/** A running `docker-registry`. Stop it with {@linkcode TestRegistry.stop}. */
export class TestRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** The temporary directory of config, storage and certificates. */
  readonly dir: string;
  readonly setup: Setup;
  /** The test CA, PEM, for the token set-up (which serves TLS). */
  readonly caPem?: string;
  readonly tokens?: TokenServer;
  readonly #child: Deno.ChildProcess;

  private constructor(
    host: string,
    dir: string,
    setup: Setup,
    child: Deno.ChildProcess,
    caPem?: string,
    tokens?: TokenServer,
  ) {
    this.host = host;
    this.dir = dir;
    this.setup = setup;
    this.#child = child;
    this.caPem = caPem;
    this.tokens = tokens;
  }

  /** The registry's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The scheme the registry serves. */
  get origin(): string {
    return `${this.setup === "token" ? "https" : "http"}://${this.host}`;
  }

  /** Starts a registry and waits until it answers. */
  static async start(setup: Setup = "none"): Promise<TestRegistry> {
    const dir = await Deno.makeTempDir({ prefix: "ocipack-registry-" });
    const port = freePort();
    const host = `127.0.0.1:${port}`;
    let auth = "";
    let tls = "";
    let caPem: string | undefined;
    let tokens: TokenServer | undefined;
    if (setup === "basic") {
      const line = await run("htpasswd", ["-Bbn", USER, PASSWORD]);
      await Deno.writeTextFile(`${dir}/htpasswd`, line);
      auth = `auth:\n  htpasswd:\n    realm: ocipack-test\n    path: ${dir}/htpasswd\n`;
    } else if (setup === "token") {
      await makeCertificates(dir);
      caPem = await Deno.readTextFile(`${dir}/ca.pem`);
      const cert = await Deno.readTextFile(`${dir}/server.pem`);
      const key = await Deno.readTextFile(`${dir}/server.key`);
      tokens = new TokenServer(
        dir,
        cert,
        key,
        await Deno.readTextFile(`${dir}/signer.key`),
        await Deno.readTextFile(`${dir}/signer.pem`),
      );
      tls = `  tls:\n    certificate: ${dir}/server.pem\n    key: ${dir}/server.key\n`;
      auth = `auth:\n  token:\n    realm: ${tokens.url}\n    service: ${SERVICE}\n` +
        `    issuer: ${ISSUER}\n    rootcertbundle: ${dir}/signer.pem\n`;
    }
    const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${host}\n${tls}${auth}` +
      // Foreign layers (with URLs) are refused unless their URLs are allowed.
      `validation:\n  manifests:\n    urls:\n      allow:\n        - ^https?://\n`;
    await Deno.writeTextFile(`${dir}/config.yml`, config);
    const child = new Deno.Command("docker-registry", {
      args: ["serve", `${dir}/config.yml`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const registry = new TestRegistry(host, dir, setup, child, caPem, tokens);
    try {
      await registry.#waitUntilReady();
    } catch (error) {
      await registry.stop();
      throw error;
    }
    return registry;
  }

  async #waitUntilReady(): Promise<void> {
    const client = this.caPem ? Deno.createHttpClient({ caCerts: [this.caPem] }) : undefined;
    try {
      for (let i = 0; i < 200; i++) {
        try {
          const response = await fetch(`${this.origin}/v2/`, client ? { client } : {});
          await response.body?.cancel();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw new Error(`docker-registry did not answer on ${this.host}`);
    } finally {
      client?.close();
    }
  }

  /** Stops the registry (by its PID) and the token server, and removes the directory. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#child.stderr.cancel().catch(() => {});
    await this.#child.status;
    await this.tokens?.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** An `Authorization` header that may push to a repository. */
  async #pushAuthorization(
    repository: string,
    client?: Deno.HttpClient,
  ): Promise<string | undefined> {
    const basic = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
    if (this.setup === "none") return undefined;
    if (this.setup === "basic") return basic;
    const url = new URL(this.tokens!.url);
    url.searchParams.set("service", SERVICE);
    url.searchParams.set("scope", `repository:${repository}:pull,push`);
    const response = await fetch(url, { headers: { Authorization: basic }, client });
    const { token } = await response.json();
    return `Bearer ${token}`;
  }

  /**
   * Pushes an image of a testdata layout, every platform's content that the layout holds
   * (absent blobs, such as a foreign layer, are left out), and tags it.
   */
  async push(storeDir: string, name: string, repository: string, tag: string): Promise<Descriptor> {
    const layout = await openLayout(storeDir);
    const { target } = await layout.getImage(name);
    const client = this.caPem ? Deno.createHttpClient({ caCerts: [this.caPem] }) : undefined;
    try {
      const authorization = await this.#pushAuthorization(repository, client);
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
      const base = `${this.origin}/v2/${repository}`;
      const call = async (url: string, init: RequestInit, ok: number[]) => {
        const response = await fetch(url, {
          ...init,
          headers: { ...headers, ...init.headers as Record<string, string> },
          client,
        });
        const text = await response.text();
        if (!ok.includes(response.status)) {
          throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${text}`);
        }
        return response;
      };
      const read = async (desc: Descriptor) =>
        await new Response((await layout.open(desc)).stream).bytes();
      const uploadBlob = async (desc: Descriptor) => {
        let bytes: Uint8Array;
        try {
          bytes = await read(desc);
        } catch (error) {
          if (error instanceof NotFoundError) return;
          throw error;
        }
        const started = await call(`${base}/blobs/uploads/`, { method: "POST" }, [202]);
        const location = new URL(started.headers.get("location")!, this.origin);
        location.searchParams.set("digest", desc.digest);
        await call(location.href, {
          method: "PUT",
          body: bytes as Uint8Array<ArrayBuffer>,
          headers: { "Content-Type": "application/octet-stream" },
        }, [201]);
      };
      const putManifest = async (desc: Descriptor, reference: string) => {
        await call(`${base}/manifests/${reference}`, {
          method: "PUT",
          body: await read(desc) as Uint8Array<ArrayBuffer>,
          headers: { "Content-Type": desc.mediaType },
        }, [201]);
      };
      const visit = async (desc: Descriptor, depth: number): Promise<boolean> => {
        let bytes: Uint8Array;
        try {
          bytes = await read(desc);
        } catch (error) {
          if (error instanceof NotFoundError) return false;
          throw error;
        }
        const doc = JSON.parse(new TextDecoder().decode(bytes));
        if (isIndexType(desc.mediaType)) {
          for (const child of doc.manifests as Descriptor[]) await visit(child, depth + 1);
        } else if (isManifestType(desc.mediaType)) {
          for (const child of [doc.config, ...doc.layers] as Descriptor[]) await uploadBlob(child);
        }
        try {
          await putManifest(desc, depth === 0 ? tag : desc.digest);
        } catch (error) {
          if (depth === 0) throw error;
          return false; // a child the registry refuses (content missing): left out
        }
        return true;
      };
      await visit(target, 0);
      return target;
    } finally {
      client?.close();
    }
  }
}

export type { Layout };
