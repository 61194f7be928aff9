/**
 * File transfer on the framed transport: the tutorial's "big file without sticky packets",
 * streamed from and to disk, verified with SHA-256, written atomically, resumable, with untrusted
 * names refused and nothing written through a link — and still able to speak the tutorial's
 * exact wire to its Python programs.
 *
 * Every byte goes through a `FramedConn` (from `connectFramed`, `listenFramed` or
 * `serveFramed` of `@sockkit/sockkit/tcp`), so its deadlines (`idleTimeout`, …) are the
 * transfer's deadlines.
 *
 * Two wires:
 * - `"sockkit"` (default), per file on one connection:
 *   1. sender → `{"type":"offer","name","size","mode","mtime"}` (a `u32be` frame);
 *   2. receiver → `{"type":"accept","offset","sha256"}` (the length and SHA-256 of the partial
 *      data it already has, kept only if size and mtime match the partial's) or
 *      `{"type":"refuse","code","error"}`; the sender starts over at 0 unless its file starts
 *      with exactly that data. After an accept from an offset above 0 the sender hashes its
 *      own prefix, sending `{"type":"progress","hashed"}` at most every 100 ms meanwhile (so
 *      that the receiver's idle deadline sees a live peer however long that takes), then
 *      `{"type":"resume","offset"}`: that offset, or 0 to start over;
 *   3. sender → an envelope: header `{name, size, mode, mtime, offset, length}`
 *      (`u32be` length, JSON; `length` is the body's size), then the file's bytes from `offset`,
 *      then `{"type":"end","sha256"}` — the whole file's SHA-256, computed while sending so the
 *      file is read once — or `{"type":"end","changed"}` when the source's size or mtime changed
 *      meanwhile (the receiver discards the data). An offer that carries `"sha256"` itself (a
 *      sender that hashed first) gets no `end` frame. While the body arrives, and while it hashes
 *      a partial file or fsyncs, the receiver sends `{"type":"progress"}` (with `"received"`
 *      during the body) at most every 100 ms, so that the sender, waiting for its answer, sees
 *      a live peer within its idle deadline; a receiver that cannot go on (a
 *      full disk) sends `{"type":"error","code","error"}` at once, and the sender stops;
 *   4. receiver, after fsync, verification and the move to the final name →
 *      `{"type":"ack","ok":true,"sha256"}` or `{"type":"ack","ok":false,"code","error"}`;
 *
 *   and finally sender → `{"type":"done"}`.
 * - `"seed"`: the tutorial's layout exactly: `struct.pack('i', len(json))` (`i32le`), the UTF-8
 *   JSON `{"filename": …, "filesize": …}`, then the bytes, then the end of the stream. One file
 *   per connection, no hash, no acknowledgement; the receiver still checks the name, the size,
 *   and that no byte follows the body.
 *
 * On receive (both wires) the name must be a plain base name, short enough for the hidden files
 * beside it; an existing file is kept unless `overwrite`; one receive holds a name at a time
 * (`.NAME.sockkit-lock`); the data goes to `.NAME.sockkit-partial`, created exclusively or
 * opened only after checking it is a plain file (never through a link), is fsynced and verified,
 * then moved to the final name: a failed transfer never leaves a file under the final name.
 *
 * @example A round trip on the loopback
 * ```ts
 * import { connectFramed, listenFramed } from "@sockkit/sockkit/tcp";
 * import { receiveFiles, sendFiles } from "@sockkit/sockkit/transfer";
 * import assert from "node:assert/strict";
 *
 * // Requires `allow-net`, `allow-read` and `allow-write` permissions.
 * const src = await Deno.makeTempDir();
 * const dst = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/notes.txt`, "sticky packets, unstuck");
 * await using listener = listenFramed({ port: 0, idleTimeout: 10_000 });
 * const receiving = (async () => {
 *   await using conn = (await listener.accept())!;
 *   return await receiveFiles(conn, { dir: dst });
 * })();
 * await using conn = await connectFramed({ port: listener.addr.port, idleTimeout: 10_000 });
 * const [sent] = await sendFiles(conn, [`${src}/notes.txt`]);
 * const [received] = await receiving;
 * assert.equal(sent.ok && sent.acknowledged, true);
 * assert.equal(received.sha256, sent.sha256);
 * assert.equal(await Deno.readTextFile(`${dst}/notes.txt`), "sticky packets, unstuck");
 * await Deno.remove(src, { recursive: true });
 * await Deno.remove(dst, { recursive: true });
 * ```
 *
 * @module
 */

// the connection every transfer runs on and the types of its surface, named here so that this
// entry point documents alone
export type { FramedConn } from "../framed_conn.ts";
export type {
  Envelope,
  EnvelopeBody,
  EnvelopeHeader,
  EnvelopeOptions,
  FrameFormat,
  LengthFormat,
} from "../../framing/mod.ts";
export * from "./error.ts";
export * from "./safe_name.ts";
export { receiveFile, receiveFiles } from "./receive.ts";
export { sendFile, sendFiles } from "./send.ts";
export {
  type FileProgress,
  type FileTransferOptions,
  type FileTransferPhase,
  type FileTransferResult,
  type FileWire,
  LOCK_SUFFIX,
  PARTIAL_STATE_SUFFIX,
  PARTIAL_SUFFIX,
  type ReceiveFileOptions,
  type SendFileOptions,
} from "./wire.ts";
