// A real socket.io 4 server for the integration tests: listens on 127.0.0.1
// port 0 and prints "listening <port>". Options (all optional):
//   --ping-interval=MS --ping-timeout=MS   Engine.IO keepalive (default 25000/20000)
//   --allow-eio3                           also accept Engine.IO v3 clients
//   --namespace=/NS                        the namespace the options below apply to (default /)
//   --token=SECRET                         refuse a CONNECT whose auth.token (v3: query token)
//                                          is not SECRET (CONNECT_ERROR "Not authorized")
//   --ack-event=NAME                       acknowledge every NAME event at once
//   --subscribe-event=NAME                 NAME "<room>" joins the room; the publisher then
//                                          emits to the rooms (to everyone otherwise)
//   --publish-every=MS --publish-event=NAME   emit NAME (default "tick") every MS
//   --publish-for=MS                       stop publishing MS after the server started;
//                                          SIGUSR1 stops it too
// It reports on stdout: "connect <id>", "disconnect <reason>", "refused", "stopped publishing".
"use strict";

const http = require("http");
const { Server } = require("socket.io");

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

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: number("ping-interval", 25000),
  pingTimeout: number("ping-timeout", 20000),
  allowEIO3: Boolean(options["allow-eio3"]),
  transports: ["websocket", "polling"],
});
const namespace = io.of(options.namespace || "/");
const rooms = new Set();

if (options.token !== undefined) {
  namespace.use((socket, next) => {
    const token = socket.handshake.auth.token ?? socket.handshake.query.token;
    if (token === options.token) return next();
    console.log("refused");
    next(new Error("Not authorized"));
  });
}

namespace.on("connection", (socket) => {
  console.log(`connect ${socket.id}`);
  socket.on("disconnect", (reason) => console.log(`disconnect ${reason}`));
  if (options["ack-event"]) {
    socket.on(options["ack-event"], (...args) => {
      const ack = args[args.length - 1];
      if (typeof ack === "function") ack("pong");
    });
  }
  if (options["subscribe-event"]) {
    socket.on(options["subscribe-event"], (room) => {
      rooms.add(String(room));
      socket.join(String(room));
    });
  }
});

let publisher = null;
function stopPublishing() {
  if (publisher === null) return;
  clearInterval(publisher);
  publisher = null;
  console.log("stopped publishing");
}
if (options["publish-every"]) {
  const event = options["publish-event"] || "tick";
  let sequence = 0;
  publisher = setInterval(() => {
    sequence += 1;
    if (options["subscribe-event"]) {
      for (const room of rooms) namespace.to(room).emit(event, { room, sequence });
    } else {
      namespace.emit(event, { sequence });
    }
  }, number("publish-every", 1000));
  if (options["publish-for"]) setTimeout(stopPublishing, number("publish-for", 0));
}
process.on("SIGUSR1", stopPublishing);
process.on("SIGTERM", () => process.exit(0));

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
