// GraphQL over WebSocket servers for wsprobe's integration tests, unmodified
// libraries on one HTTP server on 127.0.0.1, port 0:
//   /graphql  graphql-ws 6 `useServer` (subprotocol graphql-transport-ws)
//   /legacy   subscriptions-transport-ws 0.11 (subprotocol graphql-ws); also
//             at /subscriptions, the path its README uses
// Schema (graphql 16): `subscription { ticks }` publishes a counter every
// --publish-ms to every subscriber while the publisher runs.
//
// Options:
//   --init-timeout MS   graphql-ws connectionInitWaitTimeout (library default 3000)
//   --keepalive MS      graphql-ws ping-frame period (library default 12000) and
//                       the legacy server's `ka` period
//   --publish-ms MS     publisher period (default 200)
//   --token T           onConnect refuses a connection_init payload whose
//                       `token` is not T (graphql-ws closes 4403, the legacy
//                       server answers connection_error)
//   --server-ping MS    /graphql also sends a graphql-ws {"type":"ping"} every MS
//
// HTTP: GET /publisher/stop and /publisher/start. Output lines: "listening
// <port>", "opened <path>", "closed <path> <code>", "pong" (a pong that
// answered --server-ping).
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { SubscriptionServer } = require('subscriptions-transport-ws');
const graphql = require('graphql');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const initTimeout = Number(option('--init-timeout', '3000'));
const keepAlive = Number(option('--keepalive', '12000'));
const publishMs = Number(option('--publish-ms', '200'));
const token = option('--token', null);
const serverPing = Number(option('--server-ping', '0'));

// The publisher: one counter, pushed to every live subscription.
let publishing = true;
let tick = 0;
const listeners = new Set();
setInterval(() => {
  if (!publishing) return;
  tick += 1;
  for (const listener of listeners) listener(tick);
}, publishMs);

function ticks() {
  const queue = [];
  let wake = null;
  let done = false;
  const listener = (value) => {
    queue.push(value);
    if (wake) wake();
  };
  listeners.add(listener);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      while (!done && queue.length === 0) await new Promise((resolve) => (wake = resolve));
      wake = null;
      if (done) return { value: undefined, done: true };
      return { value: queue.shift(), done: false };
    },
    async return() {
      done = true;
      listeners.delete(listener);
      if (wake) wake();
      return { value: undefined, done: true };
    },
  };
}

const schema = new graphql.GraphQLSchema({
  query: new graphql.GraphQLObjectType({
    name: 'Query',
    fields: { hello: { type: graphql.GraphQLString, resolve: () => 'world' } },
  }),
  subscription: new graphql.GraphQLObjectType({
    name: 'Subscription',
    fields: { ticks: { type: graphql.GraphQLInt, subscribe: ticks, resolve: (value) => value } },
  }),
});

function tokenAccepted(params) {
  return token === null || (params && params.token === token);
}

function report(path, socket) {
  console.log(`opened ${path}`);
  socket.on('close', (code) => console.log(`closed ${path} ${code}`));
}

// graphql-ws: its own subprotocol choice (useServer sets handleProtocols).
const modern = new WebSocketServer({ noServer: true });
useServer(
  {
    schema,
    connectionInitWaitTimeout: initTimeout,
    onConnect: (ctx) => tokenAccepted(ctx.connectionParams),
  },
  modern,
  keepAlive,
);
modern.on('connection', (socket) => {
  report('/graphql', socket);
  if (serverPing > 0) {
    const timer = setInterval(() => socket.send('{"type":"ping"}'), serverPing);
    socket.on('close', () => clearInterval(timer));
    socket.on('message', (data) => {
      if (String(data).includes('"pong"')) console.log('pong');
    });
  }
});

// subscriptions-transport-ws as its README sets it up: ws picks the first
// subprotocol the client offers, and the library closes with 1002 unless it
// is `graphql-ws`.
const legacy = new WebSocketServer({ noServer: true });
SubscriptionServer.create(
  {
    schema,
    execute: graphql.execute,
    subscribe: graphql.subscribe,
    keepAlive,
    onConnect: (params) => {
      if (!tokenAccepted(params)) throw new Error('bad token');
      return true;
    },
  },
  legacy,
);
legacy.on('connection', (socket) => report('/legacy', socket));

const server = http.createServer((request, response) => {
  if (request.url === '/publisher/stop' || request.url === '/publisher/start') {
    publishing = request.url === '/publisher/start';
    console.log(`publisher ${publishing ? 'started' : 'stopped'}`);
    response.end('ok\n');
    return;
  }
  response.statusCode = 404;
  response.end();
});
server.on('upgrade', (request, socket, head) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  const target =
    path === '/graphql' ? modern : path === '/legacy' || path === '/subscriptions' ? legacy : null;
  if (!target) {
    socket.destroy();
    return;
  }
  target.handleUpgrade(request, socket, head, (ws) => target.emit('connection', ws, request));
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
