/**
 * TLS for framed connections: the options, and a client handshake that fails fast and clearly
 * when the server does not speak TLS.
 *
 * @module
 */

/** A server's TLS identity (the `tls` option of `listenFramed` and `serveFramed`). */
export interface ServerTlsOptions {
  /** The certificate chain, PEM (the server's certificate first). */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** How a client checks the server (the `tls` option of `connectFramed`). */
export interface ClientTlsOptions {
  /**
   * CA certificates (PEM) to trust, in addition to none: when given, only these are trusted.
   *
   * @default {the system's CAs}
   */
  caCerts?: string[];
  /**
   * The name the server's certificate must carry (and the SNI sent).
   *
   * @default {the hostname connected to}
   */
  serverName?: string;
}

/**
 * Checks a `tls` option.
 *
 * @param tls The option.
 * @param side Which side it is for.
 * @returns The checked options.
 */
export function tlsOptionsOf(
  tls: unknown,
  side: "client" | "server",
): ClientTlsOptions | ServerTlsOptions {
  if (side === "client") {
    if (tls === true) return {};
    if (tls === null || typeof tls !== "object") {
      throw new TypeError("tls must be true or an object { caCerts?, serverName? }");
    }
    const { caCerts, serverName } = tls as ClientTlsOptions;
    if (
      caCerts !== undefined &&
      (!Array.isArray(caCerts) || !caCerts.every((c) => typeof c === "string"))
    ) {
      throw new TypeError("tls.caCerts must be an array of PEM strings");
    }
    if (serverName !== undefined && (typeof serverName !== "string" || serverName === "")) {
      throw new TypeError("tls.serverName must be a non-empty string");
    }
    return { caCerts, serverName };
  }
  if (tls === null || typeof tls !== "object") {
    throw new TypeError("tls must be an object { cert, key } of PEM strings");
  }
  const { cert, key } = tls as ServerTlsOptions;
  if (typeof cert !== "string" || typeof key !== "string" || cert === "" || key === "") {
    throw new TypeError("tls needs cert and key, as PEM strings");
  }
  return { cert, key };
}

/**
 * Starts TLS over a connected TCP connection and finishes the handshake, so that a server that
 * does not speak TLS (or a certificate that does not check out) fails here, with a message that
 * says so, instead of on the first receive.
 *
 * @param conn The TCP connection (closed on failure).
 * @param hostname The host connected to.
 * @param port The port connected to.
 * @param tls The client options.
 * @param signal Ends the handshake (the connect timeout, the caller's signal).
 * @returns The TLS connection, handshake done.
 */
export async function connectTlsOver(
  conn: Deno.TcpConn,
  hostname: string,
  port: number,
  tls: ClientTlsOptions | ServerTlsOptions,
  signal: AbortSignal,
): Promise<Deno.TlsConn> {
  const { caCerts, serverName } = tls as ClientTlsOptions;
  let secure: Deno.TlsConn | undefined;
  const abort = () => (secure ?? conn).close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    signal.throwIfAborted();
    secure = await Deno.startTls(conn, { hostname: serverName ?? hostname, caCerts });
    await secure.handshake();
    return secure;
  } catch (error) {
    try {
      (secure ?? conn).close();
    } catch {
      // already closed
    }
    if (signal.aborted) throw signal.reason;
    throw explain(error, `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

/** Rewords a failed client handshake (keeping Deno's class, so `instanceof` still works). */
function explain(error: unknown, where: string): unknown {
  if (!(error instanceof Error)) return error;
  const reason = error instanceof Deno.errors.UnexpectedEof ||
      error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe
    ? "the server closed the connection during the handshake: it probably does not speak TLS"
    : error.message;
  const Class = error.constructor as new (message: string, options?: ErrorOptions) => Error;
  try {
    return new Class(`TLS handshake with ${where} failed: ${reason}`, { cause: error });
  } catch {
    return error;
  }
}
