/**
 * Real proxies from Debian packages, started by the tests on loopback, each
 * with its own config in a temp dir, on a free port, and stopped (with
 * every process it forked) by `close()`:
 *
 * | helper | package | protocol | credentials |
 * | --- | --- | --- | --- |
 * | {@link startTinyproxy} | `tinyproxy` | HTTP CONNECT | optional Basic (`BasicAuth`); it answers wrong ones with 401, not 407 |
 * | {@link startSquid} | `squid` | HTTP CONNECT | optional Basic (`basic_ncsa_auth`, an htpasswd file made with `openssl passwd -apr1`); 407 for missing or wrong ones |
 * | {@link startMicrosocks} | `microsocks` | SOCKS5 | optional username/password (`-u` / `-P`, RFC 1929) |
 * | {@link startDanted} | `dante-server` | SOCKS5 | none (its username method needs system users) |
 *
 * Every one allows CONNECT to any port of 127.0.0.1 and resolves names for
 * SOCKS5 domain-name requests (`socks5h`). Credentials given to a helper
 * must be letters and digits (they go into config files and command lines).
 *
 * @module
 */

import type { ProxyCredentials } from "../../src/codec/mod.ts";
import { type Daemon, freePort, startDaemon } from "./process.ts";
import { openssl } from "./tls.ts";

/** A running proxy. */
export interface RunningProxy extends AsyncDisposable {
  /** `"tinyproxy"`, `"squid"`, `"microsocks"` or `"danted"`. */
  readonly name: string;
  /** `"http"` (CONNECT) or `"socks5"`. */
  readonly protocol: "http" | "socks5";
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** `host:port`, as `ProxyError.proxy` names it. */
  readonly host: string;
  /** The proxy URL without credentials: `http://…` or `socks5://…`. */
  readonly url: string;
  /** The credentials it requires, when it requires some. */
  readonly credentials?: ProxyCredentials;
  /** Stops the proxy and every process it started; removes its dir. */
  close(): Promise<void>;
}

/** Options of the start helpers. */
export interface ProxyOptions {
  /** Require these credentials (letters and digits only). */
  credentials?: ProxyCredentials;
}

function checkSimple(c: ProxyCredentials | undefined): void {
  if (
    c &&
    !(/^[A-Za-z0-9]+$/.test(c.username) && /^[A-Za-z0-9]+$/.test(c.password))
  ) {
    throw new TypeError(
      "Expected test proxy credentials of letters and digits only",
    );
  }
}

function running(
  name: string,
  protocol: "http" | "socks5",
  port: number,
  daemon: Daemon,
  credentials: ProxyCredentials | undefined,
): RunningProxy {
  const host = `127.0.0.1:${port}`;
  return {
    name,
    protocol,
    hostname: "127.0.0.1",
    port,
    host,
    url: `${protocol}://${host}`,
    ...(credentials ? { credentials } : {}),
    close: daemon.close,
    [Symbol.asyncDispose]: daemon.close,
  };
}

async function tempDir(name: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `nexus_proxy_${name}_` });
  // daemons started as root drop to an unprivileged user that must still
  // write its logs there
  await Deno.chmod(dir, 0o777);
  return dir;
}

/** Starts tinyproxy (HTTP CONNECT), with Basic auth when `credentials` are given. */
export async function startTinyproxy(
  options: ProxyOptions = {},
): Promise<RunningProxy> {
  const { credentials } = options;
  checkSimple(credentials);
  const dir = await tempDir("tinyproxy");
  const port = freePort();
  const conf = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 600",
    `LogFile "${dir}/tinyproxy.log"`,
    "LogLevel Warning",
    "MaxClients 100",
    // no ConnectPort line: CONNECT to every port is allowed
    ...(credentials
      ? [`BasicAuth ${credentials.username} ${credentials.password}`]
      : []),
  ];
  await Deno.writeTextFile(`${dir}/tinyproxy.conf`, conf.join("\n") + "\n");
  const daemon = await startDaemon({
    name: "tinyproxy",
    command: "tinyproxy",
    args: ["-d", "-c", `${dir}/tinyproxy.conf`],
    dir,
    port,
    logs: ["tinyproxy.log"],
  });
  return running("tinyproxy", "http", port, daemon, credentials);
}

/** An htpasswd line with an Apache MD5 (`$apr1$`) hash, made by openssl. */
async function htpasswd(c: ProxyCredentials, dir: string): Promise<string> {
  const hash = await openssl(["passwd", "-apr1", c.password], dir);
  return `${c.username}:${hash.trim()}\n`;
}

/** Starts squid (HTTP CONNECT), with Basic auth when `credentials` are given. */
export async function startSquid(
  options: ProxyOptions = {},
): Promise<RunningProxy> {
  const { credentials } = options;
  checkSimple(credentials);
  const dir = await tempDir("squid");
  const port = freePort();
  const conf = [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    "access_log none",
    "cache deny all",
    `coredump_dir ${dir}`,
    "netdb_filename none",
    "pinger_enable off",
    "shutdown_lifetime 0 seconds",
    // when started as root it runs as Debian's "proxy" user
    ...(Deno.uid() === 0 ? ["cache_effective_user proxy"] : []),
  ];
  if (credentials) {
    await Deno.writeTextFile(`${dir}/passwd`, await htpasswd(credentials, dir));
    await Deno.chmod(`${dir}/passwd`, 0o644);
    conf.push(
      `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/passwd`,
      "auth_param basic realm nexus-test",
      "auth_param basic children 1 startup=1 idle=1",
      "acl authed proxy_auth REQUIRED",
      "http_access allow authed",
      "http_access deny all",
    );
  } else {
    // no SSL_ports rule: CONNECT to every port is allowed
    conf.push("http_access allow all");
  }
  await Deno.writeTextFile(`${dir}/squid.conf`, conf.join("\n") + "\n");
  const daemon = await startDaemon({
    name: "squid",
    command: "squid",
    args: ["-N", "-f", `${dir}/squid.conf`],
    dir,
    port,
    logs: ["cache.log"],
  });
  return running("squid", "http", port, daemon, credentials);
}

/** Starts microsocks (SOCKS5), with username/password when `credentials` are given. */
export async function startMicrosocks(
  options: ProxyOptions = {},
): Promise<RunningProxy> {
  const { credentials } = options;
  checkSimple(credentials);
  const dir = await tempDir("microsocks");
  const port = freePort();
  const daemon = await startDaemon({
    name: "microsocks",
    command: "microsocks",
    args: [
      "-i",
      "127.0.0.1",
      "-p",
      String(port),
      ...(credentials
        ? ["-u", credentials.username, "-P", credentials.password]
        : []),
    ],
    dir,
    port,
  });
  return running("microsocks", "socks5", port, daemon, credentials);
}

/** Starts Dante's `danted` (SOCKS5, no authentication). */
export async function startDanted(): Promise<RunningProxy> {
  const dir = await tempDir("danted");
  const port = freePort();
  const conf = [
    `logoutput: ${dir}/danted.log`,
    `internal: 127.0.0.1 port = ${port}`,
    "external: 127.0.0.1",
    "clientmethod: none",
    "socksmethod: none",
    ...(Deno.uid() === 0
      ? ["user.privileged: root", "user.unprivileged: nobody"]
      : []),
    "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
    "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }",
  ];
  await Deno.writeTextFile(`${dir}/danted.conf`, conf.join("\n") + "\n");
  const daemon = await startDaemon({
    name: "danted",
    command: "danted",
    args: ["-f", `${dir}/danted.conf`],
    dir,
    port,
    logs: ["danted.log"],
  });
  return running("danted", "socks5", port, daemon, undefined);
}
