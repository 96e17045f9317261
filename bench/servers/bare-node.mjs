// The ceiling: node:http that reads the body and answers, storing nothing.
import { createServer } from 'node:http';

createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => res.end('got it'));
}).listen(Number(process.env.PORT ?? 5000), '127.0.0.1');
