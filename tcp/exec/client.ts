/**
 * The remote-command client, on {@linkcode connectFramed}.
 *
 * @module
 */

import { CorruptFrameError, FrameError, FrameTooLargeError } from "../../framing/errors.ts";
import type { FramedConn } from "../framed_conn.ts";
import { connectFramed } from "../framed_listener.ts";
import { isDisconnect, TimeoutError } from "../errors.ts";
import { authProof, checkToken, createNonce, timingSafeEqual } from "./auth.ts";
import { RemoteCommandRefusedError, RemoteExecAuthError, RemoteExecError } from "./errors.ts";
import {
  AUTH_NONCE_LENGTH,
  fromHex,
  MSG,
  parseJsonBody,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  receiveMessage,
  type RemoteCommand,
  type RemoteExecMessage,
  type RemoteExecResult,
  type RemoteExecServerInfo,
  sendMessage,
} from "./wire.ts";

/** Settings of {@linkcode connectRemoteExec}. */
export interface RemoteExecClientOptions {
  /**
   * The server's host.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The server's port. */
  port: number;
  /**
   * The shared token; required when the server authenticates.
   *
   * @default {undefined}
   */
  token?: string | Uint8Array;
  /**
   * Connect with TLS; `caCerts` (PEM) adds trusted roots, e.g. a self-signed certificate.
   *
   * @default {undefined} (plain TCP)
   */
  tls?: { caCerts?: string[]; serverName?: string };
  /**
   * Milliseconds to connect and authenticate; then a {@linkcode TimeoutError} (kind `"connect"`
   * or `"handshake"`). `Infinity` waits as long as the server does.
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * The largest frame accepted from the server.
   *
   * @default {16777216}
   */
  maxFrameLength?: number;
}

/** Settings of {@linkcode RemoteExecClient.prototype.run}. */
export interface RemoteRunOptions {
  /**
   * Called with each stdout chunk as it arrives, awaited.
   *
   * @default {undefined} (discarded)
   */
  onStdout?: (chunk: Uint8Array) => void | Promise<void>;
  /**
   * Called with each stderr chunk as it arrives, awaited.
   *
   * @default {undefined} (discarded)
   */
  onStderr?: (chunk: Uint8Array) => void | Promise<void>;
  /**
   * Asks the server to stop the command when aborted.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

function requestOf(command: RemoteCommand): Record<string, unknown> {
  if (Array.isArray(command)) {
    if (command.length === 0 || command.some((a) => typeof a !== "string") || command[0] === "") {
      throw new RangeError("the argv must be a non-empty array of strings");
    }
    return { argv: command };
  }
  if (typeof (command as { shell: string }).shell === "string") {
    return { shell: (command as { shell: string }).shell };
  }
  throw new TypeError("command must be an argv array or { shell: string }");
}

function resultOf(body: Uint8Array): RemoteExecResult {
  const r = parseJsonBody(body);
  return {
    code: typeof r.code === "number" ? r.code : null,
    signal: typeof r.signal === "string" ? r.signal : null,
    timedOut: r.timedOut === true,
    truncated: r.truncated === true,
    cancelled: r.cancelled === true,
    exitStatus: typeof r.exitStatus === "number" ? r.exitStatus : 1,
    durationMs: typeof r.durationMs === "number" ? r.durationMs : 0,
  };
}

/**
 * An authenticated connection to a remote-command server. Commands run one at a time.
 *
 * @example Two commands on one connection
 * ```ts
 * import { connectRemoteExec, serveRemoteExec } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * const token = "a shared secret of 32 characters";
 * await using server = serveRemoteExec({ token, log: () => {} });
 * await using client = await connectRemoteExec({ port: server.addr.port, token });
 * assert.equal((await client.run(["true"])).exitStatus, 0);
 * assert.equal((await client.run(["false"])).exitStatus, 1);
 * ```
 * @tags allow-net, allow-run
 */
export class RemoteExecClient implements AsyncDisposable {
  /** What the server told about itself. */
  readonly server: RemoteExecServerInfo;
  #conn: FramedConn;
  #busy = false;

  /**
   * Use {@linkcode connectRemoteExec}.
   *
   * @param conn The authenticated connection.
   * @param server The server's info.
   */
  constructor(conn: FramedConn, server: RemoteExecServerInfo) {
    this.#conn = conn;
    this.server = server;
  }

  /**
   * Runs one command and streams its output to the callbacks.
   *
   * @param command An argv, or `{ shell: line }`.
   * @param options Output callbacks and an abort signal.
   * @returns How it ended.
   * @throws {RemoteCommandRefusedError} When the server refuses it (the connection stays usable).
   * @throws {TypeError} When another command is running on this connection.
   */
  async run(command: RemoteCommand, options: RemoteRunOptions = {}): Promise<RemoteExecResult> {
    if (this.#busy) throw new TypeError("a command is already running on this connection");
    const request = requestOf(command);
    this.#busy = true;
    const conn = this.#conn;
    const onAbort = () => void sendMessage(conn, MSG.CANCEL).catch(() => {});
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await sendMessage(conn, MSG.RUN, request);
      for (;;) {
        const message = await receiveMessage(conn);
        if (message === null) {
          throw new RemoteExecError("the server closed the connection during the command");
        }
        switch (message.type) {
          case MSG.STDOUT:
            await options.onStdout?.(message.body);
            break;
          case MSG.STDERR:
            await options.onStderr?.(message.body);
            break;
          case MSG.EXIT:
            return resultOf(message.body);
          case MSG.REFUSED:
            throw new RemoteCommandRefusedError(String(parseJsonBody(message.body).message));
          case MSG.ERROR:
            throw new RemoteExecError(`server error: ${parseJsonBody(message.body).message}`);
          default:
            throw new CorruptFrameError(`unexpected message type 0x${message.type.toString(16)}`);
        }
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      this.#busy = false;
    }
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#conn.close();
  }

  /** Closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Whether a framing error came from TLS records: a TLS server answers a plain client's first
 * bytes with an alert record (`0x15 0x03 …`), read here as an enormous length.
 */
function fromTls(error: unknown): boolean {
  if (!(error instanceof FrameError)) return false;
  if (error.protocol === "TLS") return true;
  const d = error instanceof FrameTooLargeError ? error.declared : -1;
  return (d >>> 24 === 0x15 || d >>> 24 === 0x16) && ((d >>> 16) & 0xff) === 0x03;
}

/** Reads the server's HELLO; a plain client at a TLS server is told so. */
async function receiveHello(conn: FramedConn, tls: boolean): Promise<Record<string, unknown>> {
  let hello: RemoteExecMessage | null;
  try {
    hello = await receiveMessage(conn);
  } catch (error) {
    if (!tls && fromTls(error)) {
      throw new RemoteExecError("the server answered in TLS: it expects TLS", { cause: error });
    }
    if (!isDisconnect(error)) throw error;
    throw new RemoteExecError("the server dropped the connection before greeting", {
      cause: error,
    });
  }
  if (hello === null) {
    // e.g. its handshake pool dropped us to admit a newer connection: trying again may work
    throw new RemoteExecError("the server closed the connection before greeting");
  }
  if (hello.type === MSG.ERROR) {
    throw new RemoteExecError(`server error: ${parseJsonBody(hello.body).message}`);
  }
  if (hello.type !== MSG.HELLO) throw new RemoteExecError("the server did not greet with HELLO");
  const info = parseJsonBody(hello.body);
  if (info.protocol !== PROTOCOL_NAME) {
    throw new RemoteExecError("not a sockkit remote-exec server");
  }
  if (info.version !== PROTOCOL_VERSION) {
    throw new RemoteExecError(
      `the server speaks version ${info.version} of the protocol, this client ${PROTOCOL_VERSION}`,
    );
  }
  return info;
}

/** The client's side of the handshake; resolves to what READY said. */
async function authenticate(
  conn: FramedConn,
  token: Uint8Array | undefined,
  tls: boolean,
): Promise<RemoteExecServerInfo> {
  // Speak first: a TLS server drops a plain client at once instead of both sides waiting.
  const greeting = sendMessage(conn, MSG.CLIENT_HELLO, {
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
  });
  greeting.catch(() => {}); // a failed write shows as the missing HELLO below
  const info = await receiveHello(conn, tls);
  const serverNonce = fromHex(info.nonce);
  let clientNonce: Uint8Array | undefined;
  if (info.auth === true) {
    if (token === undefined) {
      throw new RemoteExecAuthError("the server requires a token and none was given");
    }
    clientNonce = createNonce();
    const proof = await authProof(token, "client", serverNonce, clientNonce);
    const body = new Uint8Array(2 * AUTH_NONCE_LENGTH);
    body.set(clientNonce, 0);
    body.set(proof, AUTH_NONCE_LENGTH);
    await sendMessage(conn, MSG.AUTH, body);
  } else if (token !== undefined) {
    // We hold a token, so we expect a server that proves it knows it: refuse an impostor.
    throw new RemoteExecAuthError(
      "the server does not authenticate, but a token was given: refusing to trust it",
    );
  } else {
    await sendMessage(conn, MSG.AUTH);
  }
  const ready = await receiveMessage(conn);
  if (ready === null) {
    throw new RemoteExecError("the server closed the connection during authentication");
  }
  if (ready.type === MSG.ERROR) {
    const message = String(parseJsonBody(ready.body).message);
    if (/auth/i.test(message)) throw new RemoteExecAuthError(`the server refused: ${message}`);
    throw new RemoteExecError(`server error: ${message}`);
  }
  if (ready.type !== MSG.READY) throw new RemoteExecError("the server did not answer with READY");
  const r = parseJsonBody(ready.body);
  if (clientNonce !== undefined && token !== undefined) {
    const expected = await authProof(token, "server", serverNonce, clientNonce);
    if (r.proof === null || !timingSafeEqual(expected, fromHex(r.proof))) {
      throw new RemoteExecAuthError("the server's proof is wrong: it does not know the token");
    }
  }
  return {
    shell: r.shell === true,
    allow: Array.isArray(r.allow) ? r.allow.map(String) : null,
    timeout: typeof r.timeout === "number" ? r.timeout : 0,
    maxOutput: typeof r.maxOutput === "number" ? r.maxOutput : Infinity,
  };
}

/**
 * Connects to a remote-command server and authenticates (HMAC-SHA256 challenge–response; the
 * server proves it knows the token too).
 *
 * Requires `allow-net` permission.
 *
 * @param options Address, token, TLS.
 * @returns The authenticated client.
 * @throws {RemoteExecAuthError} When authentication fails.
 * @throws {RemoteExecError} When the server is busy, does not speak the protocol, or closes at
 *   once (a plain client at a TLS server).
 * @throws {TimeoutError} After `connectTimeout`.
 * @throws {Deno.errors.ConnectionRefused} When nothing listens there.
 *
 * @example A wrong token is refused
 * ```ts
 * import { connectRemoteExec, RemoteExecAuthError, serveRemoteExec } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * await using server = serveRemoteExec({
 *   token: "the right token, 16+ bytes",
 *   authFailureDelay: 10,
 *   log: () => {},
 * });
 * await assert.rejects(
 *   connectRemoteExec({ port: server.addr.port, token: "a wrong token, 16+ bytes" }),
 *   RemoteExecAuthError,
 * );
 * ```
 * @tags allow-net
 */
export async function connectRemoteExec(
  options: RemoteExecClientOptions,
): Promise<RemoteExecClient> {
  const hostname = options.hostname ?? "127.0.0.1";
  const timeout = options.connectTimeout ?? 10_000;
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new RangeError(`connectTimeout must be positive, got ${timeout}`);
  }
  const token = options.token === undefined ? undefined : checkToken(options.token);
  if (!Number.isSafeInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new RangeError(`port must be 1 to 65535, got ${options.port}`);
  }
  const started = performance.now();
  const conn = await connectFramed({
    hostname,
    port: options.port,
    connectTimeout: timeout,
    maxFrameLength: options.maxFrameLength ?? 16 * 1024 * 1024,
    tls: options.tls,
  });
  // What is left of the deadline covers the handshake: a silent server cannot hold us.
  const left = timeout - (performance.now() - started);
  const expired = new TimeoutError("handshake", timeout);
  const timer = timeout === Infinity
    ? undefined
    : setTimeout(() => conn.abort(expired), Math.max(0, left));
  try {
    return new RemoteExecClient(conn, await authenticate(conn, token, options.tls !== undefined));
  } catch (error) {
    conn.abort();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
