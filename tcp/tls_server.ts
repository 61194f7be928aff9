/**
 * The server side of TLS over a TCP connection that the transport keeps in its own hands.
 *
 * Deno 2.9's `Deno.listenTls` connections cannot be closed before their handshake finished:
 * `close()` leaves the TCP socket open (measured: still open 150 s later) as long as the peer
 * sends no ClientHello, so a handshake deadline could free a slot but not the socket. Here the
 * TCP connection comes from a plain `Deno.listen`, and node:tls runs the TLS layer over it;
 * closing closes the TCP socket itself, handshake or not.
 *
 * @module
 */

import { Duplex } from "node:stream";
import tls from "node:tls";
import type { ServerTlsOptions } from "./tls.ts";

/** The most bytes decrypted and not yet read, above which the TLS socket is paused. */
const MAX_BUFFERED = 256 * 1024;

/** A TLS identity prepared once for every accepted connection. */
export type ServerTlsContext = tls.SecureContext;

/**
 * Prepares a server's TLS identity.
 *
 * @param options The certificate chain and key (PEM).
 * @returns The context.
 */
export function serverTlsContext(options: ServerTlsOptions): ServerTlsContext {
  return tls.createSecureContext({ cert: options.cert, key: options.key });
}

/**
 * A fatal TLS alert (decode_error), as rustls sends it: what a client that does not speak TLS
 * gets before the close, so that it fails on bytes it can name rather than on a bare EOF.
 */
const DECODE_ERROR_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);

/** A byte stream over a `Deno.Conn`, for node:tls to run on. */
function duplexOver(conn: Deno.Conn, writes: { last: Promise<unknown> }): Duplex {
  let ended = false;
  return new Duplex({
    read() {
      const buffer = new Uint8Array(16 * 1024);
      if (ended) return;
      conn.read(buffer).then(
        (n) => {
          if (n === null) ended = true;
          this.push(n === null ? null : buffer.subarray(0, n));
        },
        (error) => this.destroy(error),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      const writing = (async () => {
        for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
      })();
      writes.last = writing.catch(() => {});
      writing.then(() => callback(), callback);
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), callback);
    },
    destroy(error, callback) {
      // the TCP connection is closed by ServerTlsConn.close(), after a last alert went out
      callback(error);
    },
  });
}

function denoError(error: unknown): unknown {
  const code = (error as { code?: string })?.code;
  const message = (error as Error)?.message ?? String(error);
  if (code === "ECONNRESET") return new Deno.errors.ConnectionReset(message, { cause: error });
  if (code === "EPIPE") return new Deno.errors.BrokenPipe(message, { cause: error });
  if (/handshake|SSL|TLS|alert|wrong version|certificate/i.test(message)) {
    return new Deno.errors.InvalidData(message, { cause: error });
  }
  return error;
}

/**
 * A TLS server connection with `Deno.Conn`'s reading and writing contract, over a TCP connection
 * that `close()` closes at once. Its handshake starts as soon as it is made.
 */
export class ServerTlsConn {
  /** The local address. */
  readonly localAddr: Deno.NetAddr;
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  #tcp: Deno.TcpConn;
  #socket: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: unknown = undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  #handshake: Promise<void>;
  #alert: Promise<unknown> | undefined;

  /**
   * Starts TLS over `tcp`.
   *
   * @param tcp The accepted TCP connection (owned from now on).
   * @param context The server's identity.
   */
  constructor(tcp: Deno.TcpConn, context: ServerTlsContext) {
    this.#tcp = tcp;
    this.localAddr = tcp.localAddr;
    this.remoteAddr = tcp.remoteAddr;
    let secure = false;
    const writes = { last: Promise.resolve() as Promise<unknown> };
    const socket = new tls.TLSSocket(duplexOver(tcp, writes), {
      isServer: true,
      secureContext: context,
    });
    this.#socket = socket;
    this.#handshake = new Promise<void>((resolve, reject) => {
      socket.once("secure", () => {
        secure = true;
        resolve();
      });
      socket.once("error", (error) => {
        if (!secure) {
          this.#alert = writes.last = writes.last.then(() => tcp.write(DECODE_ERROR_ALERT))
            .catch(() => {});
        }
        reject(denoError(error));
      });
      socket.once(
        "close",
        () => reject(new Deno.errors.UnexpectedEof("closed during the TLS handshake")),
      );
    });
    this.#handshake.catch(() => {});
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > MAX_BUFFERED) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error) => {
      this.#error ??= denoError(error);
      this.#notify();
    });
  }

  /**
   * Resolves when the TLS handshake is done.
   *
   * @returns Deno's handshake information (no ALPN here).
   */
  async handshake(): Promise<Deno.TlsHandshakeInfo> {
    await this.#handshake;
    return { alpnProtocol: null };
  }

  /**
   * Reads decrypted bytes into `p`.
   *
   * @param p Where to.
   * @returns How many, or `null` at the end of the stream.
   */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.Interrupted("the connection was closed");
      if (this.#buffered > 0) return this.#take(p);
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /**
   * Encrypts and writes all of `p`.
   *
   * @param p The bytes.
   * @returns `p.length`, once they were handed to the socket.
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (error) => error ? reject(denoError(error)) : resolve(p.length));
    });
  }

  /** Sends TLS close_notify and EOF; reading goes on. */
  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(() => resolve()));
  }

  /** Closes the TCP connection at once, whatever state the TLS layer is in. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    this.#closed = true;
    this.#socket.destroy();
    const closeTcp = () => {
      try {
        this.#tcp.close();
      } catch {
        // closed by the socket's destroy
      }
    };
    if (this.#alert === undefined) {
      closeTcp();
    } else {
      // 7 bytes into an empty send buffer: at once, unless the peer is gone
      const timer = setTimeout(closeTcp, 100);
      this.#alert.finally(() => {
        clearTimeout(timer);
        closeTcp();
      });
    }
    this.#notify();
  }

  /**
   * Sets `TCP_NODELAY`.
   *
   * @param on Whether.
   */
  setNoDelay(on = true): void {
    this.#tcp.setNoDelay(on);
  }

  /**
   * Sets `SO_KEEPALIVE`.
   *
   * @param on Whether.
   */
  setKeepAlive(on = true): void {
    this.#tcp.setKeepAlive(on);
  }

  #take(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(chunk.length, p.length - n);
      p.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#buffered -= n;
    if (this.#buffered <= MAX_BUFFERED >>> 2 && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
