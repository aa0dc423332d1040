/**
 * GET /media/:id?exp=&sig=: an archived media file (README, "Media archive"),
 * through the signed link herald put in a message (pipeline/mechanisms/media-links.ts).
 * A bad or expired signature is 403 before anything is looked up; a file that
 * is gone (retention, erasure) or never was is 404. The answer is the exact
 * bytes with their checked content type; `nosniff` and a sandboxing CSP keep a
 * browser from reading them as anything else. Only ids herald made (UUIDs)
 * are ever looked up: no path from the request reaches the file system, and
 * there is nothing to list.
 */
import type { Context } from 'koa';
import type { MediaLinks } from '../pipeline/mechanisms/media-links.js';
import { isMediaId, type MediaFiles } from '../store/media-files.js';
import type { Store } from '../store/store.js';

export interface MediaRouteDeps {
  store: Store;
  files: MediaFiles;
  links: MediaLinks;
  now?: () => number;
}

/** Types a browser may show in place; anything else is offered as a download. */
const INLINE = /^(image|video|audio)\//;

export function mediaRoute({ store, files, links, now = Date.now }: MediaRouteDeps) {
  return async function serveMedia(ctx: Context): Promise<void> {
    const id = (ctx.params as { id: string }).id;
    const check = links.check(id, ctx.query.exp, ctx.query.sig, now());
    if (check !== 'valid') {
      ctx.status = 403;
      ctx.body = { error: check === 'expired' ? 'this link has expired' : 'forbidden' };
      return;
    }
    const media = isMediaId(id) ? await store.getMedia(id) : undefined;
    const bytes = media && (await files.get(id));
    if (!media || !bytes) {
      ctx.status = 404;
      return;
    }
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.set('Cache-Control', 'private, no-store');
    ctx.set('Content-Disposition', `${INLINE.test(media.contentType) ? 'inline' : 'attachment'}; filename="${id}"`);
    ctx.type = media.contentType;
    ctx.body = bytes;
  };
}
