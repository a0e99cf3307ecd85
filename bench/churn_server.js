// The soak's peer (bench/soak.sh): a Node `ws` server on 127.0.0.1 that
// answers pings (ws does that itself) and, every second, ends a random
// `--churn` percent of its open connections, the way a fleet of real servers
// churns: half with a close frame (1000, 1001, 1011, 1012 or 4000), half
// without one (a FIN: 1006 at the client).
//
// It counts every connection end it sees, whoever caused it, so the sum of
// wsprobe_disconnects_total can be compared with it. GET /stats on the same
// port answers with the counts as JSON. SIGUSR1 stops the churn (the counts
// can then settle); SIGUSR2 starts it again.
//
// Usage: node churn_server.js [--port 0] [--churn 1]
// Prints its port on the first line of stdout.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? Number(process.argv[at + 1]) : fallback;
}
const churnPercent = option('churn', 1);
const port = option('port', 0);

const CLOSE_CODES = [1000, 1001, 1011, 1012, 4000];
const open = [];  // upgraded sockets not yet ended, for a uniform random pick
const stats = {
  upgrades: 0,
  open: 0,
  closes: 0,          // every end of an upgraded connection, whoever caused it
  churn_frames: 0,    // ends this server started with a close frame
  churn_drops: 0,     // ends this server started without one
  client_ended: 0,    // ends the client started (wsprobe never should here)
  churning: true,
};

const httpServer = http.createServer((request, response) => {
  if (request.url === '/stats') {
    stats.open = open.length;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(stats));
    return;
  }
  response.writeHead(404);
  response.end();
});
const server = new WebSocketServer({ server: httpServer, perMessageDeflate: false });

server.on('connection', (socket) => {
  stats.upgrades += 1;
  socket.index = open.length;
  open.push(socket);
  socket.churned = false;
  socket.on('error', () => {});
  socket.on('close', () => {
    // Swap-remove: O(1), and the index of the moved socket follows it.
    const last = open.pop();
    if (last !== socket) {
      open[socket.index] = last;
      last.index = socket.index;
    }
    stats.closes += 1;
    if (!socket.churned) stats.client_ended += 1;
  });
});

function churn() {
  if (!stats.churning) return;
  const count = Math.round((open.length * churnPercent) / 100);
  // Distinct picks: a socket is removed from `open` only when its close event
  // arrives, so remember this round's choices.
  const picked = new Set();
  for (let tries = 0; picked.size < count && tries < count * 4; tries += 1) {
    const socket = open[Math.floor(Math.random() * open.length)];
    if (!socket.churned) picked.add(socket);
  }
  for (const socket of picked) {
    socket.churned = true;
    if (Math.random() < 0.5) {
      stats.churn_frames += 1;
      socket.close(CLOSE_CODES[Math.floor(Math.random() * CLOSE_CODES.length)], 'churn');
    } else {
      stats.churn_drops += 1;
      socket.terminate();
    }
  }
}
setInterval(churn, 1000);

process.on('SIGUSR1', () => { stats.churning = false; });
process.on('SIGUSR2', () => { stats.churning = true; });
process.on('SIGTERM', () => process.exit(0));

httpServer.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => {
  console.log(httpServer.address().port);
});
