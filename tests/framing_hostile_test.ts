import assert from "node:assert/strict";
import {
  CorruptFrameError,
  encodeFrame,
  encodeFrames,
  FRAME_PRESETS,
  FrameDecoder,
  FrameError,
  type FrameOptions,
  FrameTooLargeError,
  LENGTH_FORMATS,
  TruncatedFrameError,
} from "../framing/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);

function decodeError(bytes: Uint8Array, options: FrameOptions = {}): unknown {
  const decoder = new FrameDecoder(options);
  try {
    decoder.push(bytes);
    decoder.finish();
  } catch (error) {
    return error;
  }
  return undefined;
}

Deno.test({
  name: "a declared 2^32-1 length throws at the header, before any body byte",
  permissions: "none",
}, () => {
  for (const lengthFormat of ["u32be", "u32le"] as const) {
    const decoder = new FrameDecoder({ lengthFormat });
    let error: unknown;
    try {
      decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof FrameTooLargeError, lengthFormat);
    assert.equal(error.declared, 2 ** 32 - 1);
    assert.equal(error.limit, 16 * 1024 * 1024);
    // The decoder stays failed: it does not try to read a body it refused.
    assert.throws(() => decoder.push(new Uint8Array(10)), FrameTooLargeError);
  }
  // With the limit raised to the field's maximum, a 4 GiB header still allocates nothing up front:
  // the decoder waits for the body instead of reserving it.
  const decoder = new FrameDecoder({ maxFrameLength: 2 ** 32 });
  const before = Deno.memoryUsage().rss;
  assert.deepEqual(decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3])), []);
  assert.equal(decoder.bufferedLength, 7);
  assert.ok(Deno.memoryUsage().rss - before < 64 * 1024 * 1024, "no 4 GiB allocation");
  assert.throws(
    () => decoder.finish(),
    (e: unknown) =>
      e instanceof TruncatedFrameError && e.expected === 2 ** 32 - 1 + 4 && e.received === 7,
  );
});

Deno.test({ name: "2^53 and larger in u64be are refused", permissions: "none" }, () => {
  const header = (hi: number[]) => new Uint8Array([...hi, 0, 0, 0, 0]);
  const e1 = decodeError(header([0x00, 0x20, 0, 0]), {
    lengthFormat: "u64be",
    maxFrameLength: Number.MAX_SAFE_INTEGER,
  });
  assert.ok(e1 instanceof FrameTooLargeError);
  assert.equal(e1.declared, 2 ** 53);
  const e2 = decodeError(new Uint8Array(8).fill(0xff), { lengthFormat: "u64be" });
  assert.ok(e2 instanceof FrameTooLargeError);
  // 2^53 - 1 itself is only limited by maxFrameLength.
  const e3 = decodeError(
    new Uint8Array([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    { lengthFormat: "u64be", maxFrameLength: Number.MAX_SAFE_INTEGER },
  );
  assert.ok(e3 instanceof TruncatedFrameError);
});

Deno.test(
  { name: "endless, overlong and non-minimal varints are corrupt", permissions: "none" },
  () => {
    const endless = new Uint8Array(1000).fill(0x80);
    const decoder = new FrameDecoder({ lengthFormat: "varint" });
    // Fed one byte at a time, it gives up after the 10th byte, not at the 1000th.
    let failedAt = -1;
    for (let i = 0; i < endless.length; i++) {
      try {
        decoder.push(endless.subarray(i, i + 1));
      } catch (error) {
        assert.ok(error instanceof CorruptFrameError);
        assert.match(error.message, /varint/);
        failedAt = i;
        break;
      }
    }
    assert.equal(failedAt, 9);
    // 11 bytes: too long. A 10th byte above 1: more than 64 bits.
    assert.ok(
      decodeError(new Uint8Array([...new Array(10).fill(0x81), 0x01]), {
        lengthFormat: "varint",
        maxFrameLength: Number.MAX_SAFE_INTEGER,
      }) instanceof FrameError,
    );
    assert.ok(
      decodeError(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]), {
        lengthFormat: "varint",
      }) instanceof CorruptFrameError,
    );
    // 0x80 0x00 encodes 0 in two bytes: not minimal.
    assert.ok(
      decodeError(new Uint8Array([0x80, 0x00]), { lengthFormat: "varint" }) instanceof
        CorruptFrameError,
    );
    assert.ok(
      decodeError(new Uint8Array([0x81, 0x80, 0x00]), { lengthFormat: "varint" }) instanceof
        CorruptFrameError,
    );
    // A varint whose value already passes the limit is refused before it ends.
    const big = decodeError(new Uint8Array([0xff, 0xff, 0xff, 0xff]), {
      lengthFormat: "varint",
      maxFrameLength: 1000,
    });
    assert.ok(big instanceof FrameTooLargeError);
  },
);

Deno.test({
  name: "i32le: ff ff ff ff is -1 and corrupt (Python's struct.pack('i', -1))",
  permissions: "none",
}, () => {
  const error = decodeError(new Uint8Array([0xff, 0xff, 0xff, 0xff]), FRAME_PRESETS.python);
  assert.ok(error instanceof CorruptFrameError);
  assert.match(error.message, /negative length -1/);
  assert.ok(
    decodeError(new Uint8Array([0, 0, 0, 0x80]), FRAME_PRESETS.python) instanceof CorruptFrameError,
  );
  // 2^31-1 is a valid (if large) length: only the limit refuses it.
  assert.ok(
    decodeError(new Uint8Array([0xff, 0xff, 0xff, 0x7f]), FRAME_PRESETS.python) instanceof
      FrameTooLargeError,
  );
});

Deno.test({
  name: "truncation at every offset names header or body and the counts",
  permissions: "none",
}, () => {
  for (const lengthFormat of LENGTH_FORMATS) {
    const frames = [text("first frame"), new Uint8Array(0), text("x".repeat(200))];
    const wire = encodeFrames(frames, { lengthFormat });
    const boundaries = new Set<number>([0]);
    let at = 0;
    for (const f of frames) {
      at += encodeFrame(f, { lengthFormat }).length;
      boundaries.add(at);
    }
    for (let cut = 0; cut <= wire.length; cut++) {
      const decoder = new FrameDecoder({ lengthFormat });
      decoder.push(wire.subarray(0, cut));
      if (boundaries.has(cut)) {
        decoder.finish();
        continue;
      }
      assert.throws(() => decoder.finish(), (e: unknown) => {
        assert.ok(e instanceof TruncatedFrameError, `${lengthFormat} at ${cut}`);
        assert.ok(e.received > 0 && e.received < e.expected, `${lengthFormat} at ${cut}`);
        return true;
      });
    }
  }
});

Deno.test({ name: "empty frames, many of them, and an empty input", permissions: "none" }, () => {
  const wire = encodeFrames(new Array(1000).fill(new Uint8Array(0)));
  assert.equal(wire.length, 4000);
  const got = new FrameDecoder().push(wire);
  assert.equal(got.length, 1000);
  assert.ok(got.every((f) => f.length === 0));
  assert.deepEqual(new FrameDecoder().push(new Uint8Array(0)), []);
});

Deno.test({ name: "HTTP, TLS and SSH bytes name the protocol", permissions: "none" }, () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ["GET", text("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "HTTP"],
    ["POST", text("POST /api HTTP/1.1\r\n\r\n"), "HTTP"],
    [
      "TLS ClientHello",
      new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]),
      "TLS",
    ],
    // a TLS server's alert (protocol_version) to a plain client: what that client reads first
    ["TLS alert", new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]), "TLS"],
    ["SSH", text("SSH-2.0-OpenSSH_9.2\r\n"), "SSH"],
  ];
  for (const [name, bytes, protocol] of cases) {
    const error = decodeError(bytes);
    assert.ok(error instanceof FrameError, name);
    assert.equal(error.protocol, protocol, name);
    assert.ok(error.message.includes(protocol), `${name}: ${error.message}`);
    assert.match(error.message, /wrong protocol/);
  }
  // A plain oversized frame does not blame a protocol.
  const plain = decodeError(new Uint8Array([0x7f, 0, 0, 0]));
  assert.ok(plain instanceof FrameTooLargeError);
  assert.equal(plain.protocol, undefined);
});

Deno.test({ name: "a negative body after adjustment is corrupt", permissions: "none" }, () => {
  const options = { lengthFormat: "u16be", lengthIncludesHeader: true } as const;
  // Declares 1 byte in all, but the header alone has 2.
  assert.ok(decodeError(new Uint8Array([0, 1]), options) instanceof CorruptFrameError);
  assert.ok(
    decodeError(new Uint8Array([0, 1]), { lengthFormat: "u16be", lengthAdjustment: -5 }) instanceof
      CorruptFrameError,
  );
});
