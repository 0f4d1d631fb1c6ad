// An echo upstream for a network namespace: run as `ip netns exec NS node netns-echo-server.ts
// NAME HOST:PORT`. Answers like testkit's startUpstream (JSON about the request, `x-upstream`).
import { createServer } from 'node:http';

const [name = 'netns', listen = '0.0.0.0:8080'] = process.argv.slice(2);
const [host, port] = [
  listen.slice(0, listen.lastIndexOf(':')),
  Number(listen.slice(listen.lastIndexOf(':') + 1)),
];
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url }));
  });
});
server.listen(port, host, () => process.stdout.write(`listening on ${listen}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
