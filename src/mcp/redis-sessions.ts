/**
 * HTTP+SSE sessions across the instances on one `REDIS_URL`. A session lives in the memory of the instance that
 * holds its stream, and, while the stream lives, in a registry in Redis: the key `task-mcp:sse:session:<SHA-256 of
 * its id>` names that instance and the session's owner, with a lifetime the instance renews for each of its
 * streams (every `RENEW_MS`, and at once when Redis is back) and deletes when a stream ends. The ids stay secret
 * and unguessable (144 random bits; Redis sees only their hashes) and bound to their caller: a session someone
 * else opened is not found, here or anywhere.
 *
 * A message posted on an instance that does not hold its session is checked there as a local one is, then relayed
 * on the holder's own channel of the instance bus; the holder hands it to the session and answers `delivered` or
 * `ENOSESSION` (the stream ended meanwhile), so the poster gets the same 202 or 404 as on the holder. An instance
 * that died no longer hears its channel: Redis tells the relay nobody heard it, the session is 404 ENOSESSION
 * everywhere at once and its key is deleted. When where a session lives cannot be known (Redis away, the holder
 * not answering within `ANSWER_MS`), the post is 503 EUNAVAILABLE; a session this instance holds works regardless.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { TaskError } from '../errors.js';
import { connectRedis } from '../redis-connection.js';
import { instanceChannel, type BusMessage, type PubSub } from '../redis-pubsub.js';
import { createMemorySessionDirectory, noSession, type SessionDirectory, type SessionHandle } from './sessions.js';

/** How long a registry entry lives without being renewed, and how often its instance renews it. */
const ENTRY_MS = 60_000;
const RENEW_MS = 20_000;
/** How long a relay waits for the holder's answer. */
const ANSWER_MS = 2000;
const PREFIX = 'task-mcp:sse:session:';

export interface RedisSessionsDeps {
  url: string;
  /** The instance bus: its id names this instance in the registry, its channels carry the relays. */
  bus: Pick<PubSub, 'instanceId' | 'publish' | 'subscribe'>;
  logger: Logger;
}

export interface RedisSessionDirectory extends SessionDirectory {
  /** Stops renewing and relaying; call once the streams have ended. */
  close(): void;
}

interface Entry {
  instance: string;
  owner: string;
}

/** A relay to the holder, and the holder's answer to it. */
type Relay = { relay: string; from: string; session: string; owner: string; message: JSONRPCMessage };
type Answer = { answer: string; outcome: 'delivered' | 'ENOSESSION' };

const unavailable = (why: string): TaskError =>
  new TaskError('EUNAVAILABLE', `The SSE session cannot be reached now: ${why}.`, {
    hint: 'Retry shortly; a session that keeps failing so is best opened again with GET /sse.',
  });

const keyOf = (id: string): string => PREFIX + createHash('sha256').update(id).digest('base64url');

/** A registry entry; undefined for a value that is not one (nothing of ours wrote it). */
function entryOf(value: string): Entry | undefined {
  try {
    const { instance, owner } = JSON.parse(value) as Partial<Entry>;
    return typeof instance === 'string' && typeof owner === 'string' ? { instance, owner } : undefined;
  } catch {
    return undefined;
  }
}

export function createRedisSessionDirectory({ url, bus, logger }: RedisSessionsDeps): RedisSessionDirectory {
  const here = createMemorySessionDirectory();
  const me = bus.instanceId;
  const redis = connectRedis(url, logger, {
    name: 'SSE session registry',
    whenUp: 'HTTP+SSE sessions are reached from every instance',
    whenDown: 'a message reaches only the sessions of the instance it is posted to',
  });
  const entry = (owner: string): string => JSON.stringify({ instance: me, owner } satisfies Entry);

  const renew = (): void => {
    const sessions = [...here.local()];
    if (sessions.length === 0) return;
    const batch = redis.client.pipeline();
    for (const { id, owner } of sessions) batch.set(keyOf(id), entry(owner), 'PX', ENTRY_MS);
    void redis.attempt(() => batch.exec());
  };
  const timer = setInterval(renew, RENEW_MS);
  timer.unref();
  redis.client.on('ready', renew);

  const answers = new Map<string, (outcome: Answer['outcome']) => void>();
  const stopHearing = bus.subscribe(instanceChannel(me), (message) => {
    if (typeof message.answer === 'string') return answers.get(message.answer)?.((message as Answer).outcome);
    serveRelay(message).catch((err: unknown) => {
      logger.warn({ err: (err as Error).message }, 'SSE session registry: a relayed message was not delivered');
    });
  });

  /** Hands a relayed message to the session here, and answers the instance it came from. */
  async function serveRelay(message: BusMessage): Promise<void> {
    const { relay, from, session, owner } = message as Relay;
    if (typeof relay !== 'string' || typeof from !== 'string') return;
    const found = await here.find(String(session), String(owner));
    await found?.deliver((message as Relay).message);
    const answer: Answer = { answer: relay, outcome: found ? 'delivered' : 'ENOSESSION' };
    await bus.publish(instanceChannel(from), answer).catch((err: unknown) => redis.failed(err));
  }

  /** Sends `message` to session `id` on instance `holder` and waits for its answer. */
  async function relay(holder: string, id: string, owner: string, message: JSONRPCMessage): Promise<void> {
    const ask: Relay = { relay: randomUUID(), from: me, session: id, owner, message };
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Answer['outcome'] | 'late'>((resolve) => {
      answers.set(ask.relay, resolve);
      timer = setTimeout(() => resolve('late'), ANSWER_MS);
    });
    try {
      const heard = await bus.publish(instanceChannel(holder), ask).catch(() => {
        throw unavailable('the instance bus does not answer');
      });
      if (heard === 0) {
        // Its instance is gone: nobody will ever answer for this session.
        void redis.attempt(() => redis.client.del(keyOf(id)));
        throw noSession();
      }
      const outcome = await answered;
      if (outcome === 'late') throw unavailable('the instance holding it did not answer in time');
      if (outcome === 'ENOSESSION') throw noSession();
    } finally {
      clearTimeout(timer);
      answers.delete(ask.relay);
    }
  }

  /** Where session `id` lives, from the registry; undefined when it is in none. */
  async function lookUp(id: string): Promise<Entry | undefined> {
    const found = await redis.attempt(() => redis.client.get(keyOf(id)));
    if (found === undefined) throw unavailable('the session registry does not answer');
    return found === null ? undefined : entryOf(found);
  }

  return {
    open(session) {
      const forget = here.open(session);
      void redis.attempt(() => redis.client.set(keyOf(session.id), entry(session.owner), 'PX', ENTRY_MS));
      return () => {
        forget();
        void redis.attempt(() => redis.client.del(keyOf(session.id)));
      };
    },
    async find(id, owner): Promise<SessionHandle | undefined> {
      const local = await here.find(id, owner);
      if (local) return local;
      const found = await lookUp(id);
      // An entry naming this instance is stale: a session held here was found above.
      if (!found || found.owner !== owner || found.instance === me) return undefined;
      return { deliver: (message) => relay(found.instance, id, owner, message) };
    },
    local: () => here.local(),
    close() {
      clearInterval(timer);
      stopHearing();
      redis.close();
    },
  };
}
