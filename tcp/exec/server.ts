/**
 * The remote-command server, on {@linkcode serveFramed}: authenticated, no shell by default,
 * limited, streaming, with a cleared environment.
 *
 * @module
 */

import { type FramedServer, serveFramed } from "../serve_framed.ts";
import { TimeoutError } from "../errors.ts";
import { checkCount, checkMs, type RemoteExecServerOptions, settingsOf } from "./server_options.ts";
import {
  HandshakeRefused,
  serveCommands,
  serverHandshake,
  type SessionSettings,
} from "./session.ts";

export type { RemoteExecLogEntry } from "./session.ts";
export {
  isLoopback,
  type RemoteExecServerOptions,
  type RemoteExecTlsOptions,
} from "./server_options.ts";

/** A running remote-command server. */
export interface RemoteExecServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Authenticated connections open now. */
  readonly connections: number;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops listening, closes every connection and stops their commands. */
  close(): Promise<void>;
}

function formatAddr(addr: Deno.Addr | undefined): string | undefined {
  if (addr === undefined) return undefined;
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : addr.transport;
}

/** Logs why a connection ended early: a refused or unfinished handshake, or an error. */
function logFailure(s: SessionSettings, error: unknown, remote: string | undefined): void {
  if (error instanceof HandshakeRefused) {
    if (error.message === "closed before authenticating") {
      s.log({ event: "auth-failed", remote, message: error.message });
    }
    return; // the other refusals were logged where they were made
  }
  if (error instanceof TimeoutError && error.kind === "handshake") {
    const evicted = error.cause instanceof Error && /pool/.test(error.cause.message);
    s.log({
      event: "auth-failed",
      remote,
      message: evicted
        ? `dropped after ${error.timeout} ms unauthenticated: the handshake pool was full`
        : `no authentication within ${error.timeout} ms`,
      error,
    });
    return;
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  s.log({ event: "error", remote, message: `connection closed: ${what}`, error });
}

/**
 * Serves remote commands on TCP (or TLS), on the framed transport. Each connection proves it
 * holds the token (HMAC-SHA256 challenge–response over fresh nonces) in the transport's
 * handshake pool: its own deadline and slots, the one that has sent least dropped when full, so sockets that never
 * authenticate cannot keep a token holder out. Then it runs commands one after another: argv
 * without a shell (or shell lines with `shell: true`), each in its own process group with a
 * timeout, an output cap and a cleared environment, the output streamed back as it is produced.
 * A bad frame or a failed authentication closes that connection only.
 *
 * Requires `allow-net`, `allow-run`, `allow-read` (to find the programs) and `allow-env`
 * permissions.
 *
 * @param options Address, token and limits.
 * @returns The running server.
 * @throws {RangeError} Without a token (unless `insecureNoAuth` on loopback), on a bad limit,
 *   a search path with an empty or relative entry, or an allowed program that is not found.
 *
 * @example Running one command
 * ```ts
 * import { connectRemoteExec, serveRemoteExec } from "@sockkit/sockkit/exec";
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
 * @tags allow-net, allow-run, allow-read, allow-env
 */
export function serveRemoteExec(options: RemoteExecServerOptions = {}): RemoteExecServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const s = settingsOf(options, hostname);
  const maxRequestLength = options.maxRequestLength ?? 64 * 1024;
  checkCount("maxRequestLength", maxRequestLength, 64);
  const idleTimeout = options.idleTimeout ?? 900_000;
  checkMs("idleTimeout", idleTimeout);
  if (s.timeout > 0 && idleTimeout <= s.timeout + s.killGrace) {
    throw new RangeError(
      `idleTimeout (${idleTimeout} ms) must be longer than timeout + killGrace (${
        s.timeout + s.killGrace
      } ms): a silent command would lose its connection`,
    );
  }
  let authenticated = 0;
  let stopping = options.signal?.aborted ?? false;
  options.signal?.addEventListener("abort", () => stopping = true, { once: true });
  const server: FramedServer<Deno.NetAddr, void> = serveFramed<void>({
    hostname,
    port: options.port ?? 0,
    tls: options.tls,
    maxFrameLength: maxRequestLength,
    maxConnections: s.maxConnections,
    maxHandshakes: options.maxHandshakes ?? 64,
    handshakeTimeout: options.handshakeTimeout ?? 10_000,
    idleTimeout,
    writeTimeout: options.writeTimeout ?? 30_000,
    signal: options.signal,
    async handshake(conn, info) {
      const remote = formatAddr(info.remoteAddr);
      s.log({ event: "connect", remote, message: "connected" });
      await serverHandshake(
        conn,
        s,
        remote ?? "?",
        () => authenticated >= s.maxConnections,
        info.signal,
      );
    },
    async handler(conn, info) {
      const remote = formatAddr(info.remoteAddr);
      authenticated++;
      try {
        const commands = await serveCommands(conn, s, remote ?? "?", info.signal);
        s.log({ event: "close", remote, message: `closed after ${commands} command(s)` });
      } finally {
        authenticated--;
      }
    },
    onError(error, remoteAddr) {
      if (!stopping) logFailure(s, error, formatAddr(remoteAddr)); // else: cut by the shutdown
    },
  });
  const addr = server.addr;
  s.log({
    event: "listening",
    message: `listening on ${formatAddr(addr)}${options.tls ? " (TLS)" : ""}`,
  });
  const close = () => {
    stopping = true;
    return server.shutdown();
  };
  return {
    addr,
    get connections() {
      return authenticated;
    },
    finished: server.finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}
