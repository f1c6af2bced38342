/**
 * An OAuth token's caller, everywhere a static token's name is used: the lock owner and its sub-owners, the
 * actor of events, the rate-limit key, the stream caps' key and the request's log line. The caller is the verified
 * subject with its issuer's label (`<subject>~<label>`): two issuers' equal subjects are two callers, a subject
 * the Owner pattern cannot hold is escaped, and a client-credentials token's caller is its client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoToken } from './helpers/oauth-assert.js';
import {
  authorizationCodeToken,
  clientCredentialsToken,
  registerConfidentialClient,
  registerPublicClient,
} from './helpers/oauth-client.js';
import { startOidc, type OidcServer } from './helpers/oidc.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const PUBLIC_URL = 'https://task-mcp.test';
const RESOURCES = [PUBLIC_URL, `${PUBLIC_URL}/mcp`, `${PUBLIC_URL}/sse`];

describe('the caller of an OAuth token', () => {
  let first: OidcServer;
  let second: OidcServer;
  let s: TestServer;
  const issued: string[] = [];

  const userToken = async (as: OidcServer, subject: string): Promise<string> => {
    const client = await registerPublicClient(as.issuer);
    const token = await authorizationCodeToken(as.issuer, client, { resource: PUBLIC_URL, subject });
    issued.push(token);
    return token;
  };
  const call = (token: string, tool: string, args: Record<string, unknown>) =>
    s.fetch(`${s.url}/v1/tools/${tool}/invoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(args),
    });
  const owner = async (res: Response): Promise<string> => {
    const body = (await res.json()) as { lock?: { owner: string }; code?: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.lock!.owner;
  };
  const feed = (token: string) => s.fetch(`${s.url}/v1/events`, { headers: { Authorization: `Bearer ${token}` } });

  before(async () => {
    first = await startOidc({ resources: RESOURCES });
    second = await startOidc({ resources: RESOURCES });
    s = await startServer({
      env: {
        PUBLIC_URL,
        OAUTH_ISSUER: `corp=${first.issuer},partner=${second.issuer}`,
        MAX_STREAMS_PER_CLIENT: '1',
        RATE_LIMIT_BURST: '6/1h',
      },
    });
  });
  after(async () => {
    await s.stop();
    await first.stop();
    await second.stop();
  });

  it('is the subject with its issuer: one subject of two issuers is two callers, neither a static token', async () => {
    const corp = await userToken(first, 'alice');
    const partner = await userToken(second, 'alice');
    assert.equal(await owner(await call(corp, 'change.open', { title: 'Corp', slug: 'two-issuers' })), 'alice~corp');
    const taken = await call(partner, 'change.open', { title: 'Partner', slug: 'two-issuers' });
    assert.equal(taken.status, 409);
    assert.equal(((await taken.json()) as { code: string }).code, 'ELOCKED');
    const foreign = await call(partner, 'change.archive', { slug: 'two-issuers', owner: 'alice~corp' });
    assert.equal(((await foreign.json()) as { code: string }).code, 'EFOREIGN_OWNER');
    // The static token named alice is a third caller.
    const byStatic = await call(TOKENS.alice, 'change.open', { title: 'Static', slug: 'two-issuers', owner: 'alice' });
    assert.equal(((await byStatic.json()) as { code: string }).code, 'ELOCKED');
  });

  it('holds a subject outside the Owner pattern, escaped, with sub-owners of its own', async () => {
    const token = await userToken(first, 'auth0|64f1c2ab');
    const opened = await call(token, 'change.open', { title: 'Escaped', slug: 'escaped-subject' });
    assert.equal(await owner(opened), 'auth0_7c64f1c2ab~corp');
    const agent = await call(token, 'change.open', {
      title: 'By an agent',
      slug: 'escaped-agent',
      owner: 'auth0_7c64f1c2ab~corp/agent-1',
    });
    assert.equal(await owner(agent), 'auth0_7c64f1c2ab~corp/agent-1');
    const email = await userToken(second, 'bob@example.com');
    assert.equal(
      await owner(await call(email, 'change.open', { title: 'Mail', slug: 'email-subject' })),
      'bob@example.com~partner',
    );
  });

  it('is the client for a client-credentials token', async () => {
    const service = await registerConfidentialClient(first.issuer);
    const token = await clientCredentialsToken(first.issuer, service, { resource: PUBLIC_URL, scope: 'changes:write' });
    issued.push(token);
    const expected = `${service.client_id.replaceAll('_', '__')}~corp`;
    assert.equal(await owner(await call(token, 'change.open', { title: 'Service', slug: 'by-a-service' })), expected);
  });

  it('is the actor of the events its calls cause', async () => {
    const token = await userToken(second, 'ivan');
    const stream = await feed(token);
    assert.equal(stream.status, 200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal(await owner(await call(token, 'change.open', { title: 'Evented', slug: 'evented' })), 'ivan~partner');
    let text = '';
    while (!text.includes('"slug":"evented"')) text += (await reader.read()).value ?? '';
    assert.match(text, /"type":"change\.opened","slug":"evented","actor":"ivan~partner"/);
    await reader.cancel();
  });

  it('keys the rate limits: a caller spends its own budget, not another subject or issuer', async () => {
    const grace = await userToken(first, 'grace');
    const graceElsewhere = await userToken(second, 'grace');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await s.fetch(`${s.url}/v1/session`, withToken(grace, 'DELETE'))).status);
    assert.deepEqual(statuses, [204, 204, 204, 204, 204, 204, 429]);
    assert.equal((await s.fetch(`${s.url}/v1/session`, withToken(graceElsewhere, 'DELETE'))).status, 204);
  });

  it('keys the stream caps: a caller holds its own streams', async () => {
    const heidi = await userToken(first, 'heidi');
    const heidiElsewhere = await userToken(second, 'heidi');
    const held = await feed(heidi);
    assert.equal(held.status, 200);
    const another = await feed(heidi);
    assert.equal(another.status, 429);
    assert.equal(((await another.json()) as { details: { budget: string } }).details.budget, 'streams');
    const other = await feed(heidiElsewhere);
    assert.equal(other.status, 200);
    await held.body!.cancel();
    await other.body!.cancel();
  });

  it("logs the caller on the request's line, and never a token", async () => {
    const line = await s.waitForLog((record) => record.caller === 'heidi~partner');
    assert.equal(line.transport, 'events');
    assert.ok(issued.length >= 9);
    assertNoToken(s.rawLogs(), ...issued);
  });
});

function withToken(token: string, method: string): RequestInit {
  return { method, headers: { Authorization: `Bearer ${token}` } };
}
