import assert from "node:assert/strict";
import { encodeEnvelopeHeader, encodeFrame, ENVELOPE_PRESETS } from "../framing/mod.ts";
import { connectFramed, FramedConn, type FramedConnOptions, listenFramed } from "../tcp/mod.ts";
import {
  type FileTransferResult,
  type FileWire,
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
const SIZES = [0, 1, 4095, 4096, 4097, 10_000_000];
/** Every test connection gives up after 10 s of silence (nothing here waits that long). */
const DEADLINES: FramedConnOptions = { idleTimeout: 10_000 };

/** Runs one transfer on the loopback: `sender` says which side listens. */
async function transfer(
  paths: string[],
  dir: string,
  wire: FileWire,
  listener: "sender" | "receiver",
  extra: { send?: SendFileOptions; receive?: ReceiveFileOptions } = {},
): Promise<{ sent: FileTransferResult[]; received: FileTransferResult[] }> {
  await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
  const send = async (conn: FramedConn) => {
    await using _ = conn;
    return await sendFiles(conn, paths, { wire, ...extra.send });
  };
  const receive = async (conn: FramedConn) => {
    await using _ = conn;
    return await receiveFiles(conn, { wire, dir, ...extra.receive });
  };
  const accepted = server.accept().then((conn) => conn!);
  const connected = connectFramed({ hostname: "127.0.0.1", port: server.addr.port, ...DEADLINES });
  const [a, c] = await Promise.all([accepted, connected]);
  const [sent, received] = listener === "sender"
    ? await Promise.all([send(a), receive(c)])
    : await Promise.all([send(c), receive(a)]);
  return { sent, received };
}

async function makeSources(): Promise<{ src: string; paths: string[] }> {
  const src = await Deno.makeTempDir();
  const paths: string[] = [];
  for (const size of SIZES) {
    const path = `${src}/f${size}.bin`;
    await Deno.writeFile(path, randomBytes(size, size + 7));
    paths.push(path);
  }
  return { src, paths };
}

async function assertSame(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  assert.equal(x.length, y.length, `${b} has ${y.length} bytes, expected ${x.length}`);
  assert.ok(x.every((v, i) => v === y[i]), `${b} differs from ${a}`);
}

for (const listener of ["sender", "receiver"] as const) {
  Deno.test({
    name: `sockkit wire: files of ${SIZES.join(", ")} bytes on one connection, ${listener} listens`,
    permissions: NET,
    async fn() {
      const { src, paths } = await makeSources();
      const dst = await Deno.makeTempDir();
      try {
        const { sent, received } = await transfer(paths, dst, "sockkit", listener);
        assert.deepEqual(
          sent.map((r) => [r.ok, r.error?.message]),
          paths.map(() => [true, undefined]),
        );
        assert.deepEqual(received.map((r) => r.ok), paths.map(() => true));
        for (const [i, path] of paths.entries()) {
          await assertSame(path, `${dst}/f${SIZES[i]}.bin`);
          assert.equal(received[i].sha256, sent[i].sha256);
          assert.equal(received[i].transferred, SIZES[i]);
        }
        // No partial or state file is left behind.
        assert.deepEqual(await listDir(dst), SIZES.map((s) => `f${s}.bin`).sort());
      } finally {
        await Deno.remove(src, { recursive: true });
        await Deno.remove(dst, { recursive: true });
      }
    },
  });

  Deno.test({
    name: `seed wire: each size on its own connection, ${listener} listens`,
    permissions: NET,
    async fn() {
      const { src, paths } = await makeSources();
      const dst = await Deno.makeTempDir();
      try {
        for (const [i, path] of paths.entries()) {
          const { sent, received } = await transfer([path], dst, "seed", listener);
          assert.equal(sent[0].ok, true, sent[0].error?.message);
          assert.equal(received[0].ok, true, received[0].error?.message);
          assert.equal(received[0].size, SIZES[i]);
          await assertSame(path, `${dst}/f${SIZES[i]}.bin`);
        }
        assert.deepEqual(await listDir(dst), SIZES.map((s) => `f${s}.bin`).sort());
      } finally {
        await Deno.remove(src, { recursive: true });
        await Deno.remove(dst, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "the seed wire's bytes are exactly struct.pack('i', len) + JSON + body",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${src}/三体.txt`, "abc");
      // a raw peer, as the tutorial's client reads
      using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const reading = (async () => {
        using conn = await server.accept();
        const chunks: Uint8Array[] = [];
        for await (const chunk of conn.readable) chunks.push(chunk);
        return new Uint8Array(chunks.flatMap((c) => [...c]));
      })();
      {
        await using conn = await connectFramed({ port: server.addr.port, ...DEADLINES });
        const [sent] = await sendFiles(conn, [`${src}/三体.txt`], { wire: "seed" });
        assert.deepEqual([sent.ok, sent.acknowledged], [true, false]);
      }
      const bytes = await reading;
      const json = new TextEncoder().encode('{"filename":"三体.txt","filesize":3}');
      assert.deepEqual(
        new DataView(bytes.buffer).getInt32(0, true),
        json.length,
        "i32le length of the JSON",
      );
      assert.deepEqual(bytes.subarray(4, 4 + json.length), json);
      assert.equal(new TextDecoder().decode(bytes.subarray(4 + json.length)), "abc");
      assert.equal(bytes.length, 4 + json.length + 3);
    } finally {
      await Deno.remove(src, { recursive: true });
    }
  },
});

Deno.test({
  name: "an existing file is refused without overwrite (old file untouched), replaced with it",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${src}/a.txt`, "new content");
      await Deno.writeTextFile(`${src}/b.txt`, "bbb");
      await Deno.writeTextFile(`${dst}/a.txt`, "old");
      for (const wire of ["sockkit", "seed"] as const) {
        const paths = wire === "seed" ? [`${src}/a.txt`] : [`${src}/a.txt`, `${src}/b.txt`];
        const { sent, received } = await transfer(paths, dst, wire, "receiver");
        assert.equal(received[0].ok, false);
        assert.equal(received[0].error?.code, "exists");
        if (wire === "sockkit") {
          assert.equal(sent[0].error?.code, "exists");
          assert.equal(sent[0].error?.remote, true);
          // The refusal costs only that file: the next one on the connection arrives.
          assert.equal(sent[1].ok, true);
          assert.equal(await Deno.readTextFile(`${dst}/b.txt`), "bbb");
        }
        assert.equal(await Deno.readTextFile(`${dst}/a.txt`), "old");
      }
      assert.deepEqual(await listDir(dst), ["a.txt", "b.txt"]);
      const { received } = await transfer([`${src}/a.txt`], dst, "sockkit", "sender", {
        receive: { overwrite: true },
      });
      assert.equal(received[0].ok, true);
      assert.equal(await Deno.readTextFile(`${dst}/a.txt`), "new content");
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

const HOSTILE = [
  "../x",
  "/etc/passwd",
  "a/../../b",
  "C:\\x",
  "C:x",
  "..\\x",
  "..",
  ".",
  "a\nb",
  "evil\u001b[31m",
  "nul\u0000byte",
  "",
  ".x.sockkit-partial",
];

Deno.test({
  name: "hostile names are refused on both wires and nothing is written outside (or inside) dir",
  permissions: NET,
  async fn() {
    const root = await Deno.makeTempDir();
    const dst = `${root}/inbox/deep`;
    await Deno.mkdir(dst, { recursive: true });
    try {
      for (const name of HOSTILE) {
        // seed wire: a raw sender, exactly like the tutorial's server but with a hostile name
        {
          await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
          const receiving = (async () => {
            await using conn = (await server.accept())!;
            return await receiveFiles(conn, { dir: dst, wire: "seed" });
          })();
          {
            using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
            const head = encodeEnvelopeHeader({ filename: name }, 3, ENVELOPE_PRESETS.python);
            await conn.write(new Uint8Array([...head, 0x61, 0x62, 0x63]));
          }
          const [result] = await receiving;
          assert.equal(result.ok, false, `seed accepted ${JSON.stringify(name)}`);
          assert.equal(result.error?.code, "unsafe-name");
        }
        // sockkit wire: an offer with the hostile name gets a refusal frame back
        {
          await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
          const receiving = (async () => {
            await using conn = (await server.accept())!;
            return await receiveFiles(conn, { dir: dst });
          })();
          {
            using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
            const offer = {
              type: "offer",
              name,
              size: 3,
              sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
              mode: 0o644,
              mtime: 0,
            };
            await conn.write(encodeFrame(new TextEncoder().encode(JSON.stringify(offer))));
            const reply = new Uint8Array(4096);
            const n = await conn.read(reply);
            const answer = JSON.parse(new TextDecoder().decode(reply.subarray(4, n!)));
            assert.equal(answer.type, "refuse");
            assert.equal(answer.code, "unsafe-name");
            await conn.write(encodeFrame(new TextEncoder().encode('{"type":"done"}')));
          }
          const [result] = await receiving;
          assert.equal(result.error?.code, "unsafe-name");
        }
      }
      // Nothing anywhere under root but the two empty directories.
      assert.deepEqual(await listDir(root), ["inbox"]);
      assert.deepEqual(await listDir(`${root}/inbox`), ["deep"]);
      assert.deepEqual(await listDir(dst), []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a relay that flips one byte: SHA-256 mismatch, rejected, no final and no partial file",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/data.bin`, randomBytes(1_000_000, 3));
      await Deno.writeFile(`${src}/next.bin`, randomBytes(1000, 4));
      await using receiverListener = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
      await using relay = startRelay({ upstream: receiverListener.addr, flipAt: 500_000 });
      const receiving = (async () => {
        await using conn = (await receiverListener.accept())!;
        return await receiveFiles(conn, { dir: dst });
      })();
      let sent;
      {
        await using conn = await connectFramed({ port: relay.addr.port, ...DEADLINES });
        sent = await sendFiles(conn, [`${src}/data.bin`, `${src}/next.bin`]);
      }
      const received = await receiving;
      assert.equal(received[0].ok, false);
      assert.equal(received[0].error?.code, "checksum");
      assert.equal(sent[0].error?.code, "checksum");
      assert.equal(sent[0].error?.remote, true);
      assert.equal(sent[1].ok, true, "the next file on the connection still arrives");
      assert.deepEqual(await listDir(dst), ["next.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "EOF mid-body: no final file, partial kept; the next run resumes byte-identical",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const data = randomBytes(3_000_000, 9);
      await Deno.writeFile(`${src}/movie.bin`, data);
      await using receiverListener = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
      {
        await using relay = startRelay({ upstream: receiverListener.addr, cutAfter: 1_200_000 });
        const receiving = (async () => {
          await using conn = (await receiverListener.accept())!;
          return await receiveFiles(conn, { dir: dst });
        })();
        let sent;
        {
          await using conn = await connectFramed({ port: relay.addr.port, ...DEADLINES });
          sent = await sendFiles(conn, [`${src}/movie.bin`]);
        }
        const [received] = await receiving;
        assert.equal(received.ok, false);
        assert.equal(received.error?.code, "truncated");
        assert.equal(sent[0].ok, false);
        assert.deepEqual(await listDir(dst), [
          ".movie.bin.sockkit-partial",
          ".movie.bin.sockkit-partial.json",
        ]);
        const partial = await Deno.stat(`${dst}/.movie.bin.sockkit-partial`);
        assert.ok(partial.size > 1_000_000 && partial.size < 1_200_000, `${partial.size}`);
      }
      const partialSize = (await Deno.stat(`${dst}/.movie.bin.sockkit-partial`)).size;
      const { sent, received } = await transfer([`${src}/movie.bin`], dst, "sockkit", "sender");
      assert.equal(received[0].ok, true, received[0].error?.message);
      assert.equal(received[0].resumedFrom, partialSize);
      assert.equal(sent[0].resumedFrom, partialSize);
      assert.equal(sent[0].transferred, data.length - partialSize);
      await assertSame(`${src}/movie.bin`, `${dst}/movie.bin`);
      assert.deepEqual(await listDir(dst), ["movie.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "resume: a changed source starts over, and resume: false discards partial data",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const cut = async () => {
        await using receiverListener = listenFramed({
          hostname: "127.0.0.1",
          port: 0,
          ...DEADLINES,
        });
        await using relay = startRelay({ upstream: receiverListener.addr, cutAfter: 600_000 });
        const receiving = (async () => {
          await using conn = (await receiverListener.accept())!;
          return await receiveFiles(conn, { dir: dst });
        })();
        await using conn = await connectFramed({ port: relay.addr.port, ...DEADLINES });
        await sendFiles(conn, [`${src}/f.bin`]);
        const [received] = await receiving;
        assert.equal(received.error?.code, "truncated");
      };
      await Deno.writeFile(`${src}/f.bin`, randomBytes(1_000_000, 1));
      await cut();
      // Same size and a different first byte: the partial data is not a prefix of the new file.
      const changed = randomBytes(1_000_000, 1);
      changed[0] ^= 1;
      await Deno.writeFile(`${src}/f.bin`, changed);
      let { sent, received } = await transfer([`${src}/f.bin`], dst, "sockkit", "sender");
      assert.equal(received[0].ok, true);
      assert.equal(received[0].resumedFrom, 0);
      assert.equal(sent[0].transferred, 1_000_000);
      await assertSame(`${src}/f.bin`, `${dst}/f.bin`);

      await Deno.remove(`${dst}/f.bin`);
      await cut();
      ({ sent, received } = await transfer([`${src}/f.bin`], dst, "sockkit", "receiver", {
        receive: { resume: false },
      }));
      assert.equal(received[0].resumedFrom, 0);
      assert.equal(sent[0].transferred, 1_000_000);
      await assertSame(`${src}/f.bin`, `${dst}/f.bin`);
      assert.deepEqual(await listDir(dst), ["f.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "limits: a header over its limit, a negative size, a size over the free disk space",
  permissions: NET,
  async fn() {
    const dst = await Deno.makeTempDir();
    const rawSeed = async (bytes: Uint8Array, options: ReceiveFileOptions = {}) => {
      await using server = listenFramed({ hostname: "127.0.0.1", port: 0, ...DEADLINES });
      const receiving = (async () => {
        await using conn = (await server.accept())!;
        return await receiveFiles(conn, { dir: dst, wire: "seed", ...options });
      })();
      {
        using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
        await conn.write(bytes);
      }
      const [result] = await receiving;
      return result;
    };
    try {
      // struct.pack('i', 1_000_000): a megabyte of header, over the 64 KiB limit.
      const big = new Uint8Array(4);
      new DataView(big.buffer).setInt32(0, 1_000_000, true);
      let result = await rawSeed(big);
      assert.equal(result.error?.code, "too-large");
      assert.match(result.error!.message, /1000000 bytes exceeds the limit of 65536/);

      // struct.pack('i', -5)
      const negative = new Uint8Array(4);
      new DataView(negative.buffer).setInt32(0, -5, true);
      result = await rawSeed(negative);
      assert.equal(result.error?.code, "bad-header");

      // {"filename": "x", "filesize": -1}
      const json = new TextEncoder().encode('{"filename": "x", "filesize": -1}');
      const head = new Uint8Array(4 + json.length);
      new DataView(head.buffer).setInt32(0, json.length, true);
      head.set(json, 4);
      result = await rawSeed(head);
      assert.equal(result.error?.code, "bad-header");

      // A petabyte: more than this disk has free.
      result = await rawSeed(
        encodeEnvelopeHeader({ filename: "huge.iso" }, 2 ** 50, ENVELOPE_PRESETS.python),
      );
      assert.equal(result.error?.code, "no-space");
      assert.match(result.error!.message, /needs 1125899906842624 bytes/);

      // maxFileSize
      result = await rawSeed(
        encodeEnvelopeHeader({ filename: "a.bin" }, 2000, ENVELOPE_PRESETS.python),
        { maxFileSize: 1000 },
      );
      assert.equal(result.error?.code, "too-large");
      assert.deepEqual(await listDir(dst), []);
    } finally {
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "idle timeout: a sender that stalls inside the body is cut off, no file left",
  permissions: NET,
  async fn() {
    const dst = await Deno.makeTempDir();
    try {
      await using server = listenFramed({ hostname: "127.0.0.1", port: 0, idleTimeout: 200 });
      const receiving = (async () => {
        await using conn = (await server.accept())!;
        return await receiveFiles(conn, { dir: dst, wire: "seed" });
      })();
      using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      const head = encodeEnvelopeHeader({ filename: "slow.bin" }, 100, ENVELOPE_PRESETS.python);
      await conn.write(new Uint8Array([...head, 1, 2, 3]));
      const started = performance.now();
      const [result] = await receiving;
      assert.equal(result.error?.code, "timeout");
      assert.ok(performance.now() - started < 5000);
      assert.deepEqual(await listDir(dst), []);
    } finally {
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "bad arguments throw TypeError / RangeError",
  permissions: "none",
  fn() {
    // a connection that is never used: every check runs before any byte moves
    const idle = { read: () => Promise.resolve(null), close() {} } as unknown as Deno.Conn;
    const conn = new FramedConn(idle);
    assert.throws(() => sendFiles(conn, ["a", "b"], { wire: "seed" }), RangeError);
    assert.throws(() => sendFiles(conn, ["a"], { wire: "x" as FileWire }), TypeError);
    assert.throws(() => sendFiles(conn, ["a"], { names: [] }), RangeError);
    assert.throws(() => receiveFiles(conn, { maxFiles: 0 }), RangeError);
    assert.throws(() => receiveFiles(conn, { maxFileSize: -1 }), RangeError);
    assert.throws(
      () => receiveFiles({} as FramedConn, {}),
      TypeError,
      "a raw Deno.Conn or anything else is refused",
    );
    assert.throws(
      () => receiveFiles(new FramedConn(idle, { lengthFormat: "u16be" }), {}),
      TypeError,
    );
  },
});

Deno.test({
  name: "sockkit wire: a source changed while it is sent is discarded by the receiver",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dir = await Deno.makeTempDir();
    try {
      const path = `${src}/moving.bin`;
      await Deno.writeFile(path, randomBytes(8_000_000, 3));
      let touched = false;
      const { sent, received } = await transfer([path], dir, "sockkit", "receiver", {
        send: {
          onProgress: (p) => {
            if (!touched && p.done > 0) {
              // Another program rewrites the file's mtime while it is being read.
              Deno.utimeSync(path, new Date(), new Date(2001, 0, 1));
              touched = true;
            }
          },
        },
      });
      assert.ok(touched, "the progress callback ran during the send");
      assert.equal(sent[0].ok, false);
      assert.match(String(sent[0].error?.message), /changed while being sent/);
      assert.equal(received[0].ok, false);
      assert.deepEqual(
        (await listDir(dir)).filter((name) => name === "moving.bin"),
        [],
        "no file under the final name",
      );
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "write deadline: a receiver that accepts and then reads nothing fails the send with " +
    "'timeout' (the connection's writeTimeout, no watchdog of its own)",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/big.bin`, randomBytes(32_000_000, 8));
      using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      let peer: Deno.Conn | undefined;
      const stalling = (async () => {
        peer = await server.accept();
        // read the offer, accept from 0, then never read again
        const buffer = new Uint8Array(4096);
        await peer.read(buffer);
        const reply = new TextEncoder().encode('{"type":"accept","offset":0,"sha256":""}');
        const frame = new Uint8Array(4 + reply.length);
        new DataView(frame.buffer).setUint32(0, reply.length);
        frame.set(reply, 4);
        await peer.write(frame);
      })();
      await using conn = await connectFramed({ port: server.addr.port, writeTimeout: 300 });
      const [sent] = await sendFiles(conn, [`${src}/big.bin`]);
      await stalling;
      peer?.close();
      assert.equal(sent.ok, false);
      assert.equal(sent.error?.code, "timeout", sent.error?.message);
      assert.match(sent.error!.message, /write/);
    } finally {
      await Deno.remove(src, { recursive: true });
    }
  },
});

Deno.test({
  name: "a body that takes longer than the sender's idle deadline still arrives (the receiver " +
    "reports progress while the sender waits for its answer)",
  permissions: NET,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/slow.bin`, randomBytes(12_000_000, 9));
      await using listener = listenFramed({ hostname: "127.0.0.1", port: 0, idleTimeout: 2500 });
      let seen = 0;
      const receiving = (async () => {
        await using conn = (await listener.accept())!;
        return await receiveFiles(conn, {
          dir: dst,
          // a slow disk: 1 ms per 4 KiB received (about 3 s in all), however the chunks are cut
          onProgress({ done }) {
            const until = performance.now() + (done - seen) / 4096;
            seen = done;
            while (performance.now() < until) { /* busy */ }
          },
        });
      })();
      await using conn = await connectFramed({ port: listener.addr.port, idleTimeout: 2500 });
      const started = performance.now();
      const [sent] = await sendFiles(conn, [`${src}/slow.bin`]);
      const took = performance.now() - started;
      const [received] = await receiving;
      assert.equal(sent.ok, true, sent.error?.message);
      assert.equal(received.ok, true, received.error?.message);
      assert.ok(took > 2500, `the body took ${took} ms, not longer than the idle deadline`);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});
