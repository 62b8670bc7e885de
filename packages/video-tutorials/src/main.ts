/**
 * The composition root: reads the configuration, opens the message store,
 * installs Message DB and serves the web application. For now a shell — the
 * applications, components and aggregators of Video Tutorials are wired here
 * as they are built.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Fastify from 'fastify';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  installedMessageDbVersion,
  installMessageDb,
  type Database,
} from '@vt/message-store';
import { ConfigError, describePostgresUrl, readConfig, type Config } from './config.js';

async function main() {
  const config = loadConfig();
  const messageStore = await openMessageStore(config);
  const installed = await installMessageDb(messageStore.db);

  const app = Fastify({ logger: true });
  app.log.info(
    { messageDb: installed.version, action: installed.action, storage: messageStore.description },
    'message store ready',
  );

  app.get('/', async (_request, reply) => {
    const version = await installedMessageDbVersion(messageStore.db);
    return reply.type('text/html; charset=utf-8').send(homePage({ version, storage: messageStore.description }));
  });

  app.get('/health', async (_request, reply) => {
    try {
      const version = await installedMessageDbVersion(messageStore.db);
      return { status: 'ok', messageStore: { kind: messageStore.db.kind, messageDbVersion: version } };
    } catch (error) {
      app.log.error(error, 'health check failed');
      return reply.code(503).send({ status: 'unavailable', messageStore: { kind: messageStore.db.kind } });
    }
  });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    try {
      await app.close();
      await messageStore.db.close();
      process.exit(0);
    } catch (error) {
      app.log.error(error, 'failed to stop cleanly');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  await app.listen({ port: config.port, host: '0.0.0.0' });
}

function loadConfig(): Config {
  try {
    return readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

async function openMessageStore(config: Config): Promise<{ db: Database; description: string }> {
  if (config.messageStoreConnectionString) {
    return {
      db: createPostgresDatabase({ connectionString: config.messageStoreConnectionString }),
      description: `PostgreSQL at ${describePostgresUrl(config.messageStoreConnectionString)}`,
    };
  }
  const dataDir = path.join(config.dataDirectory, 'message-store');
  await mkdir(dataDir, { recursive: true });
  return { db: await createPgliteDatabase({ dataDir }), description: `PGlite (embedded) in ${dataDir}` };
}

function homePage({ version, storage }: { version: string | null; storage: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Video Tutorials</title>
<style>
  :root { color-scheme: light dark; --accent: #d9480f; }
  body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif; background: Canvas; color: CanvasText; }
  header { background: var(--accent); color: #fff; padding: 1rem 2rem; }
  header h1 { margin: 0; font-size: 1.5rem; letter-spacing: .02em; }
  main { max-width: 40rem; margin: 2.5rem auto; padding: 0 1.5rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1.5rem; padding: 1rem 1.5rem;
       border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); border-radius: .5rem; }
  dt { font-weight: 600; }
  dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
</style>
</head>
<body>
<header><h1>Video Tutorials</h1></header>
<main>
  <p>The video learning site of <em>Practical Microservices</em> is being built. Its message store is up:</p>
  <dl>
    <dt>Message DB</dt><dd>${escapeHtml(version ?? 'not installed')}</dd>
    <dt>Storage</dt><dd>${escapeHtml(storage)}</dd>
  </dl>
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] ?? character,
  );
}

main().catch((error: unknown) => {
  console.error(`Start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
