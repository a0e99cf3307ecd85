// A default npm socket.io 4 server for the benchmark: nothing configured
// (Engine.IO pingInterval 25 s, pingTimeout 20 s, both transports), on
// 127.0.0.1 port 0. Prints its port on the first line of stdout. Started with
// --expose-gc, it collects garbage whenever its last client leaves.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer);
let open = 0;
io.on('connection', (socket) => {
  open += 1;
  socket.on('disconnect', () => {
    open -= 1;
    if (open === 0 && typeof global.gc === 'function') setImmediate(global.gc);
  });
});
httpServer.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => console.log(httpServer.address().port));
process.on('SIGTERM', () => process.exit(0));
