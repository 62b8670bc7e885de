import type { Queryable } from '@vt/message-store';
import type { FastifyPluginAsync } from 'fastify';
import { loadHomePage } from '../../aggregators/home-page/index.js';
import { html } from '../../web/html.js';

/** Until the catalogue exists, the book's sample video to record viewings of. */
export const SAMPLE_VIDEO_ID = '8a1f2c3d-4b5e-4f60-8a71-92b3c4d5e6f7';

/** The home application: the global count of videos watched, from View Data. */
export function createHomeApp({ viewData }: { viewData: Queryable }): FastifyPluginAsync {
  return async (app) => {
    app.get('/', async (request, reply) => {
      const { videosWatched } = await loadHomePage(viewData);
      return reply.page(
        'Home',
        html`<section class="card">
            <h1>Learn by watching</h1>
            <p class="muted">Short video tutorials. Every view counts.</p>
            <p><span class="stat" data-testid="videos-watched">${videosWatched}</span><br />videos watched so far</p>
          </section>
          <section class="card">
            <h2>Sample tutorial</h2>
            <p class="muted">Recording a viewing sends a <code>VideoViewed</code> event; the count above follows.</p>
            <form method="post" action="/record-viewing/${SAMPLE_VIDEO_ID}">
              <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
              <button type="submit">Record a viewing</button>
            </form>
          </section>`,
      );
    });
  };
}
