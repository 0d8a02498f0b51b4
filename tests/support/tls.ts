/**
 * Test TLS material made with `openssl` (Debian package `openssl`): a
 * throwaway certificate authority and leaf certificates it signs, returned
 * as PEM strings. Generated once per process (each call after the first
 * returns the cached promise), in a temp dir that is removed at once.
 *
 * Needs `--allow-run` (openssl) and `--allow-read` / `--allow-write` (temp dir).
 *
 * @module
 */

/** A leaf certificate and its private key (PKCS#8), PEM. */
export interface TestLeaf {
  /** Leaf certificate PEM, signed by the test CA. */
  cert: string;
  /** Private key PEM (PKCS#8, unencrypted). */
  key: string;
}

/** The process-wide test TLS material. */
export interface TestTls extends TestLeaf {
  /** The test CA's certificate PEM: give it to clients as `caCerts: [caCert]`. */
  caCert: string;
  /** `cert`/`key` are valid for `localhost` and `127.0.0.1` (and `::1`). */
  names: string[];
  /** A leaf signed by the same CA, valid only for `wrong-host.invalid`. */
  wrongHost: TestLeaf;
}

/** Where the Debian `openssl` binary is expected (falls back to `PATH`). */
const OPENSSL = "openssl";

let cached: Promise<TestTls> | undefined;
const leaves = new Map<string, Promise<TestLeaf>>();
let caPem: Promise<{ caCert: string; caKey: string }> | undefined;

/** Runs `openssl` with `args` in `cwd`; resolves with its stdout, throws on failure. */
export async function openssl(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(OPENSSL, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Expected "openssl ${
        args.join(" ")
      }" to succeed, got exit code ${out.code}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Makes the CA once; its key lives only in memory after the temp dir goes. */
function ca(): Promise<{ caCert: string; caKey: string }> {
  return caPem ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "nexus_ws_tls_" });
    try {
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "7",
        "-subj",
        "/CN=nexus-ws test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ], dir);
      return {
        caCert: await Deno.readTextFile(`${dir}/ca.pem`),
        caKey: await Deno.readTextFile(`${dir}/ca.key`),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  b[0] &= 0x7f; // positive
  b[0] |= 0x01; // no leading zero octet
  return "0x" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function isIp(name: string): boolean {
  return /^[0-9.]+$/.test(name) || name.includes(":");
}

/**
 * A leaf certificate for the given DNS names / IP addresses, signed by the
 * test CA (cached per name list).
 */
export function issueLeaf(names: string[]): Promise<TestLeaf> {
  const id = names.join(",");
  let p = leaves.get(id);
  if (p === undefined) {
    p = (async () => {
      const { caCert, caKey } = await ca();
      const dir = await Deno.makeTempDir({ prefix: "nexus_ws_tls_" });
      try {
        await Deno.writeTextFile(`${dir}/ca.pem`, caCert);
        await Deno.writeTextFile(`${dir}/ca.key`, caKey);
        const san = names.map((n) => isIp(n) ? `IP:${n}` : `DNS:${n}`)
          .join(",");
        await Deno.writeTextFile(
          `${dir}/ext.cnf`,
          [
            `subjectAltName=${san}`,
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
            "",
          ].join("\n"),
        );
        await openssl([
          "req",
          "-new",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          "leaf.key",
          "-out",
          "leaf.csr",
          "-subj",
          `/CN=${names[0]}`,
        ], dir);
        await openssl([
          "x509",
          "-req",
          "-in",
          "leaf.csr",
          "-CA",
          "ca.pem",
          "-CAkey",
          "ca.key",
          "-set_serial",
          randomSerial(),
          "-days",
          "7",
          "-extfile",
          "ext.cnf",
          "-out",
          "leaf.pem",
        ], dir);
        return {
          cert: await Deno.readTextFile(`${dir}/leaf.pem`),
          key: await Deno.readTextFile(`${dir}/leaf.key`),
        };
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    })();
    leaves.set(id, p);
    p.catch(() => leaves.delete(id));
  }
  return p;
}

/**
 * The process-wide test CA with a leaf for `localhost` / `127.0.0.1` / `::1`
 * and a leaf for another host. The first call runs `openssl` (about 50 ms);
 * later calls return the same promise.
 */
export function testTls(): Promise<TestTls> {
  if (cached === undefined) {
    cached = (async () => {
      const names = ["localhost", "127.0.0.1", "::1"];
      const { caCert } = await ca();
      const [leaf, wrongHost] = await Promise.all([
        issueLeaf(names),
        issueLeaf(["wrong-host.invalid"]),
      ]);
      return { caCert, names, ...leaf, wrongHost };
    })();
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}
