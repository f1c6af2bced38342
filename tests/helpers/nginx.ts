/**
 * The shipped nginx recipe (examples/nginx/) run by Debian's nginx for a test: the recipe folder is copied to a temp
 * prefix as is, and only the three site snippets get the test's values in place of the examples' (the upstream
 * servers, the port, the certificate, the stream timeout). Unprivileged, on a free port of 127.0.0.1, stopped by
 * SIGQUIT to its PID. Needs /usr/sbin/nginx (`apt-get install nginx`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testCertificate } from './tls.js';

const NGINX = '/usr/sbin/nginx';
const RECIPE = fileURLToPath(new URL('../../examples/nginx/', import.meta.url));

export interface Proxy {
  url: string;
  /** nginx's error log so far. */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  readTimeout?: string;
  /** A variant: the recipe with `proxy_buffering off` taken out. */
  bufferingOn?: boolean;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs the shipped recipe in front of `upstreams` (the instances' URLs, one `server` line each). */
export async function startProxy(upstreams: string[], options: ProxyOptions = {}): Promise<Proxy> {
  const prefix = await mkdtemp(join(tmpdir(), 'task-mcp-nginx-'));
  const conf = join(prefix, 'conf');
  await cp(RECIPE, conf, { recursive: true });
  await mkdir(join(prefix, 'tmp'));
  const port = await freePort();
  const cert = await testCertificate();
  const template = async (file: string, replacements: Array<[RegExp, string]>): Promise<void> => {
    const path = join(conf, 'task-mcp', file);
    let text = await readFile(path, 'utf8');
    for (const [pattern, value] of replacements) {
      assert.match(text, pattern, `${file} has the line the test templates`);
      text = text.replace(pattern, value);
    }
    await writeFile(path, text);
  };
  const servers = upstreams.map((upstream) => `server ${new URL(upstream).host};\n`).join('');
  await template('upstream.conf', [[/^(?:server 127\.0\.0\.1:\d+;\n)+/m, servers]]);
  await template('listen.conf', [
    [/listen 443 ssl http2;/, `listen 127.0.0.1:${port} ssl http2;`],
    [/listen \[::\]:443 ssl http2;\n/, ''],
    [/ssl_certificate \S+;/, `ssl_certificate ${cert.certPath};`],
    [/ssl_certificate_key \S+;/, `ssl_certificate_key ${cert.keyPath};`],
  ]);
  if (options.readTimeout) {
    await template('stream-timeouts.conf', [[/proxy_read_timeout \S+;/, `proxy_read_timeout ${options.readTimeout};`]]);
  }
  if (options.bufferingOn) {
    const site = join(conf, 'task-mcp.conf');
    await writeFile(site, (await readFile(site, 'utf8')).replaceAll(/^\s*proxy_buffering off;\n/gm, ''));
  }
  const nginx = spawn(NGINX, ['-p', `${prefix}/`, '-e', 'error.log', '-c', 'conf/nginx.conf', '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `https://127.0.0.1:${port}`;
  await waitUntilServing(nginx, url, () => stderr);
  return {
    url,
    errors: () => readFile(join(prefix, 'error.log'), 'utf8').catch(() => ''),
    async stop() {
      if (nginx.exitCode === null) {
        nginx.kill('SIGQUIT');
        await once(nginx, 'exit');
      }
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

async function waitUntilServing(nginx: ChildProcess, url: string, stderr: () => string): Promise<void> {
  const { fetch } = await testCertificate();
  for (let i = 0; i < 100; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${stderr()}`);
    const ok = await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  nginx.kill('SIGQUIT');
  throw new Error(`nginx did not serve ${url}: ${stderr()}`);
}
