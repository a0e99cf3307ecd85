// WebSocket endpoints for the fleet end-to-end test (tests/e2e/fleet_locations_test.py):
// one `ws` server per argument NAME[:BEHAVIOUR], each on 0.0.0.0 and a port of
// its own (so that a network namespace reaches them through its veth, and
// nftables can drop the traffic to one of them). Behaviours:
//   healthy (default)  answers pings (ws does), echoes messages;
//   drops              ends every connection 1.5 s after the upgrade without a
//                      close frame: the client sees 1006.
// Prints "listening NAME PORT" for each, then "ready".
"use strict";
const { WebSocketServer } = require("ws");

const specs = process.argv.slice(2);
let pending = specs.length;
for (const spec of specs) {
  const [name, behaviour = "healthy"] = spec.split(":");
  const server = new WebSocketServer({ host: "0.0.0.0", port: 0 });
  server.on("connection", (socket) => {
    socket.on("message", (data, binary) => socket.send(data, { binary }));
    if (behaviour === "drops") setTimeout(() => socket._socket.destroy(), 1500);
  });
  server.on("listening", () => {
    console.log(`listening ${name} ${server.address().port}`);
    if (--pending === 0) console.log("ready");
  });
}
process.on("SIGTERM", () => process.exit(0));
