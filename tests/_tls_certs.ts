/**
 * A throwaway certificate authority for TLS tests: made with openssl in a temporary directory,
 * valid for a day, for `localhost`, 127.0.0.1 and ::1.
 *
 * @module
 */

/** PEM texts of a test CA and a server certificate it signed. */
export interface TestCerts {
  /** The CA's certificate (what a client trusts). */
  ca: string;
  /** The server's certificate. */
  cert: string;
  /** The server's private key. */
  key: string;
  /** A second CA that signed nothing here (a client trusting only it must refuse the server). */
  otherCa: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
}

/** Makes a CA and a server certificate; needs `allow-run` (openssl) and `allow-read`/`allow-write`. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-tls-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (const name of ["ca", "other"]) {
      await openssl(
        dir,
        "req",
        "-x509",
        ...ec,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.crt`,
        "-subj",
        `/CN=sockkit test ${name}`,
        "-days",
        "1",
      );
    }
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    await openssl(
      dir,
      "req",
      ...ec,
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    );
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    );
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    return {
      ca: await read("ca.crt"),
      cert: await read("server.crt"),
      key: await read("server.key"),
      otherCa: await read("other.crt"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
