/**
 * The built image (tests/container/build.sh makes localhost/task-mcp:test) run as an operator runs it: a mounted
 * OpenSpec repository, tokens from the environment, HTTPS with the image's development certificate, then TLS=off.
 * Checks the HEALTHCHECK, an MCP tool call and that SIGTERM stops it cleanly (exit 0 through tini). Run by
 * `npm run test:container`, not by `npm test` (it needs podman and a built image).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Agent, fetch } from 'undici';
import { createTempRepo, type TempRepo } from '../helpers/repo.js';
import { TOKENS } from '../helpers/server.js';
import { mcpRequest } from '../helpers/mcp-request.js';

const run = promisify(execFile);
const IMAGE = process.env.IMAGE ?? 'localhost/task-mcp:test';
const ROOT = process.env.CONTAINER_ROOT ?? '/var/tmp/task-mcp-containers';
/** The same podman settings as podman-env.sh. */
const PODMAN = [
  ...['--root', `${ROOT}/storage`, '--runroot', `${ROOT}/run`, '--storage-driver', 'vfs'],
  ...['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'],
];
/** The user the image runs as (the base image's `node`). */
const NODE_UID = 1000;

const podman = async (...args: string[]): Promise<string> =>
  (await run('podman', [...PODMAN, ...args], { maxBuffer: 16 << 20 })).stdout.trim();

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Container {
  name: string;
  url: string;
  logs(): Promise<string>;
}

/** `podman run --detach` as docs/docker_strategy.md shows it: the repo at /repo, the port published on loopback. */
async function runContainer(repo: TempRepo, env: Record<string, string>): Promise<Container> {
  const name = `task-mcp-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const port = await freePort();
  const vars = { TASK_MCP_TOKENS: `alice:${TOKENS.alice}`, ...env };
  await podman(
    'run',
    '--detach',
    ...['--name', name],
    ...['--publish', `127.0.0.1:${port}:8443`],
    ...['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'],
    ...['--volume', `${repo.root}:/repo`],
    ...Object.entries(vars).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    IMAGE,
  );
  const scheme = env.TLS === 'off' ? 'http' : 'https';
  return { name, url: `${scheme}://127.0.0.1:${port}`, logs: () => podman('logs', name) };
}

async function removeContainer(container: Container | undefined): Promise<void> {
  if (container) await podman('rm', '--force', '--time', '0', container.name).catch(() => undefined);
}

/** Runs the image's HEALTHCHECK until it passes (the server needs a moment to start). */
async function becomesHealthy(container: Container): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const healthy = await podman('healthcheck', 'run', container.name).then(
      () => true,
      () => false,
    );
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(`the healthcheck never passed:\n${await container.logs()}`);
}

/** A repository the image's user can write, as the operator prepares the volume. */
async function ownedRepo(): Promise<TempRepo> {
  const repo = await createTempRepo();
  const chownTree = async (dir: string): Promise<void> => {
    await chown(dir, NODE_UID, NODE_UID);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await chownTree(path);
      else await chown(path, NODE_UID, NODE_UID);
    }
  };
  await chownTree(repo.root);
  return repo;
}

const mcpCall = (url: string, dispatcher: Agent | undefined, method: string, params: Record<string, unknown>) =>
  fetch(`${url}/mcp`, { ...mcpRequest(TOKENS.alice, method, params), dispatcher });

describe(`image ${IMAGE}`, { timeout: 180_000 }, () => {
  let repo: TempRepo;
  before(async () => {
    repo = await ownedRepo();
  });
  after(() => repo?.remove());

  it('serves HTTPS with its development certificate, passes its healthcheck, opens a change over MCP, and exits 0 on SIGTERM', async () => {
    let container: Container | undefined;
    try {
      container = await runContainer(repo, {});
      await becomesHealthy(container);
      assert.equal(await podman('inspect', '--format', '{{.Config.User}}', container.name), 'node');

      // Trust exactly the certificate the container made for itself.
      const ca = await podman('exec', container.name, 'cat', '/var/lib/task-mcp/dev-cert.pem');
      const dispatcher = new Agent({ connect: { ca } });
      const health = await fetch(`${container.url}/healthz`, { dispatcher });
      assert.equal(health.status, 200);
      assert.equal((await fetch(`${container.url}/readyz`, { dispatcher })).status, 200);

      const call = await mcpCall(container.url, dispatcher, 'tools/call', {
        name: 'change_open',
        arguments: { title: 'From the container', slug: 'from-the-container' },
      });
      const text = await call.text();
      assert.equal(call.status, 200, text);
      assert.doesNotMatch(text, /"isError":\s*true/, text);
      assert.match(text, /from-the-container/);
      assert.deepEqual(
        await readdir(join(repo.root, 'openspec', 'changes', 'from-the-container')).then((f) =>
          f.includes('proposal.md'),
        ),
        true,
        'the change was written into the mounted repository',
      );

      const started = Date.now();
      await podman('stop', '--time', '30', container.name);
      const stoppedMs = Date.now() - started;
      const [exitCode] = (await podman('inspect', '--format', '{{.State.ExitCode}}', container.name)).split('\n');
      const logs = await container.logs();
      console.log(`container: SIGTERM to exit in ${stoppedMs} ms, exit code ${exitCode}`);
      assert.equal(exitCode, '0', logs);
      assert.match(logs, /"msg":"draining"/);
      assert.match(logs, /"msg":"stopped"/);
    } finally {
      await removeContainer(container);
    }
  });

  it('passes its healthcheck with TLS=off (behind a TLS-terminating proxy)', async () => {
    let container: Container | undefined;
    try {
      container = await runContainer(repo, { TLS: 'off', NODE_ENV: 'production', TRUST_PROXY: '1' });
      await becomesHealthy(container);
      const res = await mcpCall(container.url, undefined, 'tools/list', {});
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"change_archive"/);
    } finally {
      await removeContainer(container);
    }
  });
});
