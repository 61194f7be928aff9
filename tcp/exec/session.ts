/**
 * The server's side of one remote-command connection: the handshake (HELLO, AUTH, READY) and
 * the commands that follow, each run in its own process group with its output streamed back.
 * The transport ({@linkcode serveFramed}) owns the socket, the deadlines and the slots.
 *
 * @module
 */

import { FrameError } from "../../framing/errors.ts";
import type { FramedConn } from "../framed_conn.ts";
import { authProof, createNonce, timingSafeEqual } from "./auth.ts";
import { exitStatusOf, runProcessGroup } from "./process_group.ts";
import {
  AUTH_NONCE_LENGTH,
  MSG,
  parseJsonBody,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  receiveMessage,
  type RemoteExecMessage,
  sendMessage,
  toHex,
} from "./wire.ts";

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

/** What a session needs to know: the server's checked settings. */
export interface SessionSettings {
  /** The token's bytes, or `undefined` without authentication. */
  token: Uint8Array | undefined;
  /** Whether shell lines are taken. */
  shell: boolean;
  /** The allow-list: each allowed name and the absolute path it runs as. */
  allow: Map<string, string> | undefined;
  /** Per-command timeout in ms (0: none). */
  timeout: number;
  /** SIGTERM to SIGKILL, ms. */
  killGrace: number;
  /** Output cap in bytes. */
  maxOutput: number;
  /** The most authenticated connections. */
  maxConnections: number;
  /** The commands' working directory. */
  cwd: string | undefined;
  /** The commands' whole environment. */
  env: Record<string, string>;
  /** Delay before answering a failed authentication, ms. */
  authFailureDelay: number;
  /** The log. */
  log: (entry: RemoteExecLogEntry) => void;
}

/** A handshake that ended without admitting the peer; already logged. */
export class HandshakeRefused extends Error {
  /**
   * Makes the error.
   *
   * @param message Why.
   */
  constructor(message: string) {
    super(message);
    this.name = "HandshakeRefused";
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

function expect(message: RemoteExecMessage | null, type: number, name: string): Uint8Array {
  if (message === null) throw new HandshakeRefused("closed before authenticating");
  if (message.type !== type) {
    throw new FrameError(
      `unexpected message type 0x${message.type.toString(16)} (expected ${name})`,
    );
  }
  return message.body;
}

/**
 * The server's handshake: greet, check the client's proof, answer READY or ERROR.
 *
 * @param conn The connection.
 * @param s The settings.
 * @param remote The peer, for the log.
 * @param busy Whether every connection slot is taken.
 * @param signal Aborted when the server shuts down.
 * @throws {HandshakeRefused} When the peer is not admitted (logged already).
 */
export async function serverHandshake(
  conn: FramedConn,
  s: SessionSettings,
  remote: string,
  busy: () => boolean,
  signal: AbortSignal,
): Promise<void> {
  const serverNonce = createNonce();
  const hello = sendMessage(conn, MSG.HELLO, {
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    nonce: toHex(serverNonce),
    auth: s.token !== undefined,
  });
  hello.catch(() => {}); // a failed write shows on the receive below
  const greeting = parseJsonBody(expect(await receiveMessage(conn), MSG.CLIENT_HELLO, "HELLO"));
  if (greeting.protocol !== PROTOCOL_NAME || greeting.version !== PROTOCOL_VERSION) {
    throw new FrameError(
      `the client speaks ${String(greeting.protocol)} version ${String(greeting.version)}`,
    );
  }
  const body = expect(await receiveMessage(conn), MSG.AUTH, "AUTH");
  let proof: Uint8Array | undefined;
  if (s.token !== undefined) {
    if (body.length === 2 * AUTH_NONCE_LENGTH) {
      const clientNonce = body.slice(0, AUTH_NONCE_LENGTH);
      const expected = await authProof(s.token, "client", serverNonce, clientNonce);
      if (timingSafeEqual(expected, body.subarray(AUTH_NONCE_LENGTH))) {
        proof = await authProof(s.token, "server", serverNonce, clientNonce);
      }
    }
    if (proof === undefined) {
      s.log({ event: "auth-failed", remote, message: "wrong or missing token proof" });
      await delay(s.authFailureDelay, signal);
      await sendMessage(conn, MSG.ERROR, { message: "authentication failed" }).catch(() => {});
      throw new HandshakeRefused("authentication failed");
    }
  }
  if (busy()) {
    s.log({
      event: "busy",
      remote,
      message: `refused: ${s.maxConnections} connections already open`,
    });
    await sendMessage(conn, MSG.ERROR, { message: "server busy: too many connections" });
    throw new HandshakeRefused("server busy");
  }
  s.log({
    event: "auth-ok",
    remote,
    message: s.token === undefined ? "no auth (insecure mode)" : "authenticated",
  });
  await sendMessage(conn, MSG.READY, {
    proof: proof === undefined ? null : toHex(proof),
    shell: s.shell,
    allow: s.allow === undefined ? null : [...s.allow.keys()],
    timeout: s.timeout,
    maxOutput: s.maxOutput,
  });
}

/**
 * Serves the commands of an authenticated connection, one after another, until the client
 * closes or the server shuts down.
 *
 * @param conn The connection.
 * @param s The settings.
 * @param remote The peer, for the log.
 * @param signal Aborted when the server shuts down: a running command is stopped.
 * @returns The number of commands run.
 */
export async function serveCommands(
  conn: FramedConn,
  s: SessionSettings,
  remote: string,
  signal: AbortSignal,
): Promise<number> {
  let commands = 0;
  const stopped = new Promise<null>((resolve) => {
    if (signal.aborted) resolve(null);
    signal.addEventListener("abort", () => resolve(null), { once: true });
  });
  let next = receiveMessage(conn);
  try {
    for (;;) {
      const message = await Promise.race([next, stopped]);
      if (message === null) break;
      if (message.type === MSG.CANCEL) {
        next = receiveMessage(conn); // a cancel that came after its command ended
        continue;
      }
      if (message.type !== MSG.RUN) {
        throw new FrameError(
          `unexpected message type 0x${message.type.toString(16)} (expected RUN)`,
        );
      }
      // Read on while the command runs: a CANCEL, a close or garbage stop it.
      next = receiveMessage(conn);
      next.catch(() => {}); // awaited by the loop; observed here so it never goes unhandled
      commands++;
      await runOne(conn, s, remote, message, next, signal);
      if (signal.aborted) break;
    }
  } finally {
    // Ends the receive still pending (after a bad request or at shutdown); what is queued (an
    // EXIT) is sent first.
    await conn.close();
    await next.catch(() => {});
  }
  return commands;
}

/** Turns a RUN request into the argv to run, or `undefined` after a REFUSED. */
async function argvOf(
  conn: FramedConn,
  s: SessionSettings,
  remote: string,
  message: RemoteExecMessage,
): Promise<string[] | undefined> {
  const request = parseJsonBody(message.body);
  if (typeof request.shell === "string") {
    if (!s.shell) {
      s.log({ event: "refused", remote, message: "shell line refused (shell lines are off)" });
      await sendMessage(conn, MSG.REFUSED, {
        message: "this server does not accept shell lines; send an argv",
      });
      return undefined;
    }
    return ["/bin/sh", "-c", request.shell];
  }
  const argv = request.argv;
  if (
    !Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string") ||
    argv[0] === ""
  ) {
    throw new FrameError("a RUN message needs a non-empty string array `argv` or a string `shell`");
  }
  if (s.allow === undefined) return argv;
  const program = s.allow.get(argv[0]);
  if (program === undefined) {
    s.log({
      event: "refused",
      remote,
      message: `not in the allow-list: ${JSON.stringify(argv[0])}`,
    });
    await sendMessage(conn, MSG.REFUSED, {
      message: `${JSON.stringify(argv[0])} is not in the server's allow-list (allowed: ${
        [...s.allow.keys()].join(", ")
      })`,
    });
    return undefined;
  }
  return [program, ...argv.slice(1)];
}

/**
 * Sends output in messages that fit the connection's frame limit (the same limit bounds what the
 * peer may send us: the request limit).
 */
async function sendOutput(conn: FramedConn, type: number, chunk: Uint8Array): Promise<void> {
  const piece = conn.format.maxFrameLength - 1;
  for (let at = 0; at < chunk.length; at += piece) {
    await sendMessage(conn, type, chunk.subarray(at, at + piece));
  }
}

async function runOne(
  conn: FramedConn,
  s: SessionSettings,
  remote: string,
  message: RemoteExecMessage,
  next: Promise<RemoteExecMessage | null>,
  signal: AbortSignal,
): Promise<void> {
  const argv = await argvOf(conn, s, remote, message);
  if (argv === undefined) return;
  s.log({ event: "run", remote, message: JSON.stringify(argv) });
  const cancel = new AbortController();
  next.then((m) => {
    if (m === null || m.type === MSG.CANCEL) cancel.abort();
  }, () => cancel.abort());
  const result = await runProcessGroup(argv, {
    cwd: s.cwd,
    env: s.env,
    timeout: s.timeout,
    killGrace: s.killGrace,
    maxOutput: s.maxOutput,
    signal: AbortSignal.any([cancel.signal, signal]),
    onStdout: (chunk) => sendOutput(conn, MSG.STDOUT, chunk),
    onStderr: (chunk) => sendOutput(conn, MSG.STDERR, chunk),
  });
  const status = exitStatusOf(result);
  s.log({
    event: "exit",
    remote,
    message: `${argv[0]}: status ${status}${result.timedOut ? " (timed out)" : ""}${
      result.truncated ? " (output truncated)" : ""
    }${result.aborted ? " (cancelled)" : ""}`,
  });
  await sendMessage(conn, MSG.EXIT, {
    code: result.code,
    signal: result.signal,
    timedOut: result.timedOut,
    truncated: result.truncated,
    cancelled: result.aborted,
    exitStatus: status,
    durationMs: Math.round(result.durationMs),
  });
}
