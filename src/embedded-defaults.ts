/**
 * The embedded default: with nothing configured, `npm start` serves HTTPS on a self-signed certificate made on
 * first start, with a random token printed once, over a demo git repository — all under the git-ignored state
 * folder. Production refuses to start this way (see config/read.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Config } from './config/index.js';

export interface TlsCredentials {
  cert: string;
  key: string;
}

export interface Runtime {
  /** The configuration with tokens and the repository filled in. */
  config: Config & { repoRoot: string };
  /** Undefined when TLS is off. */
  tls: TlsCredentials | undefined;
  /** What a person should know about the defaults used, printed once to stderr. */
  notices: string[];
  /**
   * The variables that make another process (a cluster worker) use these very defaults, the same token,
   * repository and certificate, instead of making its own: empty when nothing was defaulted.
   */
  pinned: Record<string, string>;
}

/** Fills in what the configuration left unset. */
export async function withEmbeddedDefaults(config: Config): Promise<Runtime> {
  const notices: string[] = [];
  const pinned: Record<string, string> = {};
  const stateDir = resolve(config.stateDir);
  let { tokens, repoRoot } = config;
  if (tokens.length === 0) {
    tokens = [{ name: 'dev', token: randomBytes(24).toString('base64url') }];
    notices.push(`development token (TASK_MCP_TOKENS unset; a new one each start): ${tokens[0]!.token}`);
    pinned.TASK_MCP_TOKENS = `dev:${tokens[0]!.token}`;
  }
  if (!repoRoot) {
    repoRoot = await demoRepository(join(stateDir, 'demo-repo'));
    notices.push(`serving the demo repository ${repoRoot} (REPO_ROOT unset)`);
    pinned.REPO_ROOT = repoRoot;
  }
  const tls = await tlsCredentials(config, stateDir, notices, pinned);
  return { config: { ...config, tokens, repoRoot: resolve(repoRoot) }, tls, notices, pinned };
}

async function tlsCredentials(
  config: Config,
  stateDir: string,
  notices: string[],
  pinned: Record<string, string>,
): Promise<TlsCredentials | undefined> {
  switch (config.tls.mode) {
    case 'off':
      return undefined;
    case 'files':
      return { cert: await readFile(config.tls.certPath, 'utf8'), key: await readFile(config.tls.keyPath, 'utf8') };
    case 'dev': {
      const certPath = join(stateDir, 'dev-cert.pem');
      const keyPath = join(stateDir, 'dev-key.pem');
      if (!existsSync(certPath) || !existsSync(keyPath)) await writeDevCertificate(certPath, keyPath);
      notices.push(`self-signed development certificate ${certPath} (TLS_CERT unset)`);
      Object.assign(pinned, { TLS_CERT: certPath, TLS_KEY: keyPath });
      return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
    }
  }
}

async function writeDevCertificate(certPath: string, keyPath: string): Promise<void> {
  // Loaded only here: it brings an X.509 and ASN.1 stack that a configured server never needs.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await mkdir(join(certPath, '..'), { recursive: true });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await writeFile(certPath, pems.cert);
}

/** A git repository with one commit, created once; OpenSpec itself is initialized by the first change.open. */
async function demoRepository(dir: string): Promise<string> {
  if (existsSync(join(dir, '.git'))) return dir;
  await mkdir(dir, { recursive: true });
  const git = simpleGit(dir);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'task-mcp demo').addConfig('user.email', 'demo@task-mcp.invalid');
  await writeFile(join(dir, 'README.md'), '# Demo repository\n\nServed by task-mcp when REPO_ROOT is unset.\n');
  await git.add('README.md').commit('Initial commit');
  return dir;
}
