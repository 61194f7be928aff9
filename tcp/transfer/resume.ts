/**
 * The resume handshake of the sockkit wire, both sides. The receiver's `accept` names the bytes
 * it kept (offset and their SHA-256); the sender hashes the same prefix of its file, which may
 * take long, and reports `{"type":"progress","hashed"}` every {@linkcode PROGRESS_INTERVAL} ms
 * meanwhile, so that the receiver's idle deadline sees a live peer; then it says where its body
 * starts, `{"type":"resume","offset"}`: the kept offset, or 0 when the prefixes differ. An
 * `accept` from offset 0 has no such exchange: the envelope follows at once.
 *
 * @module
 */

import type { FramedConn } from "../framed_conn.ts";
import { type Control, receiveControl, sendControl } from "./control.ts";
import { FileTransferError } from "./error.ts";
import { hashPrefix } from "./file_hash.ts";
import type { Sha256 } from "./sha256.ts";
import { HEX64, PROGRESS_INTERVAL } from "./wire.ts";

/**
 * Sender: where to start, given the receiver's `accept`. `hash` then holds the prefix, or
 * nothing when starting over.
 *
 * @param onChunk Called as the prefix is hashed, with the bytes hashed so far.
 */
export async function resumeOffset(
  conn: FramedConn,
  file: Deno.FsFile,
  size: number,
  reply: Control,
  hash: Sha256,
  onChunk?: (done: number) => void,
): Promise<number> {
  const asked = reply.offset;
  if (typeof asked !== "number" || !Number.isSafeInteger(asked) || asked < 0 || asked > size) {
    throw new FileTransferError("protocol", `the receiver asked for offset ${asked} of ${size}`);
  }
  if (asked === 0) return 0;
  let hashed = 0;
  // a failed send shows on the next operation of the connection
  const timer = setInterval(
    () => sendControl(conn, { type: "progress", hashed }).catch(() => {}),
    PROGRESS_INTERVAL,
  );
  let n;
  try {
    n = await hashPrefix(file, asked, hash, (done) => {
      hashed = done;
      onChunk?.(done);
    });
  } finally {
    clearInterval(timer);
  }
  const theirs = typeof reply.sha256 === "string" && HEX64.test(reply.sha256) ? reply.sha256 : "";
  let offset = asked;
  if (n !== asked || await hash.peek() !== theirs) {
    await hash.digest(); // starts over
    offset = 0;
  }
  await sendControl(conn, { type: "resume", offset });
  return offset;
}

/**
 * Receiver, after accepting from `held` > 0: waits out the sender's progress reports and returns
 * where its body starts (`held` or 0).
 *
 * @throws {FileTransferError} `"truncated"` or `"protocol"`; a connection failure as is.
 */
export async function awaitResume(conn: FramedConn, held: number): Promise<number> {
  let message;
  do message = await receiveControl(conn); while (message?.type === "progress");
  if (message === null) {
    throw new FileTransferError("truncated", "the connection ended before resuming");
  }
  if (message.type !== "resume" || (message.offset !== 0 && message.offset !== held)) {
    throw new FileTransferError(
      "protocol",
      `expected a resume from 0 or ${held}, got ${JSON.stringify(message).slice(0, 200)}`,
    );
  }
  return message.offset;
}
