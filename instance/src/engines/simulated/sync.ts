/** The simulated engine's side of the sync after login: the network's group records in the engine's shape. */
import type { ResultMap } from '@wacloud/simnet/protocol';
import type { EngineGroup } from '../engine-sync.js';

/** Maps a `groups` result (or one pushed group) to {@link EngineGroup}s. */
export function readGroups(result: ResultMap['groups']): EngineGroup[] {
  return result.groups.map((g) => ({
    id: g.id,
    subject: g.subject,
    description: g.description,
    owner: g.owner,
    createdAt: g.createdAt,
    participants: g.participants.map((p) => ({ id: p.id, isAdmin: p.isAdmin, isSuperAdmin: p.isSuperAdmin })),
  }));
}
