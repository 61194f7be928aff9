/**
 * File transfer against a hostile directory and hostile or careless peers: planted links, a
 * partial file swapped for a link mid-transfer, two receives of one name at once, names that
 * leave no room for the hidden files, extra bytes on the seed wire.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { encodeEnvelopeHeader, ENVELOPE_PRESETS } from "../framing/mod.ts";
import {
  connectFramed,
  type FramedConn,
  type FramedConnOptions,
  listenFramed,
} from "../tcp/mod.ts";
import {
  type FileTransferResult,
  MAX_FILE_NAME_BYTES,
  type ReceiveFileOptions,
  receiveFiles,
  type SendFileOptions,
  sendFiles,
} from "../tcp/transfer/mod.ts";
import { listDir, randomBytes } from "./file_transfer_helpers.ts";

const NET: Deno.PermissionOptions = {
  net: ["127.0.0.1"],
  read: true,
  write: true,
  sys: ["statfs"],
};
const DEADLINES: FramedConnOptions = { idleTimeout: 10_000 };
const text = new TextEncoder();

/** A connected pair on the loopback. */
async function pair(): Promise<[FramedConn, FramedConn]> {
  await using listener = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
  const client = await connectFramed({ port: listener.addr.port, ...DEADLINES });
  return [client, (await listener.accept())!];
}

async function transfer(
  paths: string[],
  dir: string,
  extra: { send?: SendFileOptions; receive?: ReceiveFileOptions } = {},
): Promise<{ sent: FileTransferResult[]; received: FileTransferResult[] }> {
  const [a, b] = await pair();
  await using sender = a;
  await using receiver = b;
  const [sent, received] = await Promise.all([
    sendFiles(sender, paths, extra.send),
    receiveFiles(receiver, { dir, ...extra.receive }),
  ]);
  return { sent, received };
}

/** An outside file whose content, mode and mtime must survive. */
async function outsideFile(root: string): Promise<{ path: string; check(): Promise<void> }> {
  const path = `${root}/outside.txt`;
  await Deno.writeTextFile(path, "precious");
  await Deno.chmod(path, 0o600);
  await Deno.utime(path, new Date(2000, 0, 1), new Date(2000, 0, 1));
  const before = await Deno.stat(path);
  return {
    path,
    async check() {
      const after = await Deno.stat(path);
      assert.equal(await Deno.readTextFile(path), "precious", "the outside file was written");
      assert.equal(after.mode! & 0o777, 0o600, "the outside file was chmod-ed");
      assert.equal(after.mtime?.getTime(), before.mtime?.getTime(), "the outside file was timed");
    },
  };
}

async function tempRoot(): Promise<{ root: string; src: string; dst: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/src`);
  await Deno.mkdir(`${root}/inbox`);
  return {
    root,
    src: `${root}/src`,
    dst: `${root}/inbox`,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test({
  name: "a planted .NAME.sockkit-partial.json symlink does not make a receive write outside",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    const outside = await outsideFile(t.root);
    await Deno.writeFile(`${t.src}/a.bin`, randomBytes(100_000, 1));
    await Deno.symlink(outside.path, `${t.dst}/.a.bin.sockkit-partial.json`);
    const { sent, received } = await transfer([`${t.src}/a.bin`], t.dst);
    await outside.check();
    assert.equal(received[0].ok, true, received[0].error?.message);
    assert.equal(sent[0].ok, true);
    assert.deepEqual(await listDir(t.dst), ["a.bin"]);
    assert.equal((await Deno.lstat(`${t.dst}/a.bin`)).isFile, true);
  },
});

Deno.test({
  name: "a planted .NAME.sockkit-partial symlink is never written through",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    const outside = await outsideFile(t.root);
    await Deno.writeFile(`${t.src}/a.bin`, randomBytes(100_000, 2));
    await Deno.symlink(outside.path, `${t.dst}/.a.bin.sockkit-partial`);
    for (const wire of ["sockkit", "seed"] as const) {
      await Deno.remove(`${t.dst}/a.bin`).catch(() => {});
      await Deno.symlink(outside.path, `${t.dst}/.a.bin.sockkit-partial`).catch(() => {});
      const { received } = await transfer([`${t.src}/a.bin`], t.dst, {
        send: { wire },
        receive: { wire },
      });
      await outside.check();
      assert.equal(received[0].ok, true, `${wire}: ${received[0].error?.message}`);
      assert.equal((await Deno.lstat(`${t.dst}/a.bin`)).isFile, true);
      assert.deepEqual(await listDir(t.dst), ["a.bin"]);
    }
  },
});

Deno.test({
  name: "a partial file swapped for a symlink after the accept: nothing outside is written, " +
    "chmod-ed or timed, no final name, and no success reported",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    const outside = await outsideFile(t.root);
    const data = randomBytes(3_000_000, 3);
    await Deno.writeFile(`${t.src}/a.bin`, data);
    await Deno.chmod(`${t.src}/a.bin`, 0o777);
    const partial = `${t.dst}/.a.bin.sockkit-partial`;
    let swapped = false;
    const { sent, received } = await transfer([`${t.src}/a.bin`], t.dst, {
      send: {
        // runs once the receiver accepted, before the first byte of the body leaves
        onProgress() {
          if (swapped) return;
          swapped = true;
          Deno.removeSync(partial);
          Deno.symlinkSync(outside.path, partial);
        },
      },
    });
    assert.ok(swapped);
    await outside.check();
    assert.equal(received[0].ok, false);
    assert.equal(received[0].error?.code, "unsafe-file");
    assert.equal(sent[0].ok, false, "the sender is not told it worked");
    assert.equal(sent[0].error?.code, "unsafe-file");
    const names = await listDir(t.dst);
    assert.ok(!names.includes("a.bin"), `a final name was left: ${names}`);
  },
});

/** A scripted sender of the sockkit wire that stops inside the body until `release()`. */
async function heldSender(conn: FramedConn, name: string, data: Uint8Array) {
  await conn.send(text.encode(JSON.stringify({
    type: "offer",
    name,
    size: data.length,
    mode: 0o644,
    mtime: 1,
  })));
  const accept = JSON.parse(new TextDecoder().decode((await conn.receive())!));
  assert.equal(accept.type, "accept");
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const half = data.length >> 1;
  const body = (async function* () {
    yield data.subarray(0, half);
    await released;
    yield data.subarray(half);
  })();
  const sending = conn.sendEnvelope(
    { name, size: data.length, mode: 0o644, mtime: 1, offset: 0 },
    body,
    data.length,
    { sizeField: "length" },
  ).then(async () => {
    const sha256 = createHash("sha256").update(data).digest("hex");
    await conn.send(text.encode(JSON.stringify({ type: "end", sha256 })));
    const ack = JSON.parse(new TextDecoder().decode((await conn.receive())!));
    await conn.send(text.encode('{"type":"done"}'));
    return ack;
  });
  return { release, sending };
}

Deno.test({
  name: "two receives of one name at once: the second is refused as busy, the first keeps its " +
    "own bytes, and its acknowledgement covers the bytes under the final name",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    const first = randomBytes(2_000_000, 4);
    await Deno.writeFile(`${t.src}/same.bin`, randomBytes(1_000_000, 5));
    const [a1, b1] = await pair();
    await using s1 = a1;
    await using r1 = b1;
    const receiving1 = receiveFiles(r1, { dir: t.dst });
    const held = await heldSender(s1, "same.bin", first);
    // the first receive is inside the body now; a second one of the same name comes in
    const { sent, received } = await transfer([`${t.src}/same.bin`], t.dst);
    assert.equal(received[0].error?.code, "busy");
    assert.equal(sent[0].error?.code, "busy");
    assert.equal(sent[0].error?.remote, true);
    held.release();
    const ack = await held.sending;
    const [result] = await receiving1;
    assert.equal(result.ok, true, result.error?.message);
    const final = await Deno.readFile(`${t.dst}/same.bin`);
    assert.deepEqual(final, first);
    assert.equal(ack.ok, true);
    assert.equal(ack.sha256, createHash("sha256").update(final).digest("hex"));
    assert.deepEqual(await listDir(t.dst), ["same.bin"]);
  },
});

Deno.test({
  name: "a lock left by a killed receive is taken over; a lock that is a link is refused",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    await Deno.writeFile(`${t.src}/a.bin`, randomBytes(1000, 6));
    await Deno.writeTextFile(`${t.dst}/.a.bin.sockkit-lock`, "12345\n");
    let { received } = await transfer([`${t.src}/a.bin`], t.dst);
    assert.equal(received[0].ok, true, received[0].error?.message);
    assert.deepEqual(await listDir(t.dst), ["a.bin"]);

    const outside = await outsideFile(t.root);
    await Deno.symlink(outside.path, `${t.dst}/.b.bin.sockkit-lock`);
    await Deno.copyFile(`${t.src}/a.bin`, `${t.src}/b.bin`);
    ({ received } = await transfer([`${t.src}/b.bin`], t.dst));
    assert.equal(received[0].error?.code, "unsafe-file");
    await outside.check();
    assert.deepEqual(await listDir(t.dst), [".b.bin.sockkit-lock", "a.bin"]);
  },
});

Deno.test({
  name: `names over ${MAX_FILE_NAME_BYTES} bytes are refused up front (room for the hidden ` +
    "files), with no stray file; the longest accepted name arrives",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    for (const bytes of [MAX_FILE_NAME_BYTES + 1, 238, 250, 255]) {
      const name = "n".repeat(bytes);
      for (const wire of ["sockkit", "seed"] as const) {
        const [a, b] = await pair();
        await using sender = a;
        await using receiver = b;
        const receiving = receiveFiles(receiver, { dir: t.dst, wire });
        if (wire === "seed") {
          await sender.sendEnvelope(
            { filename: name },
            new Uint8Array(3),
            3,
            ENVELOPE_PRESETS.python,
          );
          await sender.closeWrite();
        } else {
          await sender.send(text.encode(JSON.stringify({ type: "offer", name, size: 3 })));
          const reply = JSON.parse(new TextDecoder().decode((await sender.receive())!));
          assert.equal(reply.type, "refuse");
          await sender.send(text.encode('{"type":"done"}'));
        }
        const [result] = await receiving;
        assert.equal(result.error?.code, "unsafe-name", `${bytes} bytes, ${wire}`);
        assert.match(result.error!.message, /hidden/);
      }
    }
    assert.deepEqual(await listDir(t.dst), []);
    const longest = "L".repeat(MAX_FILE_NAME_BYTES);
    await Deno.writeFile(`${t.src}/${longest}`, randomBytes(5000, 7));
    const { received } = await transfer([`${t.src}/${longest}`], t.dst);
    assert.equal(received[0].ok, true, received[0].error?.message);
    assert.deepEqual(await listDir(t.dst), [longest]);
  },
});

Deno.test({
  name: "seed wire: bytes beyond the declared filesize are an error and nothing is kept",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    for (const extra of [1, 3, 4, 5000]) {
      await using listener = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
      const receiving = (async () => {
        await using conn = (await listener.accept())!;
        return await receiveFiles(conn, { dir: t.dst, wire: "seed" });
      })();
      {
        // the tutorial's server with a wrong filesize: 3 declared, more sent
        using raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
        const head = encodeEnvelopeHeader({ filename: "x.bin" }, 3, ENVELOPE_PRESETS.python);
        const bytes = new Uint8Array([...head, 1, 2, 3, ...new Uint8Array(extra).fill(9)]);
        let at = 0;
        while (at < bytes.length) at += await raw.write(bytes.subarray(at));
      }
      const [result] = await receiving;
      assert.equal(result.ok, false, `${extra} extra bytes accepted`);
      assert.equal(result.error?.code, "protocol");
      assert.match(result.error!.message, /beyond the declared filesize/);
      assert.deepEqual(await listDir(t.dst), []);
    }
  },
});

Deno.test({
  name: "library errors name no command-line flag",
  permissions: NET,
  async fn() {
    await using t = await tempRoot();
    await Deno.writeTextFile(`${t.src}/a.txt`, "new");
    await Deno.writeTextFile(`${t.dst}/a.txt`, "old");
    const { sent, received } = await transfer([`${t.src}/a.txt`], t.dst);
    assert.equal(received[0].error?.code, "exists");
    assert.equal(sent[0].error?.code, "exists");
    for (const message of [received[0].error!.message, sent[0].error!.message]) {
      assert.doesNotMatch(message, /--[a-z]/, message);
    }
  },
});
