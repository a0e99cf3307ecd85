// The benchmark's peer: a Node `ws` echo server on 127.0.0.1, port 0.
// Prints its port on the first line of stdout. Started with --expose-gc, it
// collects garbage whenever its last connection closes, so a client that
// follows another one in the same run does not pay for the first one's heap.
'use strict';
const { WebSocketServer } = require('ws');

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 4096, perMessageDeflate: false });
let open = 0;
server.on('listening', () => console.log(server.address().port));
server.on('connection', (socket) => {
  open += 1;
  socket.on('message', (data, binary) => socket.send(data, { binary }));
  socket.on('error', () => {});
  socket.on('close', () => {
    open -= 1;
    if (open === 0 && typeof global.gc === 'function') setImmediate(global.gc);
  });
});
process.on('SIGTERM', () => process.exit(0));
