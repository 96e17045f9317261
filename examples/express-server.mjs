import express from 'express';
import { Webhooks, createNodeMiddleware } from 'callhook';

const webhooks = new Webhooks();
webhooks.on('cdr.inbound.answered', (cdr) => {
  console.log(`${cdr.from} talked to ${cdr.agent} for ${cdr.answered_sec}s`);
});
webhooks.on('cdr.inbound.missed', (cdr) => console.log(`missed call from ${cdr.from}`));

const app = express();
app.use(createNodeMiddleware(webhooks, { path: '/webhook/cdr' }));
app.listen(process.env.PORT ?? 5000);
