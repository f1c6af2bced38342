/**
 * Lock owners and the callers they belong to. An owner is the calling actor itself or a sub-owner in its namespace
 * (`alice/agent-2` for the actor `alice`); the form is the contract's `Owner` schema. Which owner a call may name is
 * decided here, in the domain, so every tool on every transport applies one rule: a caller never takes, renews,
 * releases or archives under another caller's lock.
 */
import { OwnerSchema } from '../../generated/schemas.gen.js';
import { TaskError } from '../errors.js';

const OWNER = new RegExp(OwnerSchema.pattern, 'u');
const SEPARATOR = '/';

/** Whether `name` can be an actor (a token's name): an owner without a sub-owner part. */
export const isActorName = (name: string): boolean => OWNER.test(name) && !name.includes(SEPARATOR);

/**
 * The owner a call by `actor` acts as: `requested`, or the actor itself when none is named.
 * Throws EBADINPUT for a malformed owner and EFOREIGN_OWNER for one outside the actor's namespace.
 */
export function ownerFor(requested: string | undefined, actor: string): string {
  const owner = requested ?? actor;
  if (typeof owner !== 'string' || !OWNER.test(owner)) {
    throw new TaskError('EBADINPUT', 'The owner must be a name, or name/sub-name, of letters, digits or . _ @ -.', {
      details: { field: 'owner' },
    });
  }
  if (owner !== actor && !owner.startsWith(`${actor}${SEPARATOR}`)) {
    throw new TaskError('EFOREIGN_OWNER', `The owner "${owner}" is not "${actor}" or one of its sub-owners.`, {
      hint: `Leave owner out to act as "${actor}", or name a sub-owner such as "${actor}${SEPARATOR}agent-1".`,
      details: { owner, actor },
    });
  }
  return owner;
}
