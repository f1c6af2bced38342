/**
 * change.open: create (or resume) a change and take its lock.
 */
import path from 'node:path';
import { RESOURCE_URIS } from '../../generated/resources.gen.js';
import { ChangeOpenInputSchema, TemplateSchema } from '../../generated/schemas.gen.js';
import { TaskError } from '../errors.js';
import type { Domain } from './domain.js';
import { ensureInitialized } from './init.js';
import { assertSlug } from './layout.js';
import { acquireChangeLock, LOCK_FILE, newLock } from './lock.js';
import { reportingContention } from './probe.js';
import { ownerFor } from './owner.js';
import { completeChange, createChange, type ScaffoldInput, type Template } from './scaffold.js';
import { archivedName, isOpen } from './state.js';
import type { CallContext, ChangeOpenInput, ChangeOpenResult, Lock } from './types.js';

const DEFAULT_TTL = ChangeOpenInputSchema.properties.ttl.default;
const DEFAULT_TEMPLATE = TemplateSchema.default;

interface OpenRequest {
  slug: string;
  title: string;
  rationale: string | undefined;
  owner: string;
  ttl: number;
  template: Template;
}

/**
 * The request with its defaults. The domain checks only what it builds paths from (the slug) and the owner rule;
 * the rest of the input was checked against the contract's `ChangeOpenInput` by the tool pipeline.
 */
function parseInput(input: ChangeOpenInput, ctx: CallContext): OpenRequest {
  assertSlug(input.slug);
  const { title, rationale, ttl = DEFAULT_TTL, template = DEFAULT_TEMPLATE } = input;
  return { slug: input.slug, title: title.trim(), rationale, owner: ownerFor(input.owner, ctx.actor), ttl, template };
}

async function assertNotArchived(domain: Domain, slug: string): Promise<void> {
  const archivedAs = await archivedName(domain.layout, slug);
  if (archivedAs) {
    throw new TaskError('EARCHIVED', `The change "${slug}" is already archived as ${archivedAs}.`, {
      hint: 'Open a change under a new slug; read the archived one through its receipt.',
      details: { slug, archivedAs },
    });
  }
}

const scaffoldInput = (domain: Domain, req: OpenRequest, base: string): ScaffoldInput => ({
  title: req.title,
  rationale: req.rationale,
  template: req.template,
  base,
  now: domain.clock(),
});

/** Resumes an existing change: fills missing scaffold files, then takes or renews the lock. */
async function resume(domain: Domain, req: OpenRequest, now: Date): Promise<Lock> {
  const { layout } = domain;
  try {
    await completeChange(layout, req.slug, async () => scaffoldInput(domain, req, await domain.git.head()));
    const file = path.join(layout.change(req.slug), LOCK_FILE);
    return await reportingContention(domain.probe, 'change', acquireChangeLock(file, req.owner, req.ttl, now));
  } catch (err) {
    // The folder vanished under us: archived meanwhile (or removed by hand).
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await assertNotArchived(domain, req.slug);
    throw new TaskError('ENOCHANGE', `The change "${req.slug}" disappeared while it was being opened.`, {
      details: { slug: req.slug },
    });
  }
}

/** change.open. */
export async function openChange(domain: Domain, input: ChangeOpenInput, ctx: CallContext): Promise<ChangeOpenResult> {
  const req = parseInput(input, ctx);
  await domain.git.assertWorkTree();
  // A new change needs HEAD as its base: read it before anything is written (a repo without commits fails here).
  const base = (await isOpen(domain.layout, req.slug)) ? undefined : await domain.git.head();
  if (await ensureInitialized(domain)) ctx.progress?.('init', 1, 3);
  await assertNotArchived(domain, req.slug);
  const now = domain.clock();
  const fresh = newLock(req.owner, req.ttl, now);
  const created =
    base !== undefined && (await createChange(domain.layout, req.slug, scaffoldInput(domain, req, base), fresh.text));
  ctx.progress?.('scaffold', 2, 3);
  const lock = created ? fresh.lock : await resume(domain, req, now);
  ctx.progress?.('lock', 3, 3);
  const type = created ? 'change.opened' : 'change.resumed';
  domain.events.emit({ type, slug: req.slug, actor: ctx.actor, at: now.toISOString() });
  return result(domain, req.slug, created, lock);
}

async function result(domain: Domain, slug: string, created: boolean, lock: Lock): Promise<ChangeOpenResult> {
  const folder = domain.layout.rel(domain.layout.change(slug));
  return {
    apiVersion: 'task-mcp/v1',
    slug,
    status: 'open',
    created,
    locked: true,
    lock,
    paths: {
      change: folder,
      proposal: `${folder}/proposal.md`,
      tasks: `${folder}/tasks.md`,
      specs: `${folder}/specs`,
    },
    resourceUris: {
      proposal: RESOURCE_URIS['change-proposal']({ slug }),
      tasks: RESOURCE_URIS['change-tasks']({ slug }),
      // Where the change's delta URIs start, without the slash before their path.
      delta: RESOURCE_URIS['change-delta']({ slug, path: '' }).replace(/\/$/, ''),
    },
    toolVersions: await domain.toolVersions(),
  };
}
