/**
 * The remote-command client.
 *
 * @module
 */

import { CorruptFrameError } from "../framing/errors.ts";
import {
  AUTH_NONCE_LENGTH,
  authProof,
  checkToken,
  createNonce,
  timingSafeEqual,
} from "./remote_exec_auth.ts";
import {
  fromHex,
  MessageChannel,
  MSG,
  parseJsonBody,
  PROTOCOL_NAME,
} from "./remote_exec_protocol.ts";

/** Base class of the errors a remote-command client reports. */
export class RemoteExecError extends Error {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RemoteExecError";
  }
}

/**
 * Authentication failed: the server refused our proof, or the server's own proof was wrong (it
 * does not know the token).
 */
export class RemoteExecAuthError extends RemoteExecError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "RemoteExecAuthError";
  }
}

/** The server refused to run a command (not in its allow-list, or a shell line it does not take). */
export class RemoteCommandRefusedError extends RemoteExecError {
  /**
   * Makes the error.
   *
   * @param message The server's explanation.
   */
  constructor(message: string) {
    super(message);
    this.name = "RemoteCommandRefusedError";
  }
}

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
  tls?: { caCerts?: string[] };
  /**
   * Milliseconds to connect and authenticate.
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

/** What the server told about itself after authentication. */
export interface RemoteExecServerInfo {
  /** Whether it takes shell lines. */
  shell: boolean;
  /** Its allow-list, or `null` when every program may run. */
  allow: string[] | null;
  /** Its per-command timeout in milliseconds (0: none). */
  timeout: number;
  /** Its output cap in bytes. */
  maxOutput: number;
}

/** How a remote command ended. */
export interface RemoteExecResult {
  /** The exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or `null`. */
  signal: string | null;
  /** Whether the server's timeout stopped it. */
  timedOut: boolean;
  /** Whether its output went over the server's cap (cut, and the command stopped). */
  truncated: boolean;
  /** Whether it was cancelled. */
  cancelled: boolean;
  /** The status a shell would report: 124 on timeout, 128 + signal number, else the code. */
  exitStatus: number;
  /** Run time on the server, in milliseconds. */
  durationMs: number;
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

/** A command: an argv, or `{ shell: line }` for servers that take shell lines. */
export type RemoteCommand = readonly string[] | { shell: string };

/** An authenticated connection to a remote-command server. Commands run one at a time. */
export class RemoteExecClient implements AsyncDisposable {
  /** What the server told about itself. */
  readonly server: RemoteExecServerInfo;
  #channel: MessageChannel;
  #busy = false;

  /**
   * Use {@linkcode connectRemoteExec}.
   *
   * @param channel The authenticated channel.
   * @param server The server's info.
   */
  constructor(channel: MessageChannel, server: RemoteExecServerInfo) {
    this.#channel = channel;
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
    let request: Record<string, unknown>;
    if (Array.isArray(command)) {
      if (command.length === 0 || command.some((a) => typeof a !== "string") || command[0] === "") {
        throw new RangeError("the argv must be a non-empty array of strings");
      }
      request = { argv: command };
    } else if (typeof (command as { shell: string }).shell === "string") {
      request = { shell: (command as { shell: string }).shell };
    } else {
      throw new TypeError("command must be an argv array or { shell: string }");
    }
    this.#busy = true;
    const channel = this.#channel;
    const onAbort = () => void channel.send(MSG.CANCEL).catch(() => {});
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await channel.send(MSG.RUN, request);
      for (;;) {
        const message = await channel.receive();
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
          case MSG.EXIT: {
            const r = parseJsonBody(message.body);
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
  async close(): Promise<void> {
    await this.#channel.flushed();
    this.#channel.close();
  }

  /** Closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
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
 * @throws {RemoteExecError} When the server is busy or does not speak the protocol.
 * @throws {Deno.errors.ConnectionRefused} When nothing listens there.
 *
 * @example A wrong token is refused
 * ```ts
 * import { connectRemoteExec, RemoteExecAuthError, serveRemoteExec } from "@sockkit/sockkit/tcp";
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
  const token = options.token === undefined ? undefined : checkToken(options.token);
  if (!Number.isSafeInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new RangeError(`port must be 1 to 65535, got ${options.port}`);
  }
  const timer = new AbortController();
  const t = setTimeout(() => timer.abort(), timeout);
  let channel: MessageChannel | undefined;
  try {
    const connecting = options.tls
      ? Deno.connectTls(
        {
          hostname,
          port: options.port,
          caCerts: options.tls.caCerts,
          signal: timer.signal,
        } as Deno.ConnectTlsOptions,
      )
      : Deno.connect({ hostname, port: options.port, signal: timer.signal } as Deno.ConnectOptions);
    const conn = await connecting;
    channel = new MessageChannel(conn, options.maxFrameLength ?? 16 * 1024 * 1024);
    const ch = channel;
    timer.signal.addEventListener("abort", () => ch.close(), { once: true });
    const hello = await channel.receive();
    if (hello === null) throw new RemoteExecError("the server closed the connection before HELLO");
    if (hello.type === MSG.ERROR) {
      throw new RemoteExecError(`server error: ${parseJsonBody(hello.body).message}`);
    }
    if (hello.type !== MSG.HELLO) throw new RemoteExecError("the server did not greet with HELLO");
    const info = parseJsonBody(hello.body);
    if (info.protocol !== PROTOCOL_NAME) {
      throw new RemoteExecError("not a sockkit remote-exec server");
    }
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
      await channel.send(MSG.AUTH, body);
    } else if (token !== undefined) {
      // We hold a token, so we expect a server that proves it knows it: refuse an impostor.
      throw new RemoteExecAuthError(
        "the server does not authenticate, but a token was given: refusing to trust it",
      );
    } else {
      await channel.send(MSG.AUTH);
    }
    const ready = await channel.receive();
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
    return new RemoteExecClient(channel, {
      shell: r.shell === true,
      allow: Array.isArray(r.allow) ? r.allow.map(String) : null,
      timeout: typeof r.timeout === "number" ? r.timeout : 0,
      maxOutput: typeof r.maxOutput === "number" ? r.maxOutput : Infinity,
    });
  } catch (error) {
    channel?.close();
    if (timer.signal.aborted) {
      throw new Deno.errors.TimedOut(
        `connecting to ${hostname}:${options.port} took over ${timeout} ms`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    clearTimeout(t);
  }
}
