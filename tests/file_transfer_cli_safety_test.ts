/**
 * The file-transfer CLI as a careless user and a hostile world meet it: signals while listening
 * and while receiving, a port out of range, a missing file, rates and prefixes in messages, the
 * seed wire's missing acknowledgement, invisible characters in names, no `--allow-sys`, and a
 * disk that fills up in the middle of a file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli, listDir, randomBytes, spawn, startRelay } from "./file_transfer_helpers.ts";

const PERMS: Deno.PermissionOptions = {
  net: ["127.0.0.1"],
  read: true,
  write: true,
  run: true,
  env: true,
  sys: ["statfs"],
};
const CLI = new URL("../examples/file_transfer.ts", import.meta.url).pathname;

async function tempDirs(): Promise<{ src: string; dst: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/src`);
  await Deno.mkdir(`${root}/dst`);
  return {
    src: `${root}/src`,
    dst: `${root}/dst`,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

async function canRun(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

for (
  const [command, signal, code] of [
    ["receive", "SIGTERM", 143],
    ["receive", "SIGINT", 130],
    ["send", "SIGTERM", 143],
    ["send", "SIGINT", 130],
  ] as const
) {
  Deno.test({
    name: `cli: ${command} --listen ends on ${signal} while waiting (exit ${code})`,
    permissions: PERMS,
    async fn() {
      await using t = await tempDirs();
      await Deno.writeTextFile(`${t.src}/a.txt`, "a");
      const args = command === "send"
        ? ["send", `${t.src}/a.txt`, "--listen", "127.0.0.1:0"]
        : ["receive", "--listen", "127.0.0.1:0", "--dir", t.dst];
      const proc = cli(args, 20_000);
      const port = await proc.port;
      proc.child.kill(signal);
      const r = await proc.result();
      assert.equal(r.signal, null, "killed by the test's deadline instead of ending by itself");
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, new RegExp(`file_transfer: stopped by ${signal}`));
      // the listener is closed
      await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
    },
  });
}

Deno.test({
  name: "cli: SIGTERM in the middle of a receive: exit 143, partial data and state kept, no " +
    "lock left; the next run resumes",
  permissions: PERMS,
  async fn() {
    await using t = await tempDirs();
    const size = 6_000_000;
    await Deno.writeFile(`${t.src}/big.bin`, randomBytes(size, 31));
    const receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", t.dst], 20_000);
    const upstream = {
      hostname: "127.0.0.1",
      port: await receiver.port,
      transport: "tcp",
    } as const;
    await using relay = startRelay({ upstream, pauseAfter: size / 2 });
    const sender = cli(["send", `${t.src}/big.bin`, "--connect", `127.0.0.1:${relay.addr.port}`]);
    await relay.paused;
    receiver.child.kill("SIGTERM");
    const r = await receiver.result();
    assert.equal(r.signal, null);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /stopped by SIGTERM; run it again to resume/);
    try {
      sender.child.kill("SIGKILL");
    } catch {
      // it saw the receiver go and exited already
    }
    await sender.result();
    assert.deepEqual(await listDir(t.dst), [
      ".big.bin.sockkit-partial",
      ".big.bin.sockkit-partial.json",
    ]);
    const kept = (await Deno.stat(`${t.dst}/.big.bin.sockkit-partial`)).size;
    assert.ok(kept > 0 && kept <= size / 2, `kept ${kept}`);

    const receiver2 = cli(["receive", "--listen", "127.0.0.1:0", "--dir", t.dst]);
    const sender2 = cli([
      "send",
      `${t.src}/big.bin`,
      "--connect",
      `127.0.0.1:${await receiver2.port}`,
    ]);
    const [s2, r2] = await Promise.all([sender2.result(), receiver2.result()]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(s2.code, 0, s2.stderr);
    assert.match(s2.stdout, new RegExp(`resumed at ${kept}$`, "m"));
    assert.deepEqual(await listDir(t.dst), ["big.bin"]);
  },
});

Deno.test({
  name: "cli: port 70000 is out of range (exit 2); a missing file fails before connecting",
  permissions: PERMS,
  async fn() {
    await using t = await tempDirs();
    const range = await cli(["receive", "--listen", "127.0.0.1:70000", "--dir", t.dst]).result();
    assert.equal(range.code, 2);
    assert.match(range.stderr, /^file_transfer: --listen 127\.0\.0\.1:70000: port out of range/);

    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let accepted = 0;
    const accepting = (async () => {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    })();
    const missing = await cli([
      "send",
      `${t.src}/nosuch.bin`,
      "--connect",
      `127.0.0.1:${listener.addr.port}`,
    ]).result();
    listener.close();
    await accepting.catch(() => {});
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^file_transfer: ".*nosuch\.bin": no such file: nothing sent/);
    assert.equal(accepted, 0, "it connected before noticing");
  },
});

Deno.test({
  name: "cli: messages carry the program's name and rates are rounded; invisible characters in " +
    "names are escaped",
  permissions: PERMS,
  async fn() {
    await using t = await tempDirs();
    const name = "a\u200bb\u2060c.txt";
    await Deno.writeTextFile(`${t.src}/${name}`, "sixby");
    const receiver = cli(["receive", "--listen", "127.0.0.1:0", "--dir", t.dst]);
    const sender = cli([
      "send",
      `${t.src}/${name}`,
      "--connect",
      `127.0.0.1:${await receiver.port}`,
    ]);
    const [r, s] = await Promise.all([receiver.result(), sender.result()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.code, 0, s.stderr);
    for (const out of [r, s]) {
      for (const line of out.stderr.trim().split("\n")) {
        assert.match(line, /^file_transfer: /);
        assert.doesNotMatch(line, /\d\.\d{3,}/, `unrounded number in ${line}`);
      }
      assert.match(out.stderr, /\((\d+ B|[\d.]+ [kMGT]B)\/s\)/);
      assert.ok(!(out.stdout + out.stderr).includes("\u200b"), "U+200B printed raw");
      assert.ok(!(out.stdout + out.stderr).includes("\u2060"), "U+2060 printed raw");
    }
    assert.match(s.stdout, /^sent "a\\u200bb\\u2060c\.txt" 5 bytes/m);
    assert.equal(await Deno.readTextFile(`${t.dst}/${name}`), "sixby");
  },
});

Deno.test({
  name: "cli: the seed-wire sender says that wire has no acknowledgement instead of 'sent'",
  permissions: PERMS,
  async fn() {
    await using t = await tempDirs();
    await Deno.writeTextFile(`${t.src}/a.txt`, "new");
    await Deno.writeTextFile(`${t.dst}/a.txt`, "old");
    const receiver = cli(["receive", "--wire", "seed", "--listen", "127.0.0.1:0", "--dir", t.dst]);
    const sender = cli([
      "send",
      `${t.src}/a.txt`,
      "--wire",
      "seed",
      "--connect",
      `127.0.0.1:${await receiver.port}`,
    ]);
    const [r, s] = await Promise.all([receiver.result(), sender.result()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed "a\.txt": exists: .*\(use --overwrite to replace it\)/);
    assert.doesNotMatch(s.stdout, /^sent /m);
    assert.match(s.stdout, /no acknowledgement: whether the receiver kept it is unknown/);
    assert.equal(await Deno.readTextFile(`${t.dst}/a.txt`), "old");
  },
});

const haveScript = Deno.build.os === "linux" && await canRun("script", ["--version"]);

Deno.test({
  name: "cli: without --allow-sys a receive never prompts for statfs (it skips the check)",
  ignore: !haveScript,
  permissions: PERMS,
  async fn() {
    await using t = await tempDirs();
    await Deno.writeTextFile(`${t.src}/a.txt`, "hello");
    // a terminal (script's pty) is where Deno would prompt
    const command = [
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      CLI,
      "receive",
      "--listen",
      "127.0.0.1:0",
      "--dir",
      t.dst,
    ].map((arg) => `'${arg}'`).join(" ");
    const receiver = spawn("script", ["-qec", command, "/dev/null"], 20_000);
    const sender = cli(["send", `${t.src}/a.txt`, "--connect", `127.0.0.1:${await receiver.port}`]);
    const [r, s] = await Promise.all([receiver.result(), sender.result()]);
    assert.doesNotMatch(r.stdout, /requests sys access/);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(await Deno.readTextFile(`${t.dst}/a.txt`), "hello");
  },
});

const haveUnshare = Deno.build.os === "linux" &&
  await canRun("unshare", ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"]);

Deno.test({
  name: "cli: the disk fills up mid-file: the receiver tells the sender why, both say how to " +
    "resume or discard, the partial data is kept",
  ignore: !haveUnshare,
  permissions: PERMS,
  async fn() {
    await using t = await tempDirs();
    await Deno.writeFile(`${t.src}/big.bin`, randomBytes(3_000_000, 41));
    // the receiver alone sees a 1 MiB tmpfs on its --dir (a private mount namespace); without
    // --allow-sys it cannot refuse the file up front, so the disk fills up during the body
    const command = [
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      CLI,
      "receive",
      "--listen",
      "127.0.0.1:0",
      "--dir",
      t.dst,
    ].map((arg) => `'${arg}'`).join(" ");
    const receiver = spawn("unshare", [
      "-rm",
      "sh",
      "-c",
      `mount -t tmpfs -o size=1m none '${t.dst}' && ${command}; code=$?; ls -a '${t.dst}'; exit $code`,
    ]);
    const sender = cli([
      "send",
      `${t.src}/big.bin`,
      "--connect",
      `127.0.0.1:${await receiver.port}`,
    ]);
    const [r, s] = await Promise.all([receiver.result(), sender.result()]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(s.code, 1, s.stderr);
    const advice =
      /send the file again to resume, or delete ".*\.big\.bin\.sockkit-partial" and .* to discard/;
    assert.match(r.stderr, /failed "big\.bin": no-space: the disk is full/);
    assert.match(r.stderr, advice);
    assert.match(
      s.stderr,
      /failed "big\.bin": no-space: the receiver stopped "big\.bin": the disk is full/,
    );
    assert.match(s.stderr, advice);
    assert.match(r.stdout, /^\.big\.bin\.sockkit-partial$/m);
    assert.match(r.stdout, /^\.big\.bin\.sockkit-partial\.json$/m);
    assert.doesNotMatch(r.stdout, /^big\.bin$/m);
  },
});
