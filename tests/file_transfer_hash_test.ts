/**
 * Where the SHA-256 runs (`hashWorker`), and a resume whose prefix takes the sender longer to
 * hash than the receiver's idle deadline.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { connectFramed, type FramedConnOptions, listenFramed } from "../tcp/mod.ts";
import {
  type FileTransferResult,
  type ReceiveFileOptions,
  receiveFiles,
  type SendFileOptions,
  sendFiles,
} from "../tcp/transfer/mod.ts";
import { listDir, randomBytes, startRelay } from "./file_transfer_helpers.ts";

const NET: Deno.PermissionOptions = {
  net: ["127.0.0.1"],
  read: true,
  write: true,
  sys: ["statfs"],
};
const MiB = 1024 * 1024;
/** Where temporary directories go (not where this package's files are). */
const TMP = (() => {
  const probe = Deno.makeTempDirSync();
  Deno.removeSync(probe);
  return dirname(probe);
})();
const DEADLINES: FramedConnOptions = { idleTimeout: 10_000 };

/** One transfer on the loopback, the receiver listening with `receiverConn` deadlines. */
async function transfer(
  path: string,
  dir: string,
  send: SendFileOptions = {},
  receive: ReceiveFileOptions = {},
  receiverConn: FramedConnOptions = DEADLINES,
): Promise<{ sent: FileTransferResult; received: FileTransferResult }> {
  await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...receiverConn });
  const receiving = (async () => {
    await using conn = (await server.accept())!;
    return await receiveFiles(conn, { dir, ...receive });
  })();
  let sent;
  {
    await using conn = await connectFramed({ port: server.addr.port, ...DEADLINES });
    sent = await sendFiles(conn, [path], send);
  }
  return { sent: sent[0], received: (await receiving)[0] };
}

/** Sends `path` through a relay that cuts the connection after `cutAfter` bytes. */
async function cutTransfer(
  path: string,
  dir: string,
  cutAfter: number,
  options: SendFileOptions & ReceiveFileOptions = {},
): Promise<void> {
  await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
  await using relay = startRelay({ upstream: server.addr, cutAfter });
  const receiving = (async () => {
    await using conn = (await server.accept())!;
    return await receiveFiles(conn, { dir, hashWorker: options.hashWorker });
  })();
  {
    await using conn = await connectFramed({ port: relay.addr.port, ...DEADLINES });
    await sendFiles(conn, [path], { hashWorker: options.hashWorker });
  }
  const [received] = await receiving;
  assert.equal(received.error?.code, "truncated");
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test({
  name: "hashWorker true: a 20 MiB file and its resume hash in a worker, digest as node:crypto's",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const data = randomBytes(20 * MiB + 12_345, 3);
      await Deno.writeFile(`${src}/big.bin`, data);
      const both = { hashWorker: true } as const;
      await cutTransfer(`${src}/big.bin`, dst, 7 * MiB + 99, both);
      const partial = (await Deno.stat(`${dst}/.big.bin.sockkit-partial`)).size;
      assert.ok(partial > 0 && partial < 7 * MiB + 99, `${partial}`);

      const { sent, received } = await transfer(`${src}/big.bin`, dst, both, both);
      assert.equal(received.ok, true, received.error?.message);
      assert.equal(sent.ok, true, sent.error?.message);
      assert.equal(received.resumedFrom, partial);
      assert.equal(sent.resumedFrom, partial);
      assert.equal(sent.sha256, sha256(data));
      assert.equal(received.sha256, sha256(data));
      assert.equal(sha256(await Deno.readFile(`${dst}/big.bin`)), sha256(data));
      assert.deepEqual(await listDir(dst), ["big.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "hashWorker true on one side only, and a file flipped in transit is still caught",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const data = randomBytes(17 * MiB, 5);
      await Deno.writeFile(`${src}/a.bin`, data);
      const { sent, received } = await transfer(`${src}/a.bin`, dst, { hashWorker: true }, {
        hashWorker: false,
      });
      assert.equal(sent.ok, true, sent.error?.message);
      assert.equal(received.sha256, sha256(data));

      await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
      await using relay = startRelay({ upstream: server.addr, flipAt: 9 * MiB });
      const receiving = (async () => {
        await using conn = (await server.accept())!;
        return await receiveFiles(conn, { dir: dst, overwrite: true, hashWorker: true });
      })();
      let flipped;
      {
        await using conn = await connectFramed({ port: relay.addr.port, ...DEADLINES });
        [flipped] = await sendFiles(conn, [`${src}/a.bin`], { hashWorker: true });
      }
      const [got] = await receiving;
      assert.equal(got.error?.code, "checksum");
      assert.equal(flipped.ok, false);
      assert.equal(flipped.error?.code, "checksum");
      // the first copy is untouched, and nothing half-finished looks whole
      assert.equal(sha256(await Deno.readFile(`${dst}/a.bin`)), sha256(data));
      assert.deepEqual(await listDir(dst), ["a.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "resume: the receiver's idle deadline survives a prefix that takes longer than it to hash",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const data = randomBytes(24 * MiB, 8);
      await Deno.writeFile(`${src}/slow.bin`, data);
      await cutTransfer(`${src}/slow.bin`, dst, 20 * MiB);
      const partial = (await Deno.stat(`${dst}/.slow.bin.sockkit-partial`)).size;
      assert.ok(partial > 10 * MiB, `${partial}`);

      // Hashing the prefix is slowed to 40 ms a MiB (≥ 400 ms in all), against a receiver that
      // gives up after 300 ms without a byte: only the sender's progress frames keep it waiting.
      let hashingMs = 0;
      const started = performance.now();
      const slow: SendFileOptions = {
        onProgress(p) {
          if (p.phase !== "hashing") return;
          const until = performance.now() + 40;
          while (performance.now() < until) { /* a slow disk */ }
          hashingMs = performance.now() - started;
        },
      };
      const { sent, received } = await transfer(`${src}/slow.bin`, dst, slow, {}, {
        idleTimeout: 300,
      });
      assert.ok(hashingMs > 400, `${hashingMs}`);
      assert.equal(received.ok, true, received.error?.message);
      assert.equal(sent.ok, true, sent.error?.message);
      assert.equal(received.resumedFrom, partial);
      assert.equal(sha256(await Deno.readFile(`${dst}/slow.bin`)), sha256(data));
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "hashWorker true without read access to the package: hashed on the main thread, same digest",
  ignore: new URL(import.meta.url).pathname.startsWith(TMP + "/"),
  permissions: { net: ["127.0.0.1"], read: [TMP], write: [TMP], sys: ["statfs"] },
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const data = randomBytes(17 * MiB, 11);
      await Deno.writeFile(`${src}/c.bin`, data);
      const worker = { hashWorker: true } as const;
      const { sent, received } = await transfer(`${src}/c.bin`, dst, worker, worker);
      assert.equal(received.ok, true, received.error?.message);
      assert.equal(sent.ok, true, sent.error?.message);
      assert.equal(received.sha256, sha256(data));
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test('hashWorker: anything but "auto", true or false is a TypeError', async () => {
  await using server = listenFramed({ hostname: "127.0.0.1", port: 0 });
  await using conn = await connectFramed({ port: server.addr.port });
  const bad = { hashWorker: "yes" } as unknown as SendFileOptions;
  assert.throws(() => sendFiles(conn, [], bad), TypeError);
  assert.throws(() => receiveFiles(conn, bad), TypeError);
  (await server.accept())?.abort();
});
