/**
 * `receipt.json` in an archived change's folder: who archived what, when, and the commits and files since the change
 * was opened. Matches the contract's `Receipt`; lists are capped so a receipt stays small.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Receipt } from '../../generated/types.gen.js';
import { writeFileAtomic } from './atomic-write.js';
import type { Domain } from './domain.js';
import type { RangeSummary } from './git.js';
import { deltaCapabilities, type Intent } from './journal.js';
import { countDeltas, type DeltaTotals } from './markdown.js';

export const RECEIPT_FILE = 'receipt.json';

const MAX_COMMITS = 50;
const MAX_FILES = 200;

export interface ReceiptInput extends Omit<Intent, 'targets' | 'lock'> {
  archivedAs: string;
  /** The CLI's merge totals; recounted from the archived deltas when lost to a crash. */
  totals?: DeltaTotals;
}

/** The receipt of an archived change, or undefined when it has none (yet). */
export async function readReceipt(domain: Domain, archivedAs: string): Promise<Receipt | undefined> {
  const file = path.join(domain.layout.archived(archivedAs), RECEIPT_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as Receipt);
  } catch {
    return undefined; // written atomically, so unreadable means damaged by hand: it gets rewritten
  }
}

async function recount(folder: string, capabilities: string[]): Promise<DeltaTotals> {
  const totals: DeltaTotals = { added: 0, modified: 0, removed: 0, renamed: 0 };
  for (const capability of capabilities) {
    const text = await readFile(path.join(folder, 'specs', capability, 'spec.md'), 'utf8').catch(() => '');
    const counted = countDeltas(text);
    for (const key of Object.keys(totals) as (keyof DeltaTotals)[]) totals[key] += counted[key];
  }
  return totals;
}

/** The commits and files of base..head; empty when the base is unknown (history rewritten, hand-made change). */
async function rangeSince(domain: Domain, base: string, head: string): Promise<RangeSummary> {
  if (!(await domain.git.isCommit(base)))
    return { commits: [], commitsTruncated: false, files: [], filesTruncated: false };
  return domain.git.range(base, head, { commits: MAX_COMMITS, files: MAX_FILES });
}

/** Builds the receipt and writes it atomically into the archived folder. */
export async function writeReceipt(domain: Domain, input: ReceiptInput): Promise<Receipt> {
  const folder = domain.layout.archived(input.archivedAs);
  const capabilities = await deltaCapabilities(folder);
  const head = await domain.git.head();
  const range = await rangeSince(domain, input.base, head);
  const receipt: Receipt = {
    slug: input.slug,
    archivedAs: input.archivedAs,
    archivedAt: domain.clock().toISOString(),
    actor: input.actor,
    gitRange: { base: input.base, head },
    commits: range.commits,
    commitsTruncated: range.commitsTruncated,
    filesTouched: range.files,
    filesTruncated: range.filesTruncated,
    specsUpdated: { capabilities, ...(input.totals ?? (await recount(folder, capabilities))) },
    validation: input.validation,
    toolVersions: await domain.toolVersions(),
  };
  await writeFileAtomic(path.join(folder, RECEIPT_FILE), `${JSON.stringify(receipt, null, 2)}\n`);
  return receipt;
}
