/**
 * Where registry credentials come from, as docker, podman and skopeo users keep them: the
 * caller's own, then `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` (`auths` entries with a base64 `auth`
 * or an `identitytoken`; `credHelpers` and `credsStore` through `docker-credential-NAME get`).
 * Files are read only when a registry asks for credentials.
 *
 * @module
 */
import { InvalidArgumentError } from "../../oci/errors.ts";
import { DOCKER_HUB_CREDENTIAL_KEY, DOCKER_HUB_DOMAIN } from "./reference.ts";

/**
 * Credentials for one registry: a user name and password, or an OAuth2 refresh token (docker's
 * `identitytoken`).
 *
 * @example Credentials for a registry, by host
 * ```ts
 * import { openRegistry, type RegistryCredentials } from "@ocipack/ocipack";
 *
 * const robot: RegistryCredentials = { username: "robot", password: "secret" };
 * const registry = openRegistry({ credentials: { "registry.example:5000": robot } });
 * await registry.close();
 * ```
 */
export interface RegistryCredentials {
  /** The user name. */
  username?: string;
  /** The password, or a personal access token. */
  password?: string;
  /** An OAuth2 refresh token, exchanged at the registry's token realm. */
  identityToken?: string;
}

/**
 * The caller's credentials: by registry (`127.0.0.1:5000`, `docker.io`) or registry and
 * repository prefix (`ghcr.io/org`), or a function of both. Registries it does not cover fall
 * back to the auth files.
 *
 * @example Credentials from the environment, for one registry
 * ```ts
 * import { type CredentialOption, openRegistry } from "@ocipack/ocipack";
 *
 * const credentials: CredentialOption = (domain) =>
 *   domain === "ghcr.io" ? { username: "bot", password: "token-from-a-vault" } : undefined;
 * await using registry = openRegistry({ credentials });
 * ```
 */
export type CredentialOption =
  | Readonly<Record<string, RegistryCredentials>>
  | ((
    domain: string,
    repository: string,
  ) => RegistryCredentials | undefined | Promise<RegistryCredentials | undefined>);

/** Finds the credentials for a repository: the caller's, then the auth files. */
export async function findCredentials(
  domain: string,
  repository: string,
  option?: CredentialOption,
): Promise<RegistryCredentials | undefined> {
  if (typeof option === "function") {
    const found = await option(domain, repository);
    if (found !== undefined) return found;
  } else if (option !== undefined) {
    for (const key of candidateKeys(domain, repository)) {
      if (Object.hasOwn(option, key)) return option[key];
    }
  }
  for (const path of authFiles()) {
    const config = await readConfig(path);
    if (config === undefined) continue;
    const found = await fromConfig(config, path, domain, repository);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Keys to look up, most specific first: `domain/org/repo`, `domain/org`, `domain`. */
function candidateKeys(domain: string, repository: string): string[] {
  const keys: string[] = [];
  const parts = repository.split("/");
  for (let i = parts.length; i > 0; i--) keys.push(`${domain}/${parts.slice(0, i).join("/")}`);
  keys.push(domain);
  return keys;
}

/** The auth files to read, in order. */
function authFiles(): string[] {
  const env = (name: string) => Deno.env.get(name);
  const files: string[] = [];
  const registryAuthFile = env("REGISTRY_AUTH_FILE");
  if (registryAuthFile) files.push(registryAuthFile);
  const runtime = env("XDG_RUNTIME_DIR");
  if (runtime) files.push(`${runtime}/containers/auth.json`);
  const dockerConfig = env("DOCKER_CONFIG");
  if (dockerConfig) files.push(`${dockerConfig}/config.json`);
  else {
    const home = env("HOME");
    if (home) files.push(`${home}/.docker/config.json`);
  }
  return files;
}

interface AuthConfig {
  auths?: Record<
    string,
    { auth?: string; identitytoken?: string; username?: string; password?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

async function readConfig(path: string): Promise<AuthConfig | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
  try {
    const parsed = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    throw new InvalidArgumentError(`${path} is not valid JSON`);
  }
}

/**
 * A config key reduced to what it names: scheme and docker's `/v1/` path dropped,
 * `index.docker.io` read as `docker.io`.
 */
function normalizeKey(key: string): string {
  let text = key.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  text = text.replace(/\/v[12]$/, "");
  if (text === "index.docker.io" || text === "registry-1.docker.io") text = DOCKER_HUB_DOMAIN;
  return text;
}

async function fromConfig(
  config: AuthConfig,
  path: string,
  domain: string,
  repository: string,
): Promise<RegistryCredentials | undefined> {
  const helper = config.credHelpers?.[domain] ??
    (domain === DOCKER_HUB_DOMAIN ? config.credHelpers?.[DOCKER_HUB_CREDENTIAL_KEY] : undefined);
  if (typeof helper === "string" && helper !== "") return await runHelper(helper, domain);
  const auths = config.auths ?? {};
  const byKey = new Map<string, string>();
  for (const key of Object.keys(auths)) {
    const normalized = normalizeKey(key);
    if (!byKey.has(normalized)) byKey.set(normalized, key);
  }
  for (const candidate of candidateKeys(domain, repository)) {
    const key = byKey.get(candidate);
    if (key === undefined) continue;
    const entry = auths[key];
    const found = decodeEntry(entry, path, key);
    if (found !== undefined) return found;
  }
  if (typeof config.credsStore === "string" && config.credsStore !== "") {
    return await runHelper(config.credsStore, domain);
  }
  return undefined;
}

function decodeEntry(
  entry: { auth?: string; identitytoken?: string; username?: string; password?: string },
  path: string,
  key: string,
): RegistryCredentials | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const found: RegistryCredentials = {};
  if (typeof entry.auth === "string" && entry.auth !== "") {
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0)));
    } catch {
      throw new InvalidArgumentError(`Invalid base64 "auth" for ${key} in ${path}`);
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new InvalidArgumentError(`Invalid "auth" for ${key} in ${path}`);
    found.username = decoded.slice(0, colon);
    found.password = decoded.slice(colon + 1);
  } else if (typeof entry.username === "string" && typeof entry.password === "string") {
    found.username = entry.username;
    found.password = entry.password;
  }
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") {
    found.identityToken = entry.identitytoken;
  }
  return Object.keys(found).length > 0 ? found : undefined;
}

/** Asks `docker-credential-NAME get` for a registry's credentials. */
async function runHelper(name: string, domain: string): Promise<RegistryCredentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new InvalidArgumentError(`Invalid credential helper name ${JSON.stringify(name)}`);
  }
  const command = `docker-credential-${name}`;
  const server = domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_CREDENTIAL_KEY : domain;
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(command, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(server));
    await writer.close();
    output = await child.output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new InvalidArgumentError(
        `Credential helper ${command} for ${domain} is not installed`,
        { cause: error },
      );
    }
    throw error;
  }
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    // docker's helpers say "credentials not found in native keychain" when there are none.
    if (/not found/i.test(stdout)) return undefined;
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new InvalidArgumentError(`${command} get failed: ${stdout || stderr}`);
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new InvalidArgumentError(`${command} get printed no JSON`);
  }
  if (typeof parsed.Secret !== "string" || parsed.Secret === "") return undefined;
  if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? "", password: parsed.Secret };
}
