// A STOMP publisher for wsprobe's integration tests: connects to a web-stomp
// URL as guest and SENDs "tick <n>" to a destination every period until it
// is stopped (SIGTERM).
// Usage: node stomp_publisher.js ws://127.0.0.1:PORT/ws /topic/ticks 200
// Prints "listening <port of the URL>" once CONNECTED (the line the tests'
// ServerProcess waits for).
'use strict';

const WebSocket = require('ws');

const [url, destination, period] = process.argv.slice(2);
const socket = new WebSocket(url, ['v12.stomp']);
let tick = 0;
socket.on('open', () =>
  socket.send('CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\nheart-beat:0,0\n\n\0'));
socket.on('message', (data) => {
  const text = String(data);
  if (text.startsWith('CONNECTED')) {
    console.log(`listening ${new URL(url).port}`);
    setInterval(() => {
      tick += 1;
      socket.send(`SEND\ndestination:${destination}\ncontent-type:text/plain\n\ntick ${tick}\0`);
    }, Number(period));
  } else if (text.startsWith('ERROR')) {
    console.log(`error ${JSON.stringify(text)}`);
  }
});
socket.on('close', (code) => {
  console.log(`closed ${code}`);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
