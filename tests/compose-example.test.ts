/**
 * examples/compose.yaml cannot run here (no container engine), so what it relies on is checked instead: the image's
 * defaults as the Dockerfile sets them, the nginx recipe's paths, the settings it passes, and a stop timeout that
 * lets a drain finish.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DRAIN_MARGIN_MS } from '../src/cluster.js';
import { readConfig, SETTINGS } from '../src/config/index.js';

const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

interface Service {
  image: string;
  environment?: Record<string, string>;
  volumes?: string[];
  command?: string[];
  stop_grace_period?: string;
}

describe('examples/compose.yaml', () => {
  const compose = parse(read('examples/compose.yaml'), { merge: true }) as { services: Record<string, Service> };
  const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('task-mcp-'));
  const dockerfile = read('Dockerfile');

  it('runs three replicas of the image with settings the server accepts, sharing one Redis', () => {
    assert.equal(replicas.length, 3);
    assert.match(dockerfile, /REPO_ROOT=\/repo/, 'the repository volume is where the image serves from');
    for (const [name, service] of replicas) {
      const env = {
        ...service.environment!,
        TASK_MCP_TOKENS: 'ci:0123456789abcdef0123',
        COOKIE_SECRET: 'x'.repeat(32),
      };
      // The image's ENV supplies REPO_ROOT; production needs it.
      const config = readConfig({ ...env, REPO_ROOT: '/repo' });
      assert.deepEqual(
        [config.tls, config.trustProxy, config.redisUrl],
        [{ mode: 'off' }, 1, 'redis://redis:6379'],
        name,
      );
      assert.ok(
        Object.keys(service.environment!).every((key) => Object.hasOwn(SETTINGS, key)),
        name,
      );
      assert.deepEqual(service.volumes, ['./repo:/repo']);
    }
    assert.ok('redis' in compose.services);
  });

  it('gives each replica a stop timeout above the grace plus the drain margin', () => {
    const graceMs = Number(SETTINGS.SHUTDOWN_GRACE_MS.default);
    for (const [name, service] of replicas) {
      const seconds = Number(/^(\d+)s$/.exec(service.stop_grace_period ?? '')?.[1]);
      assert.ok(seconds * 1000 > graceMs + DRAIN_MARGIN_MS, `${name}: ${service.stop_grace_period}`);
    }
  });

  it("mounts the nginx recipe and the certificate where the recipe's files expect them, and proxies to the image's port", () => {
    const nginx = compose.services.nginx!;
    const prefix = /nginx -p (\S+?)\/? /.exec(nginx.command!.join(' '))?.[1];
    assert.ok(nginx.volumes!.includes(`./nginx:${prefix}/conf:ro`), `${prefix}: ${nginx.volumes}`);
    const certDir = /ssl_certificate (\S+)\/[^/\s]+;/.exec(read('examples/nginx/task-mcp/listen.conf'))?.[1];
    assert.ok(nginx.volumes!.includes(`./certs:${certDir}:ro`), `${certDir}: ${nginx.volumes}`);
    const port = /PORT=(\d+)/.exec(dockerfile)?.[1];
    for (const [name] of replicas) assert.match(read('examples/compose.yaml'), new RegExp(`server ${name}:${port};`));
  });
});
