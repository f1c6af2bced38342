/**
 * A self-signed certificate for 127.0.0.1 and localhost, made once per test process, and an HTTPS client that
 * trusts it (and only it): TLS verification stays on in every test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { Agent, fetch as undiciFetch } from 'undici';

export interface TestCertificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
  /** `fetch` that trusts this certificate. */
  fetch: typeof globalThis.fetch;
}

let made: Promise<TestCertificate> | undefined;

export function testCertificate(): Promise<TestCertificate> {
  made ??= (async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'task-mcp-tls-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    writeFileSync(certPath, pems.cert);
    writeFileSync(keyPath, pems.private);
    const dispatcher = new Agent({ connect: { ca: pems.cert } });
    const fetch = ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;
    return { cert: pems.cert, key: pems.private, certPath, keyPath, fetch };
  })();
  return made;
}
