/**
 * The remote-command server: authenticated, no shell by default, limited, streaming.
 *
 * @module
 */

import { FrameError } from "../framing/errors.ts";
import {
  AUTH_NONCE_LENGTH,
  authProof,
  checkToken,
  createNonce,
  timingSafeEqual,
} from "./remote_exec_auth.ts";
import { exitStatusOf, runProcessGroup } from "./remote_exec_process.ts";
import {
  type Message,
  MessageChannel,
  MSG,
  parseJsonBody,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  toHex,
} from "./remote_exec_protocol.ts";

/** Certificate and key (PEM text) for TLS. */
export interface RemoteExecTlsOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** One line of the server's log. */
export interface RemoteExecLogEntry {
  /** What happened. */
  event:
    | "listening"
    | "connect"
    | "auth-ok"
    | "auth-failed"
    | "busy"
    | "run"
    | "refused"
    | "exit"
    | "error"
    | "close";
  /** The peer's address, `host:port`, when there is one. */
  remote?: string;
  /** A readable description. */
  message: string;
  /** The error, for `error` and `auth-failed`. */
  error?: unknown;
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
   * The programs that may run (exact match of argv[0]); `undefined` allows all.
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
   * The most connections at once; more are told "server busy" and closed.
   *
   * @default {64}
   */
  maxConnections?: number;
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
   * Milliseconds a new connection has to authenticate.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
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

/** A running remote-command server. */
export interface RemoteExecServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  readonly connections: number;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops listening, closes every connection and stops their commands. */
  close(): Promise<void>;
}

/**
 * Whether a host name is a loopback address (127.0.0.0/8, `::1`, `localhost`).
 *
 * @param hostname The host.
 * @returns Whether it is loopback.
 *
 * @example
 * ```ts
 * import { isLoopback } from "@sockkit/sockkit/tcp";
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

function formatAddr(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : addr.transport;
}

function defaultLog(entry: RemoteExecLogEntry): void {
  const where = entry.remote === undefined ? "" : ` ${entry.remote}`;
  console.error(`remote-exec: ${entry.event}${where}: ${entry.message}`);
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

const delay = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/**
 * Serves remote commands on TCP (or TLS). Each connection authenticates with an HMAC-SHA256
 * challenge–response over a fresh nonce, then runs commands one after another: argv without a
 * shell (or shell lines with `shell: true`), each in its own process group with a timeout and an
 * output cap, the output streamed back as it is produced. A bad frame or a failed authentication
 * closes that connection only.
 *
 * Requires `allow-net` and `allow-run` permissions.
 *
 * @param options Address, token and limits.
 * @returns The running server.
 * @throws {RangeError} Without a token (unless `insecureNoAuth` on loopback), or on a bad limit.
 *
 * @example Running one command
 * ```ts
 * import { connectRemoteExec, serveRemoteExec } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const token = "a shared secret of 32 characters";
 * await using server = serveRemoteExec({ token, allow: ["echo"], log: () => {} });
 * await using client = await connectRemoteExec({ port: server.addr.port, token });
 * const out: Uint8Array[] = [];
 * const result = await client.run(["echo", "hello"], { onStdout: (c) => void out.push(c) });
 * assert.equal(result.exitStatus, 0);
 * assert.equal(new TextDecoder().decode(out[0]), "hello\n");
 * ```
 * @tags allow-net, allow-run
 */
export function serveRemoteExec(options: RemoteExecServerOptions = {}): RemoteExecServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  const timeout = options.timeout ?? 10_000;
  const killGrace = options.killGrace ?? 2000;
  const maxOutput = options.maxOutput ?? 16 * 1024 * 1024;
  const maxConnections = options.maxConnections ?? 64;
  const handshakeTimeout = options.handshakeTimeout ?? 10_000;
  const authFailureDelay = options.authFailureDelay ?? 1000;
  const maxRequestLength = options.maxRequestLength ?? 64 * 1024;
  const log = options.log ?? defaultLog;
  const shell = options.shell ?? false;
  const allow = options.allow === undefined ? undefined : [...options.allow];
  checkCount("maxConnections", maxConnections, 1);
  checkCount("maxRequestLength", maxRequestLength, 64);
  for (
    const [name, v] of [["timeout", timeout], ["killGrace", killGrace], [
      "handshakeTimeout",
      handshakeTimeout,
    ], ["authFailureDelay", authFailureDelay]] as const
  ) {
    checkCount(name, v, 0);
  }
  if (!(maxOutput >= 0)) throw new RangeError(`maxOutput must be ≥ 0, got ${maxOutput}`);
  if (shell && allow !== undefined) {
    throw new RangeError(
      "shell and allow cannot be combined: an allow-list cannot restrict a shell line",
    );
  }
  if (allow !== undefined && allow.some((a) => typeof a !== "string" || a === "")) {
    throw new TypeError("allow must be a list of program names");
  }
  let token: Uint8Array | undefined;
  if (options.token !== undefined) {
    token = checkToken(options.token);
  } else if (!options.insecureNoAuth) {
    throw new RangeError("a token is required (or insecureNoAuth on a loopback address)");
  } else if (!isLoopback(hostname)) {
    throw new RangeError(`insecureNoAuth is only allowed on a loopback address, not ${hostname}`);
  }

  const listener: Deno.Listener = options.tls
    ? Deno.listenTls({ hostname, port, cert: options.tls.cert, key: options.tls.key })
    : Deno.listen({ hostname, port });
  const addr = listener.addr as Deno.NetAddr;
  log({
    event: "listening",
    message: `listening on ${formatAddr(addr)}${options.tls ? " (TLS)" : ""}`,
  });

  const closing = new AbortController();
  const active = new Set<Promise<void>>();
  let closed = false;

  async function handle(conn: Deno.Conn): Promise<void> {
    const remote = formatAddr(conn.remoteAddr);
    const channel = new MessageChannel(conn, maxRequestLength);
    const stop = () => channel.close();
    closing.signal.addEventListener("abort", stop);
    let commands = 0;
    let next: Promise<Message | null> | undefined;
    try {
      if (active.size >= maxConnections) { // this connection is not counted yet
        log({
          event: "busy",
          remote,
          message: `refused: ${maxConnections} connections already open`,
        });
        await channel.send(MSG.ERROR, { message: "server busy: too many connections" });
        return;
      }
      log({ event: "connect", remote, message: "connected" });
      if (!await handshake(channel, remote)) return;
      next = channel.receive();
      for (;;) {
        const message = await next;
        if (message === null) break;
        if (message.type === MSG.CANCEL) {
          next = channel.receive(); // a cancel that came after its command ended
          continue;
        }
        if (message.type !== MSG.RUN) {
          throw new FrameError(
            `unexpected message type 0x${message.type.toString(16)} (expected RUN)`,
          );
        }
        // Read on while the command runs: a CANCEL, a close or garbage stop it.
        next = channel.receive();
        next.catch(() => {}); // awaited by the loop; observed here so it never goes unhandled
        commands++;
        await runOne(channel, remote, message, next);
      }
      log({ event: "close", remote, message: `closed after ${commands} command(s)` });
    } catch (error) {
      if (!closing.signal.aborted) {
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        log({ event: "error", remote, message: `connection closed: ${what}`, error });
      }
    } finally {
      closing.signal.removeEventListener("abort", stop);
      await channel.flushed();
      channel.close();
      await next?.catch(() => {});
    }
  }

  async function handshake(channel: MessageChannel, remote: string): Promise<boolean> {
    const serverNonce = createNonce();
    await channel.send(MSG.HELLO, {
      protocol: PROTOCOL_NAME,
      version: PROTOCOL_VERSION,
      nonce: toHex(serverNonce),
      auth: token !== undefined,
    });
    const timer = setTimeout(() => {
      log({
        event: "auth-failed",
        remote,
        message: `no authentication within ${handshakeTimeout} ms`,
      });
      channel.close();
    }, handshakeTimeout);
    let message: Message | null;
    try {
      message = await channel.receive();
    } finally {
      clearTimeout(timer);
    }
    if (message === null) {
      if (!channel.closed) {
        log({ event: "auth-failed", remote, message: "closed before authenticating" });
      }
      return false;
    }
    if (message.type !== MSG.AUTH) {
      throw new FrameError(
        `unexpected message type 0x${message.type.toString(16)} (expected AUTH)`,
      );
    }
    let proof: Uint8Array | undefined;
    if (token !== undefined) {
      const body = message.body;
      let ok = false;
      if (body.length === 2 * AUTH_NONCE_LENGTH) {
        const clientNonce = body.slice(0, AUTH_NONCE_LENGTH);
        const expected = await authProof(token, "client", serverNonce, clientNonce);
        ok = timingSafeEqual(expected, body.subarray(AUTH_NONCE_LENGTH));
        if (ok) proof = await authProof(token, "server", serverNonce, clientNonce);
      }
      if (!ok) {
        log({ event: "auth-failed", remote, message: "wrong or missing token proof" });
        await delay(authFailureDelay, closing.signal);
        await channel.send(MSG.ERROR, { message: "authentication failed" }).catch(() => {});
        return false;
      }
    }
    log({
      event: "auth-ok",
      remote,
      message: token === undefined ? "no auth (insecure mode)" : "authenticated",
    });
    await channel.send(MSG.READY, {
      proof: proof === undefined ? null : toHex(proof),
      shell,
      allow: allow ?? null,
      timeout,
      maxOutput,
    });
    return true;
  }

  async function runOne(
    channel: MessageChannel,
    remote: string,
    message: Message,
    next: Promise<Message | null>,
  ): Promise<void> {
    const request = parseJsonBody(message.body);
    let argv: string[];
    if (typeof request.shell === "string") {
      if (!shell) {
        log({
          event: "refused",
          remote,
          message: "shell line refused (server runs without --shell)",
        });
        await channel.send(MSG.REFUSED, {
          message:
            "this server does not accept shell lines; send an argv (the server was started without --shell)",
        });
        return;
      }
      argv = ["/bin/sh", "-c", request.shell];
    } else if (
      Array.isArray(request.argv) && request.argv.length > 0 &&
      request.argv.every((a) => typeof a === "string") && request.argv[0] !== ""
    ) {
      argv = request.argv as string[];
    } else {
      throw new FrameError(
        "a RUN message needs a non-empty string array `argv` or a string `shell`",
      );
    }
    if (allow !== undefined && !allow.includes(argv[0])) {
      log({
        event: "refused",
        remote,
        message: `not in the allow-list: ${JSON.stringify(argv[0])}`,
      });
      await channel.send(MSG.REFUSED, {
        message: `${JSON.stringify(argv[0])} is not in the server's allow-list (allowed: ${
          allow.join(", ")
        })`,
      });
      return;
    }
    log({ event: "run", remote, message: JSON.stringify(argv) });

    const abort = new AbortController();
    next.then((m) => {
      if (m === null || m.type === MSG.CANCEL) abort.abort();
    }, () => abort.abort());
    const result = await runProcessGroup(argv, {
      cwd: options.cwd,
      timeout,
      killGrace,
      maxOutput,
      signal: AbortSignal.any([abort.signal, closing.signal]),
      onStdout: (chunk) => channel.send(MSG.STDOUT, chunk),
      onStderr: (chunk) => channel.send(MSG.STDERR, chunk),
    });
    const status = exitStatusOf(result);
    log({
      event: "exit",
      remote,
      message: `${argv[0]}: status ${status}${result.timedOut ? " (timed out)" : ""}${
        result.truncated ? " (output truncated)" : ""
      }${result.aborted ? " (cancelled)" : ""}`,
    });
    await channel.send(MSG.EXIT, {
      code: result.code,
      signal: result.signal,
      timedOut: result.timedOut,
      truncated: result.truncated,
      cancelled: result.aborted,
      exitStatus: status,
      durationMs: Math.round(result.durationMs),
    });
  }

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (
          closed || error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted
        ) return;
        log({ event: "error", message: `accept failed: ${error}`, error });
        continue;
      }
      const task = handle(conn).finally(() => active.delete(task));
      active.add(task);
    }
  })();

  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      closing.abort();
      try {
        listener.close();
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    }
    await acceptLoop;
    while (active.size > 0) await Promise.allSettled([...active]);
  };
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener("abort", () => void close(), { once: true });
  const finished = acceptLoop.then(async () => {
    while (active.size > 0) await Promise.allSettled([...active]);
  });

  return {
    addr,
    get connections() {
      return active.size;
    },
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}
