// The remote_exec CLI, run as a real subprocess: the naive pair's leftover bug, the framed
// client's correct output, --encoding gbk, exit codes and the server's refusal to run without a
// token.
import assert from "node:assert/strict";
import { serveRemoteExec } from "../tcp/exec/mod.ts";

const CLI = new URL("../examples/remote_exec.ts", import.meta.url).pathname;
const TOKEN = "cli-test-token-0123456789";
const perms: Deno.PermissionOptions = { net: ["127.0.0.1"], run: true, read: true, env: true };
const permsWrite: Deno.PermissionOptions = { ...perms, write: true };
const dec = new TextDecoder();

interface Ran {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

function cliCommand(args: string[], env: Record<string, string> = {}, stdin = false): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-run",
      "--allow-env",
      CLI,
      ...args,
    ],
    env: { NO_COLOR: "1", ...env },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function cli(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<Ran> {
  const child = cliCommand(args, options.env, options.input !== undefined).spawn();
  if (options.input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.input));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: dec.decode(out.stderr) };
}

/** Starts a long-running CLI server; resolves once it printed its port. */
async function startCli(args: string[], env: Record<string, string> = {}) {
  const child = cliCommand(args, env).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!/listening on .*:(\d+)\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server exited before listening: ${text}`);
    text += dec.decode(value);
  }
  const port = Number(/listening on .*:(\d+)\n/.exec(text)![1]);
  const stderr = child.stderr.text();
  return {
    port,
    async stop(signal: Deno.Signal | null): Promise<{ code: number; stderr: string }> {
      if (signal !== null) child.kill(signal);
      await reader.cancel();
      const status = await child.status;
      return { code: status.code, stderr: await stderr };
    },
  };
}

const seq500 = async () =>
  dec.decode((await new Deno.Command("seq", { args: ["1", "500"] }).output()).stdout);

Deno.test({
  name: "naive pair: after an output over 1024 bytes, the next command prints the leftovers",
  permissions: perms,
  async fn() {
    const server = await startCli(["naive-server", "--listen", "127.0.0.1:0", "--once"]);
    const ran = await cli(["naive-client", "--connect", `127.0.0.1:${server.port}`], {
      input: "seq 1 500\necho hi\n",
    });
    const { code, stderr } = await server.stop(null); // --once: it exits when the client leaves
    assert.equal(code, 0);
    assert.match(stderr, /UNSAFE BY DESIGN/);
    assert.equal(ran.code, 0);
    const expected = await seq500(); // 1892 bytes
    assert.equal(expected.length, 1892);
    const [before, first, second, after] = dec.decode(ran.stdout).split(">>> ");
    assert.equal(before, "");
    assert.equal(after, "");
    assert.equal(first, expected.slice(0, 1024)); // one recv(1024): cut after "283\n"
    assert.ok(first.endsWith("283\n"));
    // The bug: `echo hi` prints the rest of seq's output, not "hi".
    assert.ok(second.startsWith(expected.slice(1024)), JSON.stringify(second.slice(0, 40)));
    assert.ok(second.startsWith("284\n"));
  },
});

Deno.test({
  name: "framed client, same session: each command prints exactly its own output",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    const ran = await cli(["client", "--connect", `127.0.0.1:${server.addr.port}`], {
      env: { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN },
      input: "seq 1 500\necho hi\n\n",
    });
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(dec.decode(ran.stdout).split(">>> "), ["", await seq500(), "hi\n", ""]);
  },
});

Deno.test({
  name: "client: seq 1 2000000 byte-exact on stdout; stderr separate; exit code passes through",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    const connect = ["client", "--connect", `127.0.0.1:${server.addr.port}`];
    const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
    const big = await cli([...connect, "--", "seq", "1", "2000000"], { env });
    const expected = (await new Deno.Command("seq", { args: ["1", "2000000"] }).output()).stdout;
    assert.equal(big.code, 0);
    assert.equal(big.stdout.length, expected.length);
    assert.deepEqual(big.stdout, expected);
    const mixed = await cli([...connect, "--", "sh", "-c", "echo out; echo err >&2; exit 7"], {
      env,
    });
    assert.equal(mixed.code, 7);
    assert.equal(dec.decode(mixed.stdout), "out\n");
    assert.equal(mixed.stderr, "err\n");
  },
});

Deno.test({
  name: "client --encoding gbk decodes 中文, also when a character is split across chunks",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    const connect = ["client", "--connect", `127.0.0.1:${server.addr.port}`];
    const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
    // GBK: 中 = D6 D0, 文 = CE C4. The split run sends D6, waits, then the rest: two chunks.
    const whole = "printf '\\326\\320\\316\\304\\n'";
    const split = "printf '\\326'; sleep 0.3; printf '\\320\\316\\304\\n'; printf '\\326' >&2; " +
      "sleep 0.2; printf '\\320\\n' >&2";
    const raw = await cli([...connect, "--", "sh", "-c", whole], { env });
    assert.deepEqual(raw.stdout, new Uint8Array([0xd6, 0xd0, 0xce, 0xc4, 0x0a])); // bytes as they are
    const a = await cli([...connect, "--encoding", "gbk", "--", "sh", "-c", whole], { env });
    assert.equal(dec.decode(a.stdout), "中文\n");
    const b = await cli([...connect, "--encoding", "gbk", "--", "sh", "-c", split], { env });
    assert.equal(b.code, 0);
    assert.equal(dec.decode(b.stdout), "中文\n");
    assert.equal(b.stderr, "中\n");
    assert.equal((await cli([...connect, "--encoding", "klingon", "--", "true"], { env })).code, 2);
  },
});

Deno.test({
  name: "client exit codes: 124 timeout, 126 refused, 1 auth or connection failure, 2 usage",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({
      token: TOKEN,
      allow: ["sleep", "echo"],
      timeout: 300,
      killGrace: 200,
      authFailureDelay: 0,
      log: () => {},
    });
    const connect = ["client", "--connect", `127.0.0.1:${server.addr.port}`];
    const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
    const timeout = await cli([...connect, "--", "sleep", "10"], { env });
    assert.equal(timeout.code, 124);
    assert.match(timeout.stderr, /timed out/);
    const refused = await cli([...connect, "--", "cat", "/etc/passwd"], { env });
    assert.equal(refused.code, 126);
    assert.match(
      refused.stderr,
      /"cat" is not in the server's allow-list \(allowed: sleep, echo\)/,
    );
    const wrong = await cli([...connect, "--", "echo", "x"], {
      env: { SOCKKIT_REMOTE_EXEC_TOKEN: "wrong-token-0123456789" },
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /authentication failed/);
    using closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = closed.addr.port;
    closed.close();
    const refusedConn = await cli(["client", "--connect", `127.0.0.1:${port}`, "--", "true"], {
      env,
    });
    assert.equal(refusedConn.code, 1);
    assert.equal((await cli(["client", "--", "true"], { env })).code, 2); // no --connect
    assert.equal((await cli(["client", "--bogus"], { env })).code, 2);
    assert.equal((await cli(["nonsense"])).code, 2);
    const help = await cli(["client", "--help"]);
    assert.equal(help.code, 0);
    assert.match(dec.decode(help.stdout), /exit codes/);
  },
});

Deno.test({
  name:
    "server CLI: refuses to start without a token or with a short one; end to end with a token file",
  permissions: { ...perms, write: true },
  async fn() {
    const unset = "SOCKKIT_TEST_SURELY_UNSET_VAR";
    const noToken = await cli([
      "server",
      "--listen",
      "127.0.0.1:0",
      "--token-env",
      unset,
    ]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /no token/);
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/short`, "too-short\n");
      const short = await cli([
        "server",
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        `${dir}/short`,
      ]);
      assert.equal(short.code, 2);
      assert.match(short.stderr, /at least 16/);
      const open = await cli(["server", "--listen", "0.0.0.0:0", "--insecure-no-auth"]);
      assert.equal(open.code, 2);
      assert.match(open.stderr, /loopback/);
      assert.equal((await cli(["server", "--listen", "127.0.0.1:0", "--token", TOKEN])).code, 2);

      await Deno.writeTextFile(`${dir}/token`, TOKEN + "\n");
      const server = await startCli([
        "server",
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        `${dir}/token`,
        "--allow",
        "echo",
      ]);
      const ran = await cli([
        "client",
        "--connect",
        `127.0.0.1:${server.port}`,
        "--token-file",
        `${dir}/token`,
        "--",
        "echo",
        "end to end",
      ]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(dec.decode(ran.stdout), "end to end\n");
      const stopped = await server.stop("SIGTERM");
      assert.equal(stopped.code, 0);
      assert.match(stopped.stderr, /auth-ok/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "server CLI: a bad flag value is a usage error (exit 2) that names the flag",
  permissions: perms,
  async fn() {
    const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
    for (
      const [flag, value] of [
        ["--timeout", "10x"],
        ["--kill-grace", "soon"],
        ["--max-output", "lots"],
        ["--max-connections", "0"],
      ]
    ) {
      const ran = await cli(["server", "--listen", "127.0.0.1:0", flag, value], { env });
      assert.equal(ran.code, 2, `${flag} ${value}: ${ran.stderr}`);
      assert.match(ran.stderr, new RegExp(`^remote_exec: ${flag}: `));
    }
    const path = await cli(["server", "--listen", "127.0.0.1:0", "--path", ".:/usr/bin"], { env });
    assert.equal(path.code, 2);
    assert.match(path.stderr, /relative/);
    const leak = await cli(
      ["server", "--listen", "127.0.0.1:0", "--env", "SOCKKIT_REMOTE_EXEC_TOKEN"],
      { env },
    );
    assert.equal(leak.code, 2);
    assert.match(leak.stderr, /holds the token/);
  },
});

Deno.test({
  name:
    "server CLI: warns that any program may run without --allow; commands see only the allow-list and --env",
  permissions: permsWrite,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // A planted ./ls and a server PATH with empty and "." entries that would find it.
      await Deno.writeTextFile(`${dir}/ls`, "#!/bin/sh\necho PLANTED\n");
      await Deno.chmod(`${dir}/ls`, 0o755);
      const server = await startCli(
        ["server", "--listen", "127.0.0.1:0", "--env", "MY_SETTING", "--cwd", dir],
        {
          SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN,
          MY_DB_PASSWORD: "hunter2",
          MY_SETTING: "on",
          PATH: `:.:${Deno.env.get("PATH")}`,
        },
      );
      const connect = ["client", "--connect", `127.0.0.1:${server.port}`];
      const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
      const printed = await cli([...connect, "--", "env"], { env });
      assert.equal(printed.code, 0, printed.stderr);
      const out = dec.decode(printed.stdout);
      assert.match(out, /^MY_SETTING=on$/m);
      assert.doesNotMatch(out, /hunter2|SOCKKIT_REMOTE_EXEC_TOKEN/);
      assert.doesNotMatch(out, new RegExp(TOKEN));
      const listed = await cli([...connect, "--", "ls"], { env });
      assert.equal(dec.decode(listed.stdout), "ls\n"); // the real ls, not the planted one
      const stopped = await server.stop("SIGTERM");
      assert.equal(stopped.code, 0);
      assert.match(stopped.stderr, /remote_exec: WARNING: no --allow: .*ANY program/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "client CLI: quit at the prompt exits 0, not with the last command's status",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    const connect = ["client", "--connect", `127.0.0.1:${server.addr.port}`];
    const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
    const quit = await cli(connect, { env, input: "false\nquit\n" });
    assert.equal(quit.code, 0, quit.stderr);
    const empty = await cli(connect, { env, input: "false\n\n" });
    assert.equal(empty.code, 0, empty.stderr);
    const eof = await cli(connect, { env, input: "false\n" }); // like sh < script
    assert.equal(eof.code, 1, eof.stderr);
  },
});

Deno.test({
  name: "client CLI: a plain client at a TLS server is turned away at once and told to use TLS",
  permissions: permsWrite,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const gen = await new Deno.Command("openssl", {
        args: [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
          ...["-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
          ...["-addext", "basicConstraints=critical,CA:FALSE"],
          ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
        ],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(gen.success);
      const tls = {
        cert: await Deno.readTextFile(`${dir}/cert.pem`),
        key: await Deno.readTextFile(`${dir}/key.pem`),
      };
      // The server's handshake deadline is far off: a hang would end in a timeout, not this.
      await using server = serveRemoteExec({
        token: TOKEN,
        tls,
        handshakeTimeout: 60_000,
        log: () => {},
      });
      const connect = ["client", "--connect", `127.0.0.1:${server.addr.port}`];
      const env = { SOCKKIT_REMOTE_EXEC_TOKEN: TOKEN };
      const plain = await cli([...connect, "--", "true"], { env });
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /^remote_exec: cannot connect to .*TLS.*--ca FILE/);
      const good = await cli([...connect, "--ca", `${dir}/cert.pem`, "--", "echo", "tls"], { env });
      assert.equal(good.code, 0, good.stderr);
      assert.equal(dec.decode(good.stdout), "tls\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
