// The soak's composition: hakmem's default tiers, or (--big-thread-cache) the same with the big
// tier's thread caches turned on — an opt-in of @hakmem/bigcache that a user composes like this.
import { BigTier, bigTier, DEFAULT_TIERS } from 'hakmem';

/** undefined for the default composition; otherwise tiers for createHeap and every attachHeap. */
export function soakTiers(bigThreadCache) {
  if (!bigThreadCache) return undefined;
  const cached = { ...bigTier, create: (arena, id) => new BigTier(arena, id, { threadCache: true }) };
  return DEFAULT_TIERS.map((t) => (t.tier === bigTier ? { ...t, tier: cached } : t));
}
