import type { RequestHandler } from 'express';
import { MemoryStore, rateLimit } from 'express-rate-limit';

/**
 * Dispute posting is limited per person (client or admin), not per address: the same counter
 * serves the JSON API (an express middleware) and the pages the panel embeds (which post through
 * the panel, so they count by calling `hit`).
 */
export interface DisputeLimiter {
  middleware: RequestHandler;
  /** counts one post; false when the person is over the limit */
  hit(key: string): Promise<boolean>;
}

export function createDisputeLimiter(opts: { windowMs: number; limit: number }): DisputeLimiter {
  const store = new MemoryStore();
  const middleware = rateLimit({
    windowMs: opts.windowMs,
    limit: opts.limit,
    store,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // the authenticated subject, set by the API's authentication before this runs
    keyGenerator: (_req, res) => String(res.locals.subjectKey ?? 'anonymous'),
    handler: (_req, res) => {
      res
        .status(429)
        .json({ error: { code: 'RATE_LIMITED', message: 'too many disputes were posted; try again later' } });
    },
  });
  return {
    middleware,
    async hit(key) {
      const r = await store.increment(key);
      return r.totalHits <= opts.limit;
    },
  };
}
