/**
 * nginx (Debian package `nginx`) as an independent HTTP/1.1 peer: started by
 * the test on loopback ports with its own temp prefix and config
 * (`daemon off`, `master_process off`, no root paths), stopped by
 * {@link NginxServer.close}. https uses the test CA from `tls.ts`.
 *
 * @module
 */

import { testTls } from "./tls.ts";
import { expectedBytes } from "./http_servers.ts";
import { binaryPath, freePort, waitForPort } from "./process.ts";

/** A running nginx. */
export interface NginxServer {
  /** `http://127.0.0.1:port`: keep-alive 75 s. */
  http: string;
  /** `https://localhost:port`: the same routes over TLS. */
  https: string;
  /** `http://127.0.0.1:port` of a server that closes sockets idle for 1 s. */
  shortKeepAlive: string;
  /** CA to trust for `https`. */
  caCerts: string[];
  /** Stops nginx and removes its prefix. */
  close(): Promise<void>;
}

/** Whether an `nginx` binary can be run (to skip with a clear message otherwise). */
export function nginxAvailable(): boolean {
  try {
    const out = new Deno.Command(nginxPath(), {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success;
  } catch {
    return false;
  }
}

function nginxPath(): string {
  return binaryPath("nginx");
}

/**
 * Routes (on `http` and `https`):
 * - `/hello` → `hello world` (`return`)
 * - `/static/big.bin` → 4 MiB of the `expectedBytes` pattern, `Content-Length`
 * - `/static/small.txt` → `small file\n`, with `ETag` (for 304)
 * - `/chunked/small.txt` → the same file sent chunked (sub_filter drops the
 *   length), with trailers `X-Trailer-A: one` and `X-Trailer-B: two`
 * - `/chunked/big.bin` → the 4 MiB file, chunked
 * - `/204` → 204
 * - `/close` → `bye` with `Connection: close` (keepalive_timeout 0)
 * - `/method` → `<method> <content-length>`
 */
export async function startNginx(): Promise<NginxServer> {
  const tls = await testTls();
  const dir = await Deno.makeTempDir({ prefix: "nexus_http_nginx_" });
  await Deno.chmod(dir, 0o755); // workers may run as another user
  const www = `${dir}/www`;
  await Deno.mkdir(`${www}/static`, { recursive: true });
  await Deno.mkdir(`${www}/chunked`, { recursive: true });
  const big = expectedBytes(4 << 20);
  await Deno.writeFile(`${www}/static/big.bin`, big);
  await Deno.writeFile(`${www}/chunked/big.bin`, big);
  await Deno.writeTextFile(`${www}/static/small.txt`, "small file\n");
  await Deno.writeTextFile(`${www}/chunked/small.txt`, "small file\n");
  await Deno.writeTextFile(`${dir}/cert.pem`, tls.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, tls.key);
  for (const p of ["", "/www", "/www/static", "/www/chunked"]) {
    await Deno.chmod(`${dir}${p}`, 0o755);
  }
  const [http, https, short] = [freePort(), freePort(), freePort()];
  const routes = `
    root ${www};
    location = /hello { return 200 "hello world"; }
    location /static/ { etag on; }
    location /chunked/ {
      sub_filter_types *;
      sub_filter "never-present" "x";
      add_trailer X-Trailer-A one;
      add_trailer X-Trailer-B two;
    }
    location = /204 { return 204; }
    location = /close { keepalive_timeout 0; return 200 "bye"; }
    location = /method { return 200 "$request_method $content_length"; }
  `;
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  sendfile on;
  server {
    listen 127.0.0.1:${http};
    ${routes}
  }
  server {
    listen 127.0.0.1:${https} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ${routes}
  }
  server {
    listen 127.0.0.1:${short};
    keepalive_timeout 1s;
    location / { return 200 "short"; }
  }
}
`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command(nginxPath(), {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  try {
    await waitForPort(http, child, "nginx");
    await waitForPort(https, child, "nginx");
    await waitForPort(short, child, "nginx");
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await stderr.catch(() => {});
    const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
    await Deno.remove(dir, { recursive: true });
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return {
    http: `http://127.0.0.1:${http}`,
    https: `https://localhost:${https}`,
    shortKeepAlive: `http://127.0.0.1:${short}`,
    caCerts: [tls.caCert],
    async close() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await stderr.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}
