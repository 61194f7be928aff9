/**
 * TLS on the framed entry points, with a CA made by openssl for the test, on loopback.
 */
import assert from "node:assert/strict";
import {
  connectFramed,
  FrameTooLargeError,
  listenFramed,
  serveFramed,
  TimeoutError,
} from "../mod.ts";
import { makeTestCerts } from "./_tls_certs.ts";

const PERMISSIONS = { net: ["127.0.0.1", "localhost"], run: ["openssl"], read: true, write: true };
const certs = await makeTestCerts(); // before any test: its subprocesses are no test's leak
const text = new TextEncoder();
const untext = new TextDecoder();

Deno.test({
  name: "tls: serveFramed and connectFramed echo over TLS, by IP and by server name",
  permissions: PERMISSIONS,
  async fn() {
    const { ca, cert, key } = certs;
    await using server = serveFramed({
      port: 0,
      tls: { cert, key },
      async handler(conn) {
        for await (const frame of conn) await conn.send(frame);
      },
    });
    const port = server.addr.port;
    for (const tls of [{ caCerts: [ca] }, { caCerts: [ca], serverName: "localhost" }]) {
      await using client = await connectFramed({ port, tls });
      await client.send(text.encode("over tls"));
      assert.equal(untext.decode((await client.receive())!), "over tls");
      assert.ok("handshake" in client.conn, "a TLS connection");
    }
    // listenFramed with tls: the same
    await using listener = listenFramed({ port: 0, tls: { cert, key } });
    const accepting = listener.accept(); // connectFramed waits for the handshake: accept first
    await using client = await connectFramed({ port: listener.addr.port, tls: { caCerts: [ca] } });
    await using accepted = (await accepting)!;
    await client.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await accepted.receive(), new Uint8Array([1, 2, 3]));
  },
});

Deno.test({
  name: "tls: a plain client against a TLS server fails at once with a typed error, not a hang",
  permissions: PERMISSIONS,
  async fn() {
    const { cert, key } = certs;
    const errors: unknown[] = [];
    await using server = serveFramed({
      port: 0,
      tls: { cert, key },
      handler: () => assert.fail("no handler for a client that failed its TLS handshake"),
      onError: (error) => errors.push(error),
    });
    await using plain = await connectFramed({ port: server.addr.port });
    await plain.send(text.encode("hello?"));
    // the server answers the non-TLS bytes with a TLS alert record and closes; no deadline needed
    const error = await plain.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof FrameTooLargeError, String(error));
    // what it read was the alert record's header: the error names TLS
    assert.equal(error.protocol, "TLS", error.message);
    assert.match(error.message, /look like TLS/);
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(errors[0] instanceof Deno.errors.InvalidData, String(errors[0]));
  },
});

Deno.test({
  name: "tls: a TLS client against a plain server, or an untrusted certificate, fails at connect",
  permissions: PERMISSIONS,
  async fn() {
    const { ca, cert, key, otherCa } = certs;
    await using plainServer = serveFramed({
      port: 0,
      handler: () => assert.fail("no frame can come from a TLS ClientHello"),
      onError() {},
    });
    const error = await connectFramed({ port: plainServer.addr.port, tls: { caCerts: [ca] } })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof Deno.errors.UnexpectedEof, String(error));
    assert.match(error.message, /does not speak TLS/);
    await using tlsServer = serveFramed({
      port: 0,
      tls: { cert, key },
      handler() {},
      onError() {},
    });
    await assert.rejects(
      connectFramed({ port: tlsServer.addr.port, tls: { caCerts: [otherCa] } }),
      (e: Error) => e instanceof Deno.errors.InvalidData && /certificate/.test(e.message),
    );
    await assert.rejects(
      connectFramed({
        port: tlsServer.addr.port,
        tls: { caCerts: [ca], serverName: "example.com" },
      }),
      Deno.errors.InvalidData,
    );
  },
});

Deno.test({
  name: "tls: a socket that never sends a ClientHello is dropped at handshakeTimeout, TCP closed",
  permissions: PERMISSIONS,
  async fn() {
    const { ca, cert, key } = certs;
    const errors: unknown[] = [];
    await using server = serveFramed({
      port: 0,
      tls: { cert, key },
      handshakeTimeout: 200,
      maxHandshakes: 2,
      async handler(conn) {
        for await (const frame of conn) await conn.send(frame);
      },
      onError: (error) => errors.push(error),
    });
    const port = server.addr.port;
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    for (let i = 0; i < 200 && server.handshakes === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(server.handshakes, 1);
    for (let i = 0; i < 200 && errors.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(errors[0] instanceof TimeoutError, String(errors[0]));
    assert.equal(errors[0].kind, "handshake");
    assert.equal(server.handshakes, 0);
    // and the TCP connection itself is closed: the silent peer reads the end of the stream
    assert.equal(await silent.read(new Uint8Array(1)).catch(() => null), null);
    // a real client is served afterwards
    await using client = await connectFramed({ port, tls: { caCerts: [ca] } });
    await client.send(text.encode("after"));
    assert.equal(untext.decode((await client.receive())!), "after");
    silent.close();
  },
});

Deno.test({
  name: "tls: bad tls options throw before any socket is made",
  permissions: PERMISSIONS,
  async fn() {
    assert.throws(() => listenFramed({ port: 0, tls: { cert: "", key: "" } }), TypeError);
    assert.throws(
      () => listenFramed({ transport: "unix", path: "/tmp/x.sock", tls: { cert: "a", key: "b" } }),
      TypeError,
    );
    await assert.rejects(connectFramed({ port: 1, tls: { caCerts: "pem" as never } }), TypeError);
    await assert.rejects(connectFramed({ port: 1, tls: { serverName: "" } }), TypeError);
  },
});
