/**
 * The baseline: a bare Koa app, a process of its own (forked by the bench),
 * that reads the body of a POST as herald does (raw-body, same limit) and
 * answers 200 with the same reply. What herald adds on top of it (verifying,
 * parsing, validating, normalizing, storing durably) is what the bench measures.
 */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import getRawBody from 'raw-body';

const app = new Koa();
app.use(async (ctx) => {
  await getRawBody(ctx.req, { limit: 256 * 1024, length: ctx.get('content-length') || undefined });
  ctx.status = 200;
  ctx.body = { status: 'accepted' };
});

const server = app.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
