// The fault matrix's separate-process server (tests/e2e/fault_matrix_test.cpp): a Node `ws`
// echo server that a test can kill -9 and start again on the same port, or tell to restart
// all of its connections at once.
//
//   node fault_matrix_server.js --host ADDRESS [--port 0]
// Prints "listening <port>". GET /stats answers JSON: open connections, upgrades, and after
// a restart the close frames sent and the TCP accept times since (ms after the close frames;
// not those of the /stats requests themselves).
// SIGUSR1: a restart: every open connection gets a close frame 1012 at once, and the accept
// times of the reconnections are recorded from then on.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const stats = { open: 0, upgrades: 0, restart_closes: 0, accepts_after_restart_ms: [] };
let restartAt = null;  // process.hrtime.bigint() of the restart
const acceptedAfterRestart = new Map();  // socket -> its accept, ms after the restart (in accept order)

const httpServer = http.createServer((request, response) => {
  if (request.url === '/stats') {
    stats.open = wss.clients.size;
    acceptedAfterRestart.delete(request.socket);
    stats.accepts_after_restart_ms = [...acceptedAfterRestart.values()];
    const body = JSON.stringify(stats);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  response.writeHead(404);
  response.end();
});
httpServer.on('connection', (socket) => {
  if (restartAt !== null) {
    acceptedAfterRestart.set(socket, Number(process.hrtime.bigint() - restartAt) / 1e6);
  }
});
const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
wss.on('connection', (socket) => {
  stats.upgrades += 1;
  socket.on('error', () => {});
  socket.on('message', (data, binary) => socket.send(data, { binary }));
});

process.on('SIGUSR1', () => {
  restartAt = process.hrtime.bigint();
  acceptedAfterRestart.clear();
  for (const socket of wss.clients) {
    socket.close(1012, 'restarting');
    stats.restart_closes += 1;
  }
});
process.on('SIGTERM', () => process.exit(0));

httpServer.listen({ host: option('host', '127.0.0.1'), port: Number(option('port', 0)), backlog: 8192 }, () => {
  console.log(`listening ${httpServer.address().port}`);
});
