/**
 * Registry authentication, as docker's clients do it: the `WWW-Authenticate` challenge of a 401
 * (or, when the 401 has none, of `GET /v2/`) says Basic or Bearer; a bearer token is fetched from
 * the challenge's realm for the repository's pull scope (anonymously, with basic credentials, or
 * with an OAuth2 refresh token), cached per scope until it expires and renewed when the registry
 * rejects it. Credentials go to the registry's own origin and its token realm, nowhere else.
 *
 * @module
 */
import { InvalidArgumentError } from "../../oci/errors.ts";
import { type CredentialOption, findCredentials, type RegistryCredentials } from "./credentials.ts";
import { describeErrorResponse, RegistryError } from "./errors.ts";
import { readAtMost } from "./_body.ts";
import type { HttpClient } from "./http.ts";

/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** The scheme, lower-cased: `bearer` or `basic`. */
  scheme: string;
  /** Its parameters (`realm`, `service`, `scope`, `error`), keys lower-cased. */
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header (RFC 7235: schemes with auth-params, quoted or not). */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  const re = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+|$)/y;
  const param = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;
  let pos = 0;
  while (pos < header.length) {
    re.lastIndex = pos;
    const scheme = re.exec(header);
    if (scheme === null) break;
    pos = re.lastIndex;
    const challenge: Challenge = { scheme: scheme[1].toLowerCase(), params: {} };
    while (pos < header.length) {
      param.lastIndex = pos;
      const match = param.exec(header);
      if (match === null) break;
      challenge.params[match[1].toLowerCase()] = match[2] !== undefined
        ? match[2].replace(/\\(.)/g, "$1")
        : match[3];
      pos = param.lastIndex;
    }
    challenges.push(challenge);
    while (header[pos] === "," || header[pos] === " ") pos++;
  }
  return challenges;
}

/** A bearer token and when it stops being used. */
interface Token {
  token: string;
  expires: number;
}

/** Tokens are renewed this long before they expire, in milliseconds. */
const EXPIRY_MARGIN = 5_000;

/** Options of an {@linkcode Authorizer}. */
export interface AuthorizerOptions {
  /** The registry's domain as references name it, for credential lookup. */
  domain: string;
  /** The registry's origin (`https://127.0.0.1:5000`). */
  origin: string;
  /** The caller's credentials. */
  credentials?: CredentialOption;
}

/** Authorization for one registry. */
export class Authorizer {
  readonly #http: HttpClient;
  readonly #options: AuthorizerOptions;
  /** The challenge the registry answered with, once known. */
  #challenge?: Challenge;
  readonly #tokens = new Map<string, Promise<Token>>();
  readonly #credentials = new Map<string, Promise<RegistryCredentials | undefined>>();

  constructor(http: HttpClient, options: AuthorizerOptions) {
    this.#http = http;
    this.#options = options;
  }

  /**
   * The `Authorization` header to send before any challenge for this request, from what the
   * registry asked for last time: a cached (or newly fetched) token, or basic credentials.
   */
  async header(repository: string, label: string): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === "basic") return basic(await this.#credentialsFor(repository));
    return `Bearer ${(await this.#token(challenge, repository, label, false)).token}`;
  }

  /**
   * After a 401: the header to retry with, or `undefined` when there is nothing more to try.
   * `renew` drops a cached token first (the registry rejected it).
   */
  async answer(
    reply: { headers: Headers },
    repository: string,
    label: string,
    renew: boolean,
  ): Promise<string | undefined> {
    const header = reply.headers.get("www-authenticate");
    let challenges = header === null ? [] : parseChallenges(header);
    if (challenges.length === 0) challenges = await this.#probe(label);
    const challenge = challenges.find((c) => c.scheme === "bearer") ??
      challenges.find((c) => c.scheme === "basic");
    if (challenge === undefined) return undefined;
    this.#challenge = challenge;
    if (challenge.scheme === "basic") {
      const credentials = await this.#credentialsFor(repository);
      return credentials === undefined ? undefined : basic(credentials);
    }
    const invalid = challenge.params.error === "invalid_token";
    const token = await this.#token(challenge, repository, label, renew || invalid);
    return `Bearer ${token.token}`;
  }

  /** The challenge of `GET /v2/`, for a 401 that came without one. */
  async #probe(label: string): Promise<Challenge[]> {
    const reply = await this.#http.send({
      url: new URL("/v2/", this.#options.origin),
      label,
    });
    await reply.cancel();
    const header = reply.headers.get("www-authenticate");
    return reply.status === 401 && header !== null ? parseChallenges(header) : [];
  }

  #credentialsFor(repository: string): Promise<RegistryCredentials | undefined> {
    let found = this.#credentials.get(repository);
    if (found === undefined) {
      found = findCredentials(this.#options.domain, repository, this.#options.credentials);
      this.#credentials.set(repository, found);
    }
    return found;
  }

  /** A token for the repository's pull scope: cached, or fetched (once for concurrent callers). */
  #token(challenge: Challenge, repository: string, label: string, renew: boolean): Promise<Token> {
    const scope = `repository:${repository}:pull`;
    const key = `${challenge.params.realm}\0${challenge.params.service}\0${scope}`;
    const cached = this.#tokens.get(key);
    if (cached !== undefined && !renew) {
      return cached.then((t) =>
        t.expires > Date.now() + EXPIRY_MARGIN ? t : this.#token(challenge, repository, label, true)
      );
    }
    const fetching = this.#fetchToken(challenge, repository, scope, label);
    this.#tokens.set(key, fetching);
    fetching.catch(() => {
      if (this.#tokens.get(key) === fetching) this.#tokens.delete(key);
    });
    return fetching;
  }

  async #fetchToken(
    challenge: Challenge,
    repository: string,
    scope: string,
    label: string,
  ): Promise<Token> {
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? "");
    } catch {
      throw new RegistryError(
        `${label}: the registry's bearer challenge has no valid realm (${JSON.stringify(realm)})`,
      );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new RegistryError(`${label}: token realm ${url} is not an http(s) URL`);
    }
    if (url.protocol === "http:" && this.#options.origin.startsWith("https:")) {
      throw new RegistryError(`${label}: refused a plain-http token realm (${url.origin})`);
    }
    const service = challenge.params.service;
    const credentials = await this.#credentialsFor(repository);
    const issued = Date.now();
    let reply;
    if (credentials?.identityToken !== undefined) {
      // OAuth2 refresh-token grant, as docker does with an identity token.
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: credentials.identityToken,
        client_id: "ocipack",
        scope,
      });
      if (service !== undefined) form.set("service", service);
      reply = await this.#http.send({
        method: "POST",
        url,
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        label,
      });
    } else {
      if (service !== undefined) url.searchParams.set("service", service);
      url.searchParams.append("scope", scope);
      reply = await this.#http.send({ url, authorization: basic(credentials), label });
    }
    if (reply.status !== 200) {
      const { text, code } = await describeErrorResponse(reply);
      throw new RegistryError(`${label}: token request to ${url.origin} failed: ${text}`, {
        status: reply.status,
        code,
      });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(await readLimited(reply.body, 1024 * 1024));
    } catch {
      throw new RegistryError(`${label}: the token server at ${url.origin} sent no JSON`);
    }
    const token = typeof body.token === "string" && body.token !== ""
      ? body.token
      : body.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryError(`${label}: the token server at ${url.origin} sent no token`);
    }
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0
      ? body.expires_in
      : 60;
    return { token, expires: issued + seconds * 1000 };
  }
}

/** A basic `Authorization` header, or `undefined` without a user name and password. */
export function basic(credentials: RegistryCredentials | undefined): string | undefined {
  if (credentials?.username === undefined || credentials.password === undefined) return undefined;
  const text = `${credentials.username}:${credentials.password}`;
  if (/[\r\n]/.test(text)) throw new InvalidArgumentError("Credentials must not contain newlines");
  const bytes = new TextEncoder().encode(text);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const { bytes, over } = await readAtMost(body, limit);
  if (over) throw new Error("token answer too large");
  return new TextDecoder().decode(bytes);
}
