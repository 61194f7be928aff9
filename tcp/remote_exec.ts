/**
 * Remote commands over framed TCP: the tutorial's ssh-like program done safely. The server
 * authenticates every connection (HMAC-SHA256 challenge–response with fresh nonces), runs argv
 * without a shell by default (an optional allow-list; shell lines only when enabled), puts every
 * command in its own process group with a wall-clock timeout (SIGTERM, then SIGKILL to the whole
 * group) and an output cap, and streams stdout and stderr back as they are produced. Optional TLS.
 *
 * @example One command, streamed
 * ```ts
 * import { connectRemoteExec, serveRemoteExec } from "@sockkit/sockkit/tcp";
 * import assert from "node:assert/strict";
 *
 * const token = crypto.randomUUID(); // 36 bytes
 * await using server = serveRemoteExec({ token, log: () => {} });
 * await using client = await connectRemoteExec({ port: server.addr.port, token });
 * let err = "";
 * const result = await client.run(["sh", "-c", "echo oops >&2; exit 5"], {
 *   onStderr: (chunk) => void (err += new TextDecoder().decode(chunk)),
 * });
 * assert.equal(result.exitStatus, 5);
 * assert.equal(err, "oops\n");
 * ```
 *
 * @module
 */
export * from "./remote_exec_auth.ts";
export * from "./remote_exec_process.ts";
export * from "./remote_exec_server.ts";
export * from "./remote_exec_client.ts";
