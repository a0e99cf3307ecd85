// A real SockJS (sockjs-node 0.3) server for the integration tests, under
// the prefix /echo: listens on 127.0.0.1 port 0 and prints "listening <port>".
// Options (all optional):
//   --heartbeat=MS                 the server's `h` frame period (default 25000)
//   --publish-every=MS             send "tick <n>" to every open connection every MS
//   --publish-for=MS               stop publishing MS after the server started;
//                                  SIGUSR1 stops it too
//   --close-with=CODE              close each session at once with CODE ("c[CODE,...]")
// Messages a client sends are echoed back. It reports on stdout:
// "open", "message <text>", "close", "stopped publishing".
"use strict";

const http = require("http");
const sockjs = require("sockjs");

const options = {};
for (const arg of process.argv.slice(2)) {
  const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
  if (!match) {
    console.error(`unknown argument ${arg}`);
    process.exit(2);
  }
  options[match[1]] = match[2] === undefined ? true : match[2];
}
const number = (name, fallback) => (options[name] === undefined ? fallback : Number(options[name]));

const connections = new Set();
const service = sockjs.createServer({
  prefix: "/echo",
  heartbeat_delay: number("heartbeat", 25000),
  log: () => {},
});
service.on("connection", (conn) => {
  console.log("open");
  if (options["close-with"]) {
    conn.close(number("close-with", 3000), "Go away!");
    return;
  }
  connections.add(conn);
  conn.on("data", (message) => {
    console.log(`message ${message}`);
    conn.write(message);
  });
  conn.on("close", () => {
    connections.delete(conn);
    console.log("close");
  });
});

let publisher = null;
function stopPublishing() {
  if (publisher === null) return;
  clearInterval(publisher);
  publisher = null;
  console.log("stopped publishing");
}
if (options["publish-every"]) {
  let sequence = 0;
  publisher = setInterval(() => {
    sequence += 1;
    for (const conn of connections) conn.write(`tick ${sequence}`);
  }, number("publish-every", 1000));
  if (options["publish-for"]) setTimeout(stopPublishing, number("publish-for", 0));
}
process.on("SIGUSR1", stopPublishing);
process.on("SIGTERM", () => process.exit(0));

const httpServer = http.createServer();
service.installHandlers(httpServer);
// sockjs-node answers an upgrade of its base URL with a plain 200 and leaves
// that socket without an error listener: a client that then resets the
// connection (libwebsockets does) would crash the whole server.
httpServer.on("connection", (socket) => socket.on("error", () => {}));
httpServer.listen(0, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
