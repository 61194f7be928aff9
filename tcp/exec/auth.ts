/**
 * Authentication of remote commands: shared-token loading and an HMAC-SHA256 challenge–response
 * (WebCrypto) with fresh nonces on both sides and constant-time comparison.
 *
 * @module
 */

import { AUTH_NONCE_LENGTH } from "./wire.ts";

/** The shortest accepted token, in bytes. */
export const MIN_TOKEN_LENGTH: number = 16;

/** The environment variable that {@linkcode loadToken} reads when no file is given. */
export const REMOTE_EXEC_TOKEN_ENV: string = "SOCKKIT_REMOTE_EXEC_TOKEN";

/** Where {@linkcode loadToken} finds the token. */
export interface LoadTokenOptions {
  /**
   * A file holding the token. Whitespace at both ends (a trailing newline) is removed.
   *
   * @default {undefined}
   */
  file?: string;
  /**
   * The environment variable read when `file` is not given.
   *
   * @default {"SOCKKIT_REMOTE_EXEC_TOKEN"}
   */
  env?: string;
}

const encoder = new TextEncoder();

function trimBytes(bytes: Uint8Array): Uint8Array {
  const space = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
  let start = 0;
  let end = bytes.length;
  while (start < end && space(bytes[start])) start++;
  while (end > start && space(bytes[end - 1])) end--;
  return bytes.subarray(start, end);
}

/**
 * Checks a token and turns it into bytes.
 *
 * @param token The token, as text (UTF-8) or bytes.
 * @returns The token's bytes.
 * @throws {RangeError} When it is shorter than {@linkcode MIN_TOKEN_LENGTH} bytes.
 * @throws {TypeError} When it is neither a string nor a `Uint8Array`.
 *
 * @example A short token is refused
 * ```ts
 * import { checkToken } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkToken("0123456789abcdef").length, 16);
 * assert.throws(() => checkToken("secret"), RangeError);
 * ```
 */
export function checkToken(token: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof token === "string") bytes = encoder.encode(token);
  else if (token instanceof Uint8Array) bytes = token;
  else throw new TypeError("token must be a string or a Uint8Array");
  if (bytes.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(
      `the token is ${bytes.length} bytes long; at least ${MIN_TOKEN_LENGTH} are needed (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  return bytes;
}

/**
 * Loads the shared token from a file or, without a file, from an environment variable. Never
 * take a token from the command line: other users see it in `ps`.
 *
 * Requires `allow-read` permission for a file, `allow-env` for the variable.
 *
 * @param options Where the token is.
 * @returns The token's bytes (at least 16).
 * @throws {TypeError} When there is no token.
 * @throws {RangeError} When it is shorter than 16 bytes.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 *
 * @example From the environment
 * ```ts
 * import { loadToken } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * Deno.env.set("MY_TOKEN", "correct horse battery staple\n");
 * const token = await loadToken({ env: "MY_TOKEN" });
 * assert.equal(new TextDecoder().decode(token), "correct horse battery staple");
 * Deno.env.delete("MY_TOKEN");
 * ```
 * @tags allow-read, allow-env
 */
export async function loadToken(options: LoadTokenOptions = {}): Promise<Uint8Array> {
  if (options.file !== undefined) {
    const bytes = trimBytes(await Deno.readFile(options.file));
    if (bytes.length === 0) throw new TypeError(`the token file ${options.file} is empty`);
    return checkToken(bytes);
  }
  const name = options.env ?? REMOTE_EXEC_TOKEN_ENV;
  const value = Deno.env.get(name);
  if (value === undefined || value.trim() === "") {
    throw new TypeError(`no token: give a token file or set $${name}`);
  }
  return checkToken(trimBytes(encoder.encode(value)));
}

/**
 * Makes a fresh random nonce (32 bytes from the system's CSPRNG).
 *
 * @returns The nonce.
 *
 * @example Two nonces differ
 * ```ts
 * import { createNonce } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.notDeepEqual(createNonce(), createNonce());
 * ```
 */
export function createNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(AUTH_NONCE_LENGTH));
}

/** Which side a proof is made by; the two sides' proofs are never interchangeable. */
export type AuthRole = "client" | "server";

/**
 * Computes a challenge–response proof: HMAC-SHA256 keyed with the token over a role label and
 * both sides' nonces. The server's nonce is fresh per connection, so a proof recorded on one
 * connection is worthless on the next one (no replay).
 *
 * @param token The shared token.
 * @param role Who proves.
 * @param serverNonce The server's nonce of this connection.
 * @param clientNonce The client's nonce of this connection.
 * @returns The 32-byte proof.
 *
 * @example The same inputs give the same proof; another nonce another one
 * ```ts
 * import { authProof, createNonce, timingSafeEqual } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * const token = new TextEncoder().encode("0123456789abcdef");
 * const [s, c] = [createNonce(), createNonce()];
 * const a = await authProof(token, "client", s, c);
 * assert.ok(timingSafeEqual(a, await authProof(token, "client", s, c)));
 * assert.ok(!timingSafeEqual(a, await authProof(token, "client", createNonce(), c)));
 * assert.ok(!timingSafeEqual(a, await authProof(token, "server", s, c)));
 * ```
 */
export async function authProof(
  token: Uint8Array,
  role: AuthRole,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    token as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const label = encoder.encode(`sockkit-remote-exec/1 ${role}\0`);
  const data = new Uint8Array(label.length + serverNonce.length + clientNonce.length);
  data.set(label, 0);
  data.set(serverNonce, label.length);
  data.set(clientNonce, label.length + serverNonce.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

/**
 * Compares two byte arrays in time that depends only on their lengths, not on where they differ
 * (so an attacker cannot guess a proof byte by byte from response times).
 *
 * @param a One array.
 * @param b The other.
 * @returns Whether they are equal.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.ok(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
 * assert.ok(!timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
 * assert.ok(!timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 2])));
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ (b[i % (b.length || 1)] ?? 0);
  return diff === 0;
}
