/**
 * Remote commands over the framed transport: the tutorial's ssh-like program done safely. The
 * server authenticates every connection (HMAC-SHA256 challenge–response with fresh nonces) in
 * the transport's handshake pool, runs argv without a shell by default (an optional allow-list
 * resolved to absolute paths at start-up; shell lines only when enabled), gives every command a
 * cleared environment (a fixed `PATH` and a short allow-list), puts it in its own process group
 * with a wall-clock timeout (SIGTERM, then SIGKILL to the whole group) and an output cap, and
 * streams stdout and stderr back as they are produced. Optional TLS.
 *
 * @example One command, streamed, with a cleared environment
 * ```ts
 * import { connectRemoteExec, serveRemoteExec } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * const token = crypto.randomUUID(); // 36 bytes
 * Deno.env.set("MY_DB_PASSWORD", "hunter2"); // the server's secret stays on the server
 * await using server = serveRemoteExec({ token, log: () => {} });
 * await using client = await connectRemoteExec({ port: server.addr.port, token });
 * let out = "";
 * let err = "";
 * const result = await client.run(["sh", "-c", 'echo "[$MY_DB_PASSWORD]"; echo oops >&2; exit 5'], {
 *   onStdout: (chunk) => void (out += new TextDecoder().decode(chunk)),
 *   onStderr: (chunk) => void (err += new TextDecoder().decode(chunk)),
 * });
 * assert.equal(result.exitStatus, 5);
 * assert.equal(out, "[]\n");
 * assert.equal(err, "oops\n");
 * Deno.env.delete("MY_DB_PASSWORD");
 * ```
 *
 * @module
 */
export * from "./auth.ts";
export * from "./command_env.ts";
export * from "./errors.ts";
export * from "./process_group.ts";
export * from "./server.ts";
export * from "./client.ts";
export {
  AUTH_NONCE_LENGTH,
  MSG,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  type RemoteCommand,
  type RemoteExecResult,
  type RemoteExecServerInfo,
} from "./wire.ts";
