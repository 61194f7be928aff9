import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  cli,
  havePython,
  listDir,
  randomBytes,
  spawn,
  startRelay,
} from "./file_transfer_helpers.ts";

const PERMS: Deno.PermissionOptions = {
  net: ["127.0.0.1"],
  read: true,
  write: true,
  run: true,
  env: true,
  sys: ["statfs"],
};
const PYTHON_DIR = fileURLToPath(new URL("./python", import.meta.url));
const python = await havePython();
if (!python) {
  console.log("file_transfer_cli_test: python3 not found: the Python interop tests are skipped");
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test({
  name: "cli: usage errors exit 2, --help exits 0",
  permissions: PERMS,
  async fn() {
    const cases = [
      [],
      ["copy"],
      ["send", "x"],
      ["send", "--connect", "127.0.0.1:1"],
      ["send", "a", "b", "--wire", "seed", "--connect", "127.0.0.1:1"],
      ["receive", "--listen", "nohostport"],
      ["receive", "--listen", "127.0.0.1:0", "--wire", "udp"],
      ["receive", "--listen", "127.0.0.1:0", "--dir", "/nonexistent/dir"],
      ["receive", "--listen", "127.0.0.1:0", "--progress", "--quiet"],
      ["receive", "--listen", "127.0.0.1:0", "--bogus"],
    ];
    const runs = await Promise.all(cases.map((args) => cli(args).result()));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, `${cases[i].join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /Usage:|--dir/);
    }
    const help = await cli(["--help"]).result();
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 every file done, 1 a transfer failed, 2 usage error/);
  },
});

Deno.test({
  name: "cli: round trips on both wires, each side listening once; failures exit 1",
  permissions: PERMS,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/a.bin`, randomBytes(4097, 5));
      await Deno.writeFile(`${src}/b.bin`, randomBytes(1_000_000, 6));
      // sockkit wire, receiver listens, two files
      let receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", dst]);
      let sender = cli([
        "send",
        `${src}/a.bin`,
        `${src}/b.bin`,
        "--connect",
        `127.0.0.1:${await receiver.port}`,
      ]);
      let [r, s] = await Promise.all([receiver.result(), sender.result()]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /^sent "a\.bin" 4097 bytes sha256 [0-9a-f]{64}$/m);
      assert.match(
        r.stdout,
        /^received "b\.bin" -> ".*b\.bin" 1000000 bytes sha256 [0-9a-f]{64}$/m,
      );
      assert.ok(await sameBytes(`${src}/b.bin`, `${dst}/b.bin`));

      // seed wire, sender listens; the file exists now: refused, exit 1 on the receiver
      sender = cli(["send", `${src}/a.bin`, "--wire", "seed", "--listen", "127.0.0.1:0"]);
      receiver = cli([
        "receive",
        "--wire",
        "seed",
        "--connect",
        `127.0.0.1:${await sender.port}`,
        "--dir",
        dst,
      ]);
      [r, s] = await Promise.all([receiver.result(), sender.result()]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /failed "a\.bin": exists:/);

      // ... and with --overwrite it arrives
      sender = cli(["send", `${src}/a.bin`, "--wire", "seed", "--listen", "127.0.0.1:0"]);
      receiver = cli([
        "receive",
        "--wire=seed",
        `--connect=127.0.0.1:${await sender.port}`,
        `--dir=${dst}`,
        "--overwrite",
      ]);
      [r, s] = await Promise.all([receiver.result(), sender.result()]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(s.code, 0, s.stderr);
      assert.ok(await sameBytes(`${src}/a.bin`, `${dst}/a.bin`));

      // nothing listening: exit 1
      using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closedPort = probe.addr.port;
      probe.close();
      const refused = await cli(["send", `${src}/a.bin`, "--connect", `127.0.0.1:${closedPort}`])
        .result();
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot connect/);
      assert.deepEqual(await listDir(dst), ["a.bin", "b.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli: the sender killed at about half way (SIGKILL), then the same transfer resumes",
  permissions: PERMS,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      const size = 8_000_000;
      await Deno.writeFile(`${src}/iso.bin`, randomBytes(size, 11));
      const receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", dst]);
      const upstream = {
        hostname: "127.0.0.1",
        port: await receiver.port,
        transport: "tcp",
      } as const;
      await using relay = startRelay({ upstream, pauseAfter: size / 2 });
      const sender = cli(["send", `${src}/iso.bin`, "--connect", `127.0.0.1:${relay.addr.port}`]);
      await relay.paused;
      sender.child.kill("SIGKILL");
      const [s, r] = await Promise.all([sender.result(), receiver.result()]);
      assert.equal(s.signal, "SIGKILL");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /failed "iso\.bin": (truncated|connection):/);
      assert.deepEqual(await listDir(dst), [
        ".iso.bin.sockkit-partial",
        ".iso.bin.sockkit-partial.json",
      ]);
      const partial = (await Deno.stat(`${dst}/.iso.bin.sockkit-partial`)).size;
      assert.ok(partial > size / 2 - 100_000 && partial < size / 2, `partial ${partial}`);

      // Run it again, sender listening this time.
      const sender2 = cli(["send", `${src}/iso.bin`, "--listen", "127.0.0.1:0"]);
      const receiver2 = cli([
        "receive",
        "--connect",
        `127.0.0.1:${await sender2.port}`,
        "--dir",
        dst,
      ]);
      const [s2, r2] = await Promise.all([sender2.result(), receiver2.result()]);
      assert.equal(s2.code, 0, s2.stderr);
      assert.equal(r2.code, 0, r2.stderr);
      assert.match(s2.stdout, new RegExp(`resumed at ${partial}$`, "m"));
      assert.ok(await sameBytes(`${src}/iso.bin`, `${dst}/iso.bin`));
      assert.deepEqual(await listDir(dst), ["iso.bin"]);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli: EOF mid-body exits 1 with no final file; the next run resumes byte-identical",
  permissions: PERMS,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/x.bin`, randomBytes(2_000_000, 12));
      const receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", dst]);
      const upstream = {
        hostname: "127.0.0.1",
        port: await receiver.port,
        transport: "tcp",
      } as const;
      await using relay = startRelay({ upstream, cutAfter: 700_000 });
      const sender = cli(["send", `${src}/x.bin`, "--connect", `127.0.0.1:${relay.addr.port}`]);
      const [s, r] = await Promise.all([sender.result(), receiver.result()]);
      assert.equal(r.code, 1);
      assert.equal(s.code, 1);
      assert.match(r.stderr, /failed "x\.bin": truncated:/);
      assert.deepEqual(await listDir(dst), [
        ".x.bin.sockkit-partial",
        ".x.bin.sockkit-partial.json",
      ]);

      const sender2 = cli(["send", `${src}/x.bin`, "--listen", "127.0.0.1:0"]);
      const receiver2 = cli([
        "receive",
        "--connect",
        `127.0.0.1:${await sender2.port}`,
        "--dir",
        dst,
        "--quiet",
      ]);
      const [s2, r2] = await Promise.all([sender2.result(), receiver2.result()]);
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(r2.stdout, "", "--quiet prints nothing on success");
      assert.match(s2.stdout, /resumed at \d+$/m);
      assert.ok(await sameBytes(`${src}/x.bin`, `${dst}/x.bin`));
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli: --progress draws bytes, percent, rate and ETA on stderr (plain when NO_COLOR)",
  permissions: PERMS,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/p.bin`, randomBytes(3_000_000, 2));
      const receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", dst, "--progress"]);
      const sender = cli(["send", `${src}/p.bin`, "--connect", `127.0.0.1:${await receiver.port}`]);
      const [r, s] = await Promise.all([receiver.result(), sender.result()]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /recv "p\.bin" \[#+-*\] +\d+% [\d.]+ [kMG]?B\/3\.00 MB [\d.]+ [kMG]?B\/s ETA /,
      );
      assert.ok(!r.stderr.includes("\x1b[36m"), "no colour with NO_COLOR");
      // Not a terminal and no --progress: no bar.
      assert.doesNotMatch(s.stderr, /\[#/);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "python interop: the tutorial's server sends to `receive --wire seed`",
  ignore: !python,
  permissions: PERMS,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${src}/三体.txt`, randomBytes(1_234_567, 21));
      const server = spawn("python3", [
        `${PYTHON_DIR}/seed_server.py`,
        "127.0.0.1",
        "0",
        `${src}/三体.txt`,
      ]);
      const receiver = cli([
        "receive",
        "--wire",
        "seed",
        "--connect",
        `127.0.0.1:${await server.port}`,
        "--dir",
        dst,
      ]);
      const [py, r] = await Promise.all([server.result(), receiver.result()]);
      assert.equal(py.code, 0, py.stderr);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /received "三体\.txt"/);
      assert.ok(await sameBytes(`${src}/三体.txt`, `${dst}/三体.txt`));
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});

Deno.test({
  name: "python interop: `send --wire seed` to the tutorial's client",
  ignore: !python,
  permissions: PERMS,
  async fn() {
    const src = await Deno.makeTempDir();
    const dst = await Deno.makeTempDir();
    try {
      for (
        const [name, size] of [["empty.bin", 0], ["4097.bin", 4097], [
          "big.bin",
          3_000_001,
        ]] as const
      ) {
        await Deno.writeFile(`${src}/${name}`, randomBytes(size, size + 1));
        const sender = cli(["send", `${src}/${name}`, "--wire", "seed", "--listen", "127.0.0.1:0"]);
        const client = spawn("python3", [
          `${PYTHON_DIR}/seed_client.py`,
          "127.0.0.1",
          String(await sender.port),
          dst,
        ]);
        const [s, py] = await Promise.all([sender.result(), client.result()]);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(py.code, 0, py.stderr);
        assert.ok(await sameBytes(`${src}/${name}`, `${dst}/${name}`), name);
      }
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(dst, { recursive: true });
    }
  },
});
