/**
 * The sending side of file transfer (internal: use `sendFiles` from `file_transfer.ts`).
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { basename } from "node:path";
import { encodeEnvelopeHeader, ENVELOPE_PRESETS } from "../framing/envelope.ts";
import { FileTransferError } from "./file_transfer_error.ts";
import {
  FILE_CHUNK,
  hashPrefix,
  Link,
  MAX_CONTROL_FRAME,
  newHash,
  toTransferError,
} from "./file_transfer_link.ts";
import { escapeFileName, unsafeFileNameReason } from "./safe_name.ts";
import type { FileProgress, FileTransferResult, SendFileOptions } from "./file_transfer.ts";

/** The envelope layout of the sockkit wire: `u32be` JSON header, body length in `length`. */
export const SOCKKIT_FILE_ENVELOPE = Object.freeze({
  sizeField: "length",
  maxHeaderLength: MAX_CONTROL_FRAME,
});

const HEX64 = /^[0-9a-f]{64}$/;

interface Source {
  path: string;
  name: string;
  file: Deno.FsFile;
  size: number;
  mode: number;
  mtime: number;
}

async function openSource(path: string, name: string): Promise<Source> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FileTransferError("not-found", `${path}: no such file`, { cause: error });
    }
    throw toTransferError(error);
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new FileTransferError("not-found", `${path}: not a regular file`);
    return {
      path,
      name,
      file,
      size: info.size,
      mode: (info.mode ?? 0o644) & 0o777,
      mtime: info.mtime?.getTime() ?? 0,
    };
  } catch (error) {
    file.close();
    throw toTransferError(error);
  }
}

export async function sendSession(
  conn: Deno.Conn,
  paths: readonly string[],
  options: SendFileOptions,
): Promise<FileTransferResult[]> {
  const link = new Link(conn, options.idleTimeout ?? 30_000, options.signal);
  const results: FileTransferResult[] = [];
  let fatal: FileTransferError | undefined;
  try {
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i];
      const name = options.names?.[i] ?? basename(path);
      const result: FileTransferResult = {
        name,
        path,
        size: 0,
        resumedFrom: 0,
        transferred: 0,
        ok: false,
      };
      results.push(result);
      if (fatal !== undefined) {
        result.error = new FileTransferError(fatal.code, `not sent: ${fatal.message}`, {
          cause: fatal,
        });
        continue;
      }
      const reason = unsafeFileNameReason(name);
      if (reason !== undefined) {
        result.error = new FileTransferError(
          "unsafe-name",
          `not sent: ${escapeFileName(name)}: ${reason}`,
        );
        continue;
      }
      let source: Source;
      try {
        source = await openSource(path, name);
      } catch (error) {
        result.error = toTransferError(error);
        continue;
      }
      try {
        result.size = source.size;
        if (options.wire === "seed") {
          await sendSeed(link, source, result, options);
        } else {
          await sendOne(link, source, result, options);
        }
      } catch (error) {
        const failure = toTransferError(error, link);
        result.error = failure;
        // A local read error leaves the peer inside a body: the connection is unusable.
        fatal = failure;
      } finally {
        source.file.close();
      }
    }
    if (options.wire !== "seed" && fatal === undefined) {
      try {
        await link.sendJson({ type: "done" });
      } catch (error) {
        // every file was acknowledged already; a peer that left early loses nothing
        void error;
      }
    }
  } finally {
    link.dispose();
  }
  return results;
}

function progress(
  options: SendFileOptions,
  source: Source,
  phase: FileProgress["phase"],
  done: number,
  offset: number,
): void {
  options.onProgress?.({ name: source.name, phase, done, total: source.size, offset });
}

async function sendSeed(
  link: Link,
  source: Source,
  result: FileTransferResult,
  options: SendFileOptions,
): Promise<void> {
  await link.write(encodeEnvelopeHeader({ filename: source.name }, source.size, {
    ...ENVELOPE_PRESETS.python,
    maxHeaderLength: MAX_CONTROL_FRAME,
  }));
  await sendBody(link, source, 0, result, options);
  result.ok = true;
}

/**
 * Streams the file from `offset` to its declared end, reading the next 1 MiB while writing one,
 * and feeding each chunk to `hash` (when given) before it goes out.
 */
async function sendBody(
  link: Link,
  source: Source,
  offset: number,
  result: FileTransferResult,
  options: SendFileOptions,
  hash?: Hash,
): Promise<void> {
  const { file, size } = source;
  await file.seek(offset, Deno.SeekMode.Start);
  const buffers = [new Uint8Array(FILE_CHUNK), new Uint8Array(FILE_CHUNK)];
  let which = 0;
  let position = offset;
  progress(options, source, "sending", position, offset);
  let reading: Promise<number | null> | undefined = size > position
    ? file.read(buffers[which])
    : undefined;
  while (reading !== undefined) {
    const n = await reading;
    if (n === null) {
      throw new FileTransferError(
        "io",
        `${source.path} shrank while being sent (${position} of ${size} bytes)`,
      );
    }
    const chunk = buffers[which].subarray(0, Math.min(n, size - position));
    position += chunk.length;
    which ^= 1;
    reading = position < size ? file.read(buffers[which]) : undefined;
    hash?.update(chunk);
    try {
      await link.write(chunk);
    } catch (error) {
      await reading?.catch(() => {});
      throw error;
    }
    result.transferred += chunk.length;
    progress(options, source, "sending", position, offset);
  }
}

async function sendOne(
  link: Link,
  source: Source,
  result: FileTransferResult,
  options: SendFileOptions,
): Promise<void> {
  const { size } = source;
  // 1. The offer: name, size, mode and mtime. The whole file's SHA-256 follows the body (it is
  //    computed while sending, so the file is read once); a resume is checked on size and mtime by
  //    the receiver and on the prefix's SHA-256 here.
  const identity = {
    name: source.name,
    size,
    mode: source.mode,
    mtime: source.mtime,
  };
  await link.sendJson({ type: "offer", ...identity });

  // 2. The receiver accepts (telling what it already has) or refuses.
  const reply = await link.readJson();
  if (reply === null) {
    throw new FileTransferError("connection", "the receiver closed the connection after the offer");
  }
  if (reply.type === "refuse") {
    result.error = remoteError(reply, source.name);
    return;
  }
  if (reply.type !== "accept") {
    throw new FileTransferError(
      "protocol",
      `expected an accept, got ${JSON.stringify(reply.type)}`,
    );
  }
  const asked = reply.offset;
  if (typeof asked !== "number" || !Number.isSafeInteger(asked) || asked < 0 || asked > size) {
    throw new FileTransferError("protocol", `the receiver asked for offset ${asked} of ${size}`);
  }
  let offset = asked;
  let hash = newHash();
  if (offset > 0) {
    // The receiver's partial data must be a prefix of this very file, or we start over.
    const n = await hashPrefix(
      source.file,
      offset,
      hash,
      (done) => progress(options, source, "hashing", done, 0),
    );
    const theirs = typeof reply.sha256 === "string" && HEX64.test(reply.sha256) ? reply.sha256 : "";
    if (n !== offset || hash.copy().digest("hex") !== theirs) {
      offset = 0;
      hash = newHash();
    }
  }
  result.resumedFrom = offset;

  // 3. The envelope: header, then the bytes from the offset on, hashed as they go out; then the
  //    whole file's SHA-256, or word that the source changed while it was read.
  await link.write(
    encodeEnvelopeHeader({ ...identity, offset }, size - offset, SOCKKIT_FILE_ENVELOPE),
  );
  await sendBody(link, source, offset, result, options, hash);
  const sha256 = hash.digest("hex");
  const changed = await changedSince(source);
  if (changed !== undefined) {
    await link.sendJson({ type: "end", changed });
  } else {
    result.sha256 = sha256;
    await link.sendJson({ type: "end", sha256 });
  }

  // 4. The acknowledgement, after the receiver verified and renamed.
  const ack = await link.readJson();
  if (ack === null) {
    throw new FileTransferError(
      "connection",
      "the receiver closed the connection before acknowledging",
    );
  }
  if (ack.type !== "ack") {
    throw new FileTransferError("protocol", `expected an ack, got ${JSON.stringify(ack.type)}`);
  }
  if (changed !== undefined) {
    result.error = new FileTransferError(
      "io",
      `${source.path} changed while being sent (${changed}); the receiver discarded it`,
    );
  } else if (ack.ok === true && ack.sha256 === sha256) {
    result.ok = true;
  } else {
    result.error = remoteError(ack, source.name);
  }
}

/** What changed in the source since it was opened (size or mtime), or `undefined`. */
async function changedSince(source: Source): Promise<string | undefined> {
  const info = await source.file.stat();
  if (info.size !== source.size) return `size ${source.size} -> ${info.size}`;
  const mtime = info.mtime?.getTime() ?? 0;
  if (mtime !== source.mtime) return `mtime ${source.mtime} -> ${mtime}`;
  return undefined;
}

const CODES = new Set([
  "unsafe-name",
  "exists",
  "no-space",
  "too-large",
  "bad-header",
  "checksum",
  "truncated",
  "timeout",
  "aborted",
  "protocol",
  "not-found",
  "connection",
  "io",
]);

function remoteError(reply: Record<string, unknown>, name: string): FileTransferError {
  const code = typeof reply.code === "string" && CODES.has(reply.code)
    ? reply.code as FileTransferError["code"]
    : "protocol";
  const message = typeof reply.error === "string" ? reply.error : "no reason given";
  return new FileTransferError(
    code,
    `the receiver refused ${escapeFileName(name)}: ${message}`,
    { remote: true },
  );
}
