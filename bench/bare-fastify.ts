// The signalling scenario's REST baseline: a tiny fastify server with one GET route returning
// JSON, nothing else (no logger, hooks, auth or database), on the same Node as the server under
// test. Prints its base URL on stdout; stops on SIGTERM.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ ok: true, at: Date.now() }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
process.on('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
