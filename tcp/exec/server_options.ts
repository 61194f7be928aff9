/**
 * The settings of the remote-command server and their checks: what a session runs with, the
 * token, the cleared environment and the allow-list resolved to absolute paths.
 *
 * @module
 */

import { checkToken, REMOTE_EXEC_TOKEN_ENV } from "./auth.ts";
import { commandEnv, resolveProgram, SAFE_PATH } from "./command_env.ts";
import type { RemoteExecLogEntry, SessionSettings } from "./session.ts";

/** Certificate and key (PEM text) for TLS. */
export interface RemoteExecTlsOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** Settings of {@linkcode serveRemoteExec}. */
export interface RemoteExecServerOptions {
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one (see `addr`).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The shared token (≥ 16 bytes). Required unless `insecureNoAuth`.
   *
   * @default {undefined}
   */
  token?: string | Uint8Array;
  /**
   * Serve without authentication. Refused unless `hostname` is a loopback address.
   *
   * @default {false}
   */
  insecureNoAuth?: boolean;
  /**
   * The programs that may run (exact match of argv[0]); `undefined` allows all. Each is resolved
   * to an absolute path in `path` when the server starts (a program that is not found is an
   * error then), and runs as that path.
   *
   * @default {undefined}
   */
  allow?: readonly string[];
  /**
   * Accept shell lines (run with `/bin/sh -c`). Cannot be combined with `allow`.
   *
   * @default {false}
   */
  shell?: boolean;
  /**
   * More environment variables to pass from the server's environment to the commands. Commands
   * get a cleared environment: `PATH` = `path`, the variables of
   * {@linkcode COMMAND_ENV_ALLOW} and these, when set. A variable that holds the token is
   * refused.
   *
   * @default {[]}
   */
  env?: readonly string[];
  /**
   * The commands' search path (absolute directories only), also where `allow` is resolved.
   *
   * @default {SAFE_PATH}
   */
  path?: string;
  /**
   * Wall-clock limit per command in milliseconds (0: none); then the process group gets SIGTERM.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Milliseconds from SIGTERM to SIGKILL.
   *
   * @default {2000}
   */
  killGrace?: number;
  /**
   * The most bytes of stdout plus stderr per command; the rest is cut and the command stopped.
   *
   * @default {16777216}
   */
  maxOutput?: number;
  /**
   * The most authenticated connections at once; one more is told "server busy" and closed.
   *
   * @default {64}
   */
  maxConnections?: number;
  /**
   * The most connections still in the handshake (TLS and authentication) at once; when full,
   * the one that has sent least is dropped to make room, so unauthenticated sockets cannot keep a token holder
   * out.
   *
   * @default {64}
   */
  maxHandshakes?: number;
  /**
   * Milliseconds from accept to a finished authentication (including TLS); then the
   * connection is dropped.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds an authenticated connection may stay silent, also while a command runs; then
   * it is closed and its command stopped. Must be longer than `timeout` + `killGrace`.
   * `Infinity`: no limit.
   *
   * @default {900000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a send may wait for a client that does not read its output; then the
   * connection is closed and its command stopped.
   *
   * @default {30000}
   */
  writeTimeout?: number;
  /**
   * The commands' working directory.
   *
   * @default {undefined} (the server's)
   */
  cwd?: string;
  /**
   * Serve TLS with this certificate and key.
   *
   * @default {undefined}
   */
  tls?: RemoteExecTlsOptions;
  /**
   * Milliseconds to wait before answering a failed authentication (slows guessing down).
   *
   * @default {1000}
   */
  authFailureDelay?: number;
  /**
   * The largest request frame in bytes.
   *
   * @default {65536}
   */
  maxRequestLength?: number;
  /**
   * Receives the log; by default lines go to stderr.
   *
   * @default {undefined}
   */
  log?: (entry: RemoteExecLogEntry) => void;
  /**
   * Closes the server when aborted.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Whether a host name is a loopback address (127.0.0.0/8, `::1`, `localhost`).
 *
 * @param hostname The host.
 * @returns Whether it is loopback.
 *
 * @example
 * ```ts
 * import { isLoopback } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
 * assert.ok(!isLoopback("0.0.0.0"));
 * ```
 */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function defaultLog(entry: RemoteExecLogEntry): void {
  const where = entry.remote === undefined ? "" : ` ${entry.remote}`;
  console.error(`remote-exec: ${entry.event}${where}: ${entry.message}`);
}

export function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

export function checkMs(name: string, value: number): void {
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
}

function tokenOf(options: RemoteExecServerOptions, hostname: string): Uint8Array | undefined {
  if (options.token !== undefined) return checkToken(options.token);
  if (!options.insecureNoAuth) {
    throw new RangeError("a token is required (or insecureNoAuth on a loopback address)");
  }
  if (!isLoopback(hostname)) {
    throw new RangeError(`insecureNoAuth is only allowed on a loopback address, not ${hostname}`);
  }
  return undefined;
}

/** The commands' environment; refuses any variable that would carry the token. */
function envOf(options: RemoteExecServerOptions, token: Uint8Array | undefined) {
  const pass = options.env ?? [];
  if (pass.includes(REMOTE_EXEC_TOKEN_ENV)) {
    throw new RangeError(
      `${REMOTE_EXEC_TOKEN_ENV} holds the token: it is never passed to commands`,
    );
  }
  const env = commandEnv({ pass, path: options.path ?? SAFE_PATH });
  const secret = token === undefined ? undefined : new TextDecoder().decode(token);
  for (const [name, value] of Object.entries(env)) {
    if (secret !== undefined && value.includes(secret)) {
      throw new RangeError(`${name} holds the token: it is never passed to commands`);
    }
  }
  return env;
}

/**
 * Checks every option of the sessions and resolves the allow-list.
 *
 * @param options The server's options.
 * @param hostname The address listened on.
 * @returns What the sessions run with.
 */
export function settingsOf(options: RemoteExecServerOptions, hostname: string): SessionSettings {
  const s: SessionSettings = {
    token: tokenOf(options, hostname),
    shell: options.shell ?? false,
    allow: undefined,
    timeout: options.timeout ?? 10_000,
    killGrace: options.killGrace ?? 2000,
    maxOutput: options.maxOutput ?? 16 * 1024 * 1024,
    maxConnections: options.maxConnections ?? 64,
    cwd: options.cwd,
    env: {},
    authFailureDelay: options.authFailureDelay ?? 1000,
    log: options.log ?? defaultLog,
  };
  checkCount("maxConnections", s.maxConnections, 1);
  for (const name of ["timeout", "killGrace", "authFailureDelay"] as const) {
    checkCount(name, s[name], 0);
  }
  if (!(s.maxOutput >= 0)) throw new RangeError(`maxOutput must be ≥ 0, got ${s.maxOutput}`);
  if (s.shell && options.allow !== undefined) {
    throw new RangeError(
      "shell and allow cannot be combined: an allow-list cannot restrict a shell line",
    );
  }
  s.env = envOf(options, s.token);
  if (options.allow !== undefined) {
    if (options.allow.some((a) => typeof a !== "string" || a === "")) {
      throw new TypeError("allow must be a list of program names");
    }
    s.allow = new Map(options.allow.map((name) => [name, resolveProgram(name, s.env.PATH)]));
  }
  return s;
}
