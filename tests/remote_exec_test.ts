// Remote commands, library level: real server and clients on 127.0.0.1, real processes.
import assert from "node:assert/strict";
import {
  authProof,
  connectRemoteExec,
  createNonce,
  MSG,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  RemoteCommandRefusedError,
  RemoteExecAuthError,
  RemoteExecError,
  type RemoteExecLogEntry,
  runProcessGroup,
  serveRemoteExec,
} from "../tcp/exec/mod.ts";
import { connectFramed, type FramedConn, listenFramed } from "../tcp/mod.ts";
import { concatBytes, equalBytes } from "../framing/bytes.ts";

const TOKEN = "test-token-0123456789abcdef";
const perms: Deno.PermissionOptions = { net: ["127.0.0.1"], run: true, read: true, env: true };

/** A log that keeps its entries and tells when one matching `test` arrives. */
function collectLog() {
  const entries: RemoteExecLogEntry[] = [];
  const waiters: { test: (e: RemoteExecLogEntry[]) => boolean; resolve: () => void }[] = [];
  const log = (e: RemoteExecLogEntry) => {
    entries.push(e);
    for (const w of [...waiters]) {
      if (w.test(entries)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  /** Resolves once `test(entries)` holds; rejects after a generous 20 s. */
  const until = (test: (e: RemoteExecLogEntry[]) => boolean): Promise<void> => {
    if (test(entries)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("log event never came")), 20_000);
      waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  };
  return { entries, log, until };
}

const decodeJson = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body));

/** The wire, spoken by hand: one frame per message, its first byte the type. */
function sendMessage(
  conn: FramedConn,
  type: number,
  body: Uint8Array | Record<string, unknown> = new Uint8Array(),
): Promise<void> {
  const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body));
  return conn.send(concatBytes([new Uint8Array([type]), bytes]));
}

async function receiveMessage(conn: FramedConn) {
  const frame = await conn.receive();
  return frame === null ? null : { type: frame[0], body: frame.subarray(1) };
}
const hexBytes = (hex: string) =>
  new Uint8Array(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));

/** A raw protocol client: connects and says CLIENT_HELLO; returns the server's HELLO body. */
async function rawClient(port: number): Promise<{ conn: FramedConn; nonce: Uint8Array }> {
  const conn = await connectFramed({ port });
  await sendMessage(conn, MSG.CLIENT_HELLO, { protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION });
  const hello = await receiveMessage(conn);
  assert.equal(hello?.type, MSG.HELLO);
  return { conn, nonce: hexBytes(decodeJson(hello!.body).nonce) };
}

/** A raw client that authenticates with TOKEN; returns the AUTH body it sent too. */
async function rawAuthenticated(port: number) {
  const { conn, nonce } = await rawClient(port);
  const clientNonce = createNonce();
  const key = new TextEncoder().encode(TOKEN);
  const auth = concatBytes([clientNonce, await authProof(key, "client", nonce, clientNonce)]);
  await sendMessage(conn, MSG.AUTH, auth);
  assert.equal((await receiveMessage(conn))?.type, MSG.READY);
  return { conn, auth };
}

/** Whether a process is alive (a zombie counts as dead: it runs nothing), asked of `ps`. */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

async function anyAlive(pids: number[]): Promise<number[]> {
  const result: number[] = [];
  for (const pid of pids) if (await alive(pid)) result.push(pid);
  return result;
}

/** Polls until none of `pids` runs (init may take a moment to reap orphans); returns the rest. */
async function waitGone(pids: number[]): Promise<number[]> {
  let left = await anyAlive(pids);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = await anyAlive(left);
  }
  return left;
}

async function echoWorks(port: number): Promise<void> {
  await using client = await connectRemoteExec({ port, token: TOKEN });
  const out: Uint8Array[] = [];
  const r = await client.run(["echo", "still serving"], { onStdout: (c) => void out.push(c) });
  assert.equal(r.exitStatus, 0);
  assert.equal(new TextDecoder().decode(concatBytes(out)), "still serving\n");
}

Deno.test({
  name: "seq 1 2000000 (~15 MB) arrives byte-exact, in order, streamed in many chunks",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    const chunks: Uint8Array[] = [];
    const result = await client.run(["seq", "1", "2000000"], {
      onStdout: (c) => void chunks.push(c.slice()),
    });
    const expected = (await new Deno.Command("seq", { args: ["1", "2000000"] }).output()).stdout;
    const got = concatBytes(chunks);
    assert.equal(got.length, expected.length);
    assert.ok(equalBytes(got, expected), "the output differs from a local seq");
    assert.ok(chunks.length > 10, `expected streaming in many chunks, got ${chunks.length}`);
    assert.ok(chunks.every((c) => c.length <= 1024 * 1024), "a chunk was buffered whole");
    assert.equal(result.exitStatus, 0);
    assert.equal(result.truncated, false);
  },
});

Deno.test({
  name:
    "stdout and stderr stay separate; exit codes and signals pass through; several commands per connection",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    let out = "", err = "";
    const dec = new TextDecoder();
    const r1 = await client.run(
      ["sh", "-c", "echo o1; echo e1 >&2; echo o2; echo e2 >&2; exit 42"],
      {
        onStdout: (c) => void (out += dec.decode(c)),
        onStderr: (c) => void (err += dec.decode(c)),
      },
    );
    assert.equal(out, "o1\no2\n");
    assert.equal(err, "e1\ne2\n");
    assert.equal(r1.code, 42);
    assert.equal(r1.exitStatus, 42);
    const r2 = await client.run(["sh", "-c", "kill -KILL $$"]);
    assert.equal(r2.code, null);
    assert.equal(r2.signal, "SIGKILL");
    assert.equal(r2.exitStatus, 137);
    const r3 = await client.run(["true"]);
    assert.equal(r3.exitStatus, 0);
    const r4 = await client.run(["definitely-not-a-command-xyz"], {
      onStderr: (c) => void (err += dec.decode(c)),
    });
    assert.equal(r4.exitStatus, 127);
    assert.match(err, /definitely-not-a-command-xyz/);
  },
});

Deno.test({
  name: "no shell by default: shell metacharacters are plain arguments, shell lines are refused",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    let out = "";
    await client.run(["echo", "$(id); rm -rf /tmp/nothing"], {
      onStdout: (c) => void (out += new TextDecoder().decode(c)),
    });
    assert.equal(out, "$(id); rm -rf /tmp/nothing\n");
    await assert.rejects(client.run({ shell: "echo hi" }), RemoteCommandRefusedError);
    assert.equal((await client.run(["true"])).exitStatus, 0); // still usable
  },
});

Deno.test({
  name: "wrong token, no token and a replayed proof are refused; good clients still served",
  permissions: perms,
  async fn() {
    const { entries, log } = collectLog();
    await using server = serveRemoteExec({ token: TOKEN, authFailureDelay: 0, log });
    const port = server.addr.port;

    // Wrong token: refused with RemoteExecAuthError.
    await assert.rejects(
      connectRemoteExec({ port, token: "not-the-token-0123456789" }),
      RemoteExecAuthError,
    );

    // No token at all: the client knows it needs one.
    await assert.rejects(connectRemoteExec({ port }), RemoteExecAuthError);

    // No token, raw: an empty AUTH is refused by the server.
    {
      const { conn } = await rawClient(port);
      await sendMessage(conn, MSG.AUTH);
      const answer = await receiveMessage(conn);
      assert.equal(answer?.type, MSG.ERROR);
      assert.match(decodeJson(answer!.body).message, /authentication failed/);
      assert.equal(await receiveMessage(conn), null);
      await conn.close();
    }

    // Replay: record a valid AUTH on one connection, send it again on a second one.
    const { conn: first, auth: recorded } = await rawAuthenticated(port); // genuine on its own
    await first.close();
    {
      const { conn } = await rawClient(port);
      await sendMessage(conn, MSG.AUTH, recorded);
      assert.equal((await receiveMessage(conn))?.type, MSG.ERROR);
      await conn.close();
    }
    await echoWorks(port);
    const failures = entries.filter((e) => e.event === "auth-failed").map((e) => e.message);
    assert.deepEqual(failures, [
      "wrong or missing token proof", // wrong token
      "closed before authenticating", // the client without a token gave up
      "wrong or missing token proof", // empty AUTH
      "wrong or missing token proof", // replay
    ]);
  },
});

Deno.test({
  name: "the client authenticates the server: an impostor without the token is rejected",
  permissions: perms,
  async fn() {
    // A real server that does not authenticate: a client holding a token refuses to trust it.
    {
      await using open = serveRemoteExec({ insecureNoAuth: true, log: () => {} });
      await assert.rejects(
        connectRemoteExec({ port: open.addr.port, token: TOKEN }),
        /does not authenticate/,
      );
      await using client = await connectRemoteExec({ port: open.addr.port }); // no token: allowed
      assert.equal((await client.run(["true"])).exitStatus, 0);
    }
    // An impostor that asks for a proof and answers READY without knowing the token.
    await using listener = listenFramed({ port: 0 });
    const impostor = (async () => {
      await using conn = (await listener.accept())!;
      await sendMessage(conn, MSG.HELLO, {
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
        nonce: "00".repeat(32),
        auth: true,
      });
      assert.equal((await receiveMessage(conn))?.type, MSG.CLIENT_HELLO);
      assert.equal((await receiveMessage(conn))?.type, MSG.AUTH);
      await sendMessage(conn, MSG.READY, { proof: "ab".repeat(32), shell: true, allow: null });
      assert.equal(await receiveMessage(conn), null); // the client hangs up without a command
    })();
    await assert.rejects(
      connectRemoteExec({ port: listener.addr.port, token: TOKEN }),
      (e: Error) => e instanceof RemoteExecAuthError && /server's proof is wrong/.test(e.message),
    );
    await impostor;
  },
});

Deno.test({
  name: "a command outside the allow-list is refused with a clear message",
  permissions: perms,
  async fn() {
    const { entries, log } = collectLog();
    await using server = serveRemoteExec({ token: TOKEN, allow: ["echo", "seq"], log });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    assert.deepEqual(client.server.allow, ["echo", "seq"]);
    await assert.rejects(
      client.run(["rm", "-rf", "/"]),
      (e: Error) =>
        e instanceof RemoteCommandRefusedError &&
        /"rm" is not in the server's allow-list \(allowed: echo, seq\)/.test(e.message),
    );
    await assert.rejects(client.run(["/bin/echo", "x"]), RemoteCommandRefusedError); // exact match
    assert.throws(
      () => serveRemoteExec({ token: TOKEN, allow: ["no-such-program-xyz"], log: () => {} }),
      /cannot find the program "no-such-program-xyz"/,
    );
    assert.equal((await client.run(["echo", "ok"])).exitStatus, 0);
    assert.ok(entries.some((e) => e.event === "refused" && e.message.includes('"rm"')));
    assert.throws(() => serveRemoteExec({ token: TOKEN, allow: ["ls"], shell: true }), RangeError);
  },
});

Deno.test({
  name: "the timeout kills a child that ignores SIGTERM and its grandchildren; none is left",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({
      token: TOKEN,
      timeout: 300,
      killGrace: 300,
      log: () => {},
    });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    let out = "";
    const script = [
      "trap '' TERM", // the child ignores SIGTERM
      "(trap '' TERM; exec sleep 30) &", // a grandchild that ignores it too
      "echo gc=$!",
      "sh -c 'sleep 30' &", // another grandchild
      "echo gc=$!",
      "echo me=$$",
      "sleep 30",
    ].join("\n");
    const r = await client.run(["sh", "-c", script], {
      onStdout: (c) => void (out += new TextDecoder().decode(c)),
    });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitStatus, 124);
    assert.equal(r.signal, "SIGKILL"); // SIGTERM was ignored: SIGKILL after the grace period
    const pids = [...out.matchAll(/(?:gc|me)=(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 3, out);
    assert.deepEqual(await waitGone(pids), [], "a process of the group is still running");
  },
});

Deno.test({
  name: "runProcessGroup: a well-behaved child gets SIGTERM first; background children die with it",
  permissions: { run: true, read: true, env: true },
  async fn() {
    let out = "";
    const r = await runProcessGroup(["sh", "-c", "sleep 30 & echo $!; sleep 30"], {
      timeout: 200,
      killGrace: 5000,
      onStdout: (c) => void (out += new TextDecoder().decode(c)),
    });
    assert.equal(r.signal, "SIGTERM"); // SIGTERM sufficed: the 5 s grace never ran out
    assert.deepEqual(await waitGone([Number(out.trim())]), []);
    // Background children left when the command exits normally are killed too.
    let out2 = "";
    const r2 = await runProcessGroup(["sh", "-c", "sleep 30 >/dev/null & echo $!"], {
      onStdout: (c) => void (out2 += new TextDecoder().decode(c)),
    });
    assert.equal(r2.code, 0);
    assert.deepEqual(await waitGone([Number(out2.trim())]), []);
    await assert.rejects(runProcessGroup([]), RangeError);
  },
});

Deno.test({
  name: "output over the cap is cut exactly at the cap, truncated is reported, the process stopped",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, maxOutput: 100_000, log: () => {} });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    const chunks: Uint8Array[] = [];
    const r = await client.run(["seq", "1", "100000000"], { onStdout: (c) => void chunks.push(c) });
    const got = concatBytes(chunks);
    assert.equal(r.truncated, true);
    assert.equal(got.length, 100_000);
    assert.equal(r.signal, "SIGTERM"); // stopped, not left to print 100 million lines
    const expected = (await new Deno.Command("seq", { args: ["1", "30000"] }).output()).stdout;
    assert.ok(equalBytes(got, expected.subarray(0, 100_000)));
    // stderr counts towards the same cap.
    let err = 0;
    const r2 = await client.run(["sh", "-c", "head -c 200000 /dev/zero >&2"], {
      onStderr: (c) => void (err += c.length),
    });
    assert.equal(r2.truncated, true);
    assert.equal(err, 100_000);
  },
});

Deno.test({
  name: "50 clients at once, each with its own command and output",
  permissions: perms,
  async fn() {
    const { entries, log } = collectLog();
    await using server = serveRemoteExec({ token: TOKEN, log });
    const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
      let out = "";
      const r = await client.run(["sh", "-c", `seq ${i} ${i + 1000}; exit ${i % 7}`], {
        onStdout: (c) => void (out += new TextDecoder().decode(c)),
      });
      return { i, out, status: r.exitStatus };
    }));
    for (const { i, out, status } of results) {
      const lines = out.trimEnd().split("\n");
      assert.equal(lines.length, 1001);
      assert.equal(lines[0], String(i));
      assert.equal(lines[1000], String(i + 1000));
      assert.equal(status, i % 7);
    }
    assert.equal(entries.filter((e) => e.event === "auth-ok").length, 50);
    assert.equal(entries.filter((e) => e.event === "error").length, 0);
  },
});

Deno.test({
  name: "garbage bytes and an HTTP request close only their connection, with a logged error",
  permissions: perms,
  async fn() {
    const { entries, log } = collectLog();
    await using server = serveRemoteExec({ token: TOKEN, handshakeTimeout: 2000, log });
    const port = server.addr.port;
    const sendAndWaitClose = async (bytes: Uint8Array) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(bytes);
      const buf = new Uint8Array(4096);
      let n: number | null;
      let received = 0;
      // The server sends HELLO, then closes on the bad bytes.
      while ((n = await conn.read(buf)) !== null) received += n;
      conn.close();
      return received;
    };
    const garbage = crypto.getRandomValues(new Uint8Array(256));
    garbage[0] |= 0x01; // declared length ≥ 16 MiB, far over the 64 KiB request limit
    assert.ok(await sendAndWaitClose(garbage) > 0);
    await sendAndWaitClose(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    // An authenticated client sending a malformed request is closed too.
    {
      const { conn } = await rawAuthenticated(port);
      await sendMessage(conn, MSG.RUN, new TextEncoder().encode("{not json"));
      assert.equal(await receiveMessage(conn), null);
      await conn.close();
    }
    await echoWorks(port);
    const errors = entries.filter((e) => e.event === "error" || e.event === "auth-failed");
    assert.equal(errors.length, 3, JSON.stringify(entries.map((e) => e.message)));
    assert.ok(errors.some((e) => /not valid JSON/.test(e.message)));
    assert.ok(errors.some((e) => /HTTP/.test(e.message)), "the HTTP request was not named");
  },
});

Deno.test({
  name: "maxConnections: one over the limit is told the server is busy",
  permissions: perms,
  async fn() {
    const { log, until } = collectLog();
    await using server = serveRemoteExec({ token: TOKEN, maxConnections: 2, log });
    const port = server.addr.port;
    const a = await connectRemoteExec({ port, token: TOKEN });
    const b = await connectRemoteExec({ port, token: TOKEN });
    await assert.rejects(connectRemoteExec({ port, token: TOKEN }), /server busy/);
    await a.close();
    await b.close();
    await until((e) => e.filter((x) => x.event === "close").length === 2);
    await echoWorks(port);
  },
});

Deno.test({
  name: "a client that closes mid-command gets its command stopped; cancel stops it too",
  permissions: perms,
  async fn() {
    const { entries, log, until } = collectLog();
    await using server = serveRemoteExec({ token: TOKEN, timeout: 20_000, killGrace: 200, log });
    // The command says it started; only then does the client act: no timers.
    const started = ["sh", "-c", "echo started; exec sleep 30"];
    {
      await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
      const stop = new AbortController();
      const r = await client.run(started, { signal: stop.signal, onStdout: () => stop.abort() });
      assert.equal(r.cancelled, true);
      assert.equal(r.signal, "SIGTERM");
      assert.equal((await client.run(["true"])).exitStatus, 0); // the connection goes on
    }
    const client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    await assert.rejects(client.run(started, { onStdout: () => void client.close() }));
    const cancelled = () =>
      entries.filter((e) => e.event === "exit" && e.message.includes("(cancelled)")).length;
    await until(() => cancelled() === 2);
    assert.equal(cancelled(), 2); // the hung-up client's sleep was stopped, not left to run 30 s
  },
});

Deno.test({
  name: "refuses to start without a token, with a short one, or unauthenticated off loopback",
  permissions: perms,
  fn() {
    assert.throws(() => serveRemoteExec({ log: () => {} }), RangeError);
    assert.throws(() => serveRemoteExec({ token: "short", log: () => {} }), RangeError);
    assert.throws(
      () => serveRemoteExec({ insecureNoAuth: true, hostname: "0.0.0.0", log: () => {} }),
      /loopback/,
    );
  },
});

Deno.test({
  name: "TLS with a self-signed certificate made by openssl",
  permissions: { ...perms, write: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const gen = await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=IP:127.0.0.1,DNS:localhost",
          "-addext",
          "basicConstraints=critical,CA:FALSE",
          "-keyout",
          `${dir}/key.pem`,
          "-out",
          `${dir}/cert.pem`,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(gen.success, new TextDecoder().decode(gen.stderr));
      const cert = await Deno.readTextFile(`${dir}/cert.pem`);
      const key = await Deno.readTextFile(`${dir}/key.pem`);
      await using server = serveRemoteExec({ token: TOKEN, tls: { cert, key }, log: () => {} });
      {
        await using client = await connectRemoteExec({
          port: server.addr.port,
          token: TOKEN,
          tls: { caCerts: [cert] },
        });
        const chunks: Uint8Array[] = [];
        const r = await client.run(["seq", "1", "100000"], {
          onStdout: (c) => void chunks.push(c),
        });
        assert.equal(r.exitStatus, 0);
        const expected = (await new Deno.Command("seq", { args: ["1", "100000"] }).output()).stdout;
        assert.ok(equalBytes(concatBytes(chunks), expected));
      }
      // Without trusting the certificate, the TLS handshake fails.
      await assert.rejects(connectRemoteExec({ port: server.addr.port, token: TOKEN, tls: {} }));
      // A plain-TCP client on the TLS port is turned away at once, and told why (its deadline
      // is far off: what fails is the server dropping it, not a timeout).
      await assert.rejects(
        connectRemoteExec({ port: server.addr.port, token: TOKEN, connectTimeout: 60_000 }),
        (e: Error) => e instanceof RemoteExecError && /expects? TLS/.test(e.message),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "commands get a cleared environment: no token, no server secrets; env passes named ones",
  permissions: perms,
  async fn() {
    Deno.env.set("SOCKKIT_REMOTE_EXEC_TOKEN", TOKEN);
    Deno.env.set("MY_DB_PASSWORD", "hunter2");
    Deno.env.set("MY_SETTING", "on");
    try {
      await using server = serveRemoteExec({ token: TOKEN, env: ["MY_SETTING"], log: () => {} });
      await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
      let out = "";
      const r = await client.run(["env"], {
        onStdout: (c) => void (out += new TextDecoder().decode(c)),
      });
      assert.equal(r.exitStatus, 0);
      const names = out.trimEnd().split("\n").map((line) => line.split("=")[0]).sort();
      const allowed = [
        "HOME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "LOGNAME",
        "MY_SETTING",
        "PATH",
        "TZ",
        "USER",
      ];
      assert.deepEqual(names.filter((n) => !allowed.includes(n)), [], out);
      assert.match(out, /^MY_SETTING=on$/m);
      assert.match(out, /^PATH=\/usr\/local\/bin:\/usr\/bin:\/bin$/m);
      assert.doesNotMatch(out, new RegExp(TOKEN));
      assert.doesNotMatch(out, /hunter2/);
      // A variable that would carry the token is refused, whatever its name.
      Deno.env.set("MY_COPY", `x${TOKEN}x`);
      assert.throws(
        () => serveRemoteExec({ token: TOKEN, env: ["MY_COPY"], log: () => {} }),
        /MY_COPY holds the token/,
      );
      assert.throws(
        () => serveRemoteExec({ token: TOKEN, env: ["SOCKKIT_REMOTE_EXEC_TOKEN"], log: () => {} }),
        RangeError,
      );
      assert.throws(
        () => serveRemoteExec({ token: TOKEN, env: ["PATH"], log: () => {} }),
        TypeError,
      );
    } finally {
      for (const name of ["SOCKKIT_REMOTE_EXEC_TOKEN", "MY_DB_PASSWORD", "MY_SETTING", "MY_COPY"]) {
        Deno.env.delete(name);
      }
    }
  },
});

Deno.test({
  name: "an empty or . entry in the server's PATH never makes an allowed ls run ./ls",
  permissions: { ...perms, write: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    const saved = Deno.env.get("PATH")!;
    try {
      // A planted ./ls in the commands' working directory, and a PATH that would find it.
      await Deno.writeTextFile(`${dir}/ls`, "#!/bin/sh\necho PLANTED\n");
      await Deno.chmod(`${dir}/ls`, 0o755);
      Deno.env.set("PATH", `:.:${saved}`);
      const { entries, log } = collectLog();
      await using server = serveRemoteExec({ token: TOKEN, allow: ["ls"], cwd: dir, log });
      await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
      let out = "";
      const r = await client.run(["ls"], {
        onStdout: (c) => void (out += new TextDecoder().decode(c)),
      });
      assert.equal(r.exitStatus, 0);
      assert.equal(out, "ls\n"); // the real ls, listing the planted file
      const ran = entries.find((e) => e.event === "run")!.message;
      assert.match(JSON.parse(ran)[0], /^\/.+\/ls$/); // resolved to an absolute path at start-up
      // A search path with an empty or relative entry is refused outright.
      for (const path of [`:${saved}`, `.:/usr/bin`, "/usr/bin:bin"]) {
        assert.throws(() => serveRemoteExec({ token: TOKEN, path, log: () => {} }), RangeError);
      }
    } finally {
      Deno.env.set("PATH", saved);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "library messages name no command-line flag",
  permissions: perms,
  async fn() {
    await using server = serveRemoteExec({ token: TOKEN, log: () => {} });
    await using client = await connectRemoteExec({ port: server.addr.port, token: TOKEN });
    await assert.rejects(
      client.run({ shell: "echo hi" }),
      (e: Error) => e instanceof RemoteCommandRefusedError && !/--/.test(e.message),
    );
    for (
      const attempt of [
        () => serveRemoteExec({ log: () => {} }),
        () => serveRemoteExec({ token: TOKEN, allow: ["ls"], shell: true, log: () => {} }),
        () => serveRemoteExec({ insecureNoAuth: true, hostname: "0.0.0.0", log: () => {} }),
      ]
    ) {
      assert.throws(attempt, (e: Error) => !/--/.test(e.message));
    }
  },
});
