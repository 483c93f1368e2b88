/**
 * The error a registry answers with: its HTTP status and the `errors[].code` and message of its
 * body (the OCI distribution spec's error format), kept to one line.
 *
 * @module
 */
import { type ErrorContext, OcipackError } from "../../oci/errors.ts";
import { readAtMost } from "./_body.ts";

/**
 * A registry refused a request or failed to answer it. The message carries the registry's
 * error code and message (`unauthorized: authentication required`), or the HTTP status.
 *
 * @example Tell an authentication failure from others
 * ```ts
 * import assert from "node:assert/strict";
 * import { RegistryError } from "@ocipack/ocipack";
 *
 * const error = new RegistryError("127.0.0.1:5000/app:1: unauthorized: authentication required", {
 *   status: 401,
 *   code: "UNAUTHORIZED",
 * });
 * assert.equal(error.status, 401);
 * assert.equal(error.code, "UNAUTHORIZED");
 * ```
 */
export class RegistryError extends OcipackError {
  /** The HTTP status, when the registry answered. */
  readonly status?: number;
  /** The first `errors[].code` of the registry's answer, when it gave one. */
  readonly code?: string;

  /** Creates an error with the status and code of the registry's answer. */
  constructor(
    message: string,
    context: ErrorContext & { status?: number; code?: string } = {},
  ) {
    super(message, context);
    this.status = context.status;
    this.code = context.code;
  }
}

/** The largest error body read from a registry, in bytes. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * What a registry's error answer says: `code: message` of each entry of its `errors` list
 * (lower-cased codes, as docker prints them), else the HTTP status. Consumes the body.
 */
export async function describeErrorResponse(
  response: { status: number; statusText: string; body: ReadableStream<Uint8Array> | null },
): Promise<{ text: string; code?: string }> {
  let body = "";
  try {
    body = await readText(response, MAX_ERROR_BODY);
  } catch {
    // no readable body: the status says it all
  }
  try {
    const parsed = JSON.parse(body);
    const errors = Array.isArray(parsed?.errors) ? parsed.errors : [];
    const parts: string[] = [];
    let code: string | undefined;
    for (const e of errors) {
      if (typeof e?.code !== "string") continue;
      code ??= e.code;
      const message = typeof e.message === "string" && e.message !== "" ? e.message : "";
      parts.push(message === "" ? e.code.toLowerCase() : `${e.code.toLowerCase()}: ${message}`);
    }
    if (parts.length > 0) return { text: parts.join("; "), code };
  } catch {
    // not JSON
  }
  const status = `HTTP ${response.status}${response.statusText ? " " + response.statusText : ""}`;
  return { text: status };
}

/** Reads at most `limit` bytes of a body as text, cancelling the rest. */
async function readText(
  response: { body: ReadableStream<Uint8Array> | null },
  limit: number,
): Promise<string> {
  if (response.body === null) return "";
  const { bytes } = await readAtMost(response.body, limit);
  return new TextDecoder().decode(bytes.subarray(0, limit));
}
