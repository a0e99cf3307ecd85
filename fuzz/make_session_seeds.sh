#!/usr/bin/env bash
# Writes the committed seeds of fuzz/session_protocol_fuzzer.cpp into
# fuzz/corpus/session_protocol/: transcripts from each protocol's documents
# (the same ones as its unit tests). Arguments: see fuzz/session_seed.py.
set -euo pipefail
cd "$(dirname "$0")/corpus/session_protocol"
seed=../../session_seed.py

# Start bytes: 0x08 subscribe; bits 4-6 the URL (1 "/socket/websocket?vsn=2.0.0",
# 2 "...?vsn=1.0.0", 7 "/chathub"); 0x01 idle; 0x80 a 1 s heartbeat interval.
# Session variants (the fuzzer's kSessionVariants): 0 {}; 1 signalr invoke, mqtt 5 with
# keepalive 2, stomp login and heart_beat 1000,1000; 2 signalr invocations, socketio
# ack_event and subscribe_event, mqtt username; 3 phoenix params, socketio auth and
# namespace, mqtt 3.1.1, graphql-ws payload and variables.

$seed raw-messages raw 0x08 0 '1:t:hello' '5:b:\x00\x01\x02' '255:t:'

$seed phoenix-v2-join-data-heartbeat phoenix 0x18 3 \
  '1:t:["1","1","room:lobby","phx_reply",{"status":"ok","response":{}}]' \
  '2:t:["2","2","prices","phx_reply",{"status":"ok","response":{}}]' \
  '5:t:[null,null,"room:lobby","new_msg",{"body":"hi"}]' \
  '5:t:["1",null,"prices","tick",{"p":1.5}]' \
  '20:t:[null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]' \
  '5:b:\x02\x0a\x04room:lobbyblob\x01\x02' \
  '5:t:["1","1","room:lobby","phx_close",{}]'
$seed phoenix-v2-join-refused phoenix 0x18 0 \
  '1:t:["1","1","room:lobby","phx_reply",{"status":"error","response":{"reason":"unauthorized"}}]'
$seed phoenix-v1-join-heartbeat phoenix 0x28 0 \
  '1:t:{"topic":"room:lobby","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}' \
  '3:t:{"topic":"room:lobby","event":"new_msg","payload":{"body":"hi"},"ref":null}' \
  '200:t:{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"3"}'
$seed phoenix-idle-heartbeat phoenix 0x11 0 \
  '255:t:[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]' \
  '1:b:\x01\x00\x01\x07\x02\x31phoenixok'

$seed signalr-handshake-stream signalr 0x78 0 \
  '1:t:{}\x1e{"type":6}\x1e' \
  '2:t:{"type":2,"invocationId":"0","item":0}\x1e{"type":2,"invocationId":"1","item":{"p":1}}\x1e' \
  '2:t:{"type":2,"invocationId":"0","item":1}\x1e' \
  '150:t:{"type":6}\x1e' \
  '2:t:{"type":1,"invocationId":"7","target":"GetMessage","arguments":[]}\x1e' \
  '2:t:{"type":8,"sequenceId":3}\x1e{"type":3,"invocationId":"0","error":"Ran out of data!"}\x1e'
$seed signalr-invocations signalr 0x78 2 \
  '1:t:{}\x1e' \
  '2:t:{"type":1,"target":"prices","arguments":["ann","hi"]}\x1e' \
  '2:t:{"type":1,"target":"ROOM:LOBBY","arguments":[]}\x1e{"type":1,"target":"Other","arguments":[]}\x1e'
$seed signalr-invoke-rtt signalr 0xF8 1 \
  '1:t:{}\x1e' '10:t:{"type":3,"invocationId":"2","result":42}\x1e' \
  '10:t:{"type":3,"invocationId":"3","error":"It didn'"'"'t work!"}\x1e'
$seed signalr-handshake-error signalr 0x70 0 \
  '1:t:{"error":"Requested protocol '"'"'json'"'"' is not available."}\x1e'
$seed signalr-split-records-close signalr 0xF8 0 \
  '1:t:{' '1:b:}\x1e{"type":2,"invoc' '1:t:ationId":"0","item":1}\x1e' \
  '10:t:{"type":7,"error":"Connection closed because of an error!","allowReconnect":true}\x1e'
$seed signalr-idle-keepalive signalr 0x71 0 \
  '1:t:{}\x1e' '150:t:{"type":6}\x1e' '150:t:{"type":6}\x1e' '255:t:{"type":6}\x1e'

# Seeds for the other codecs, from their unit tests' transcripts (URL 3
# socket.io EIO=4, 4 EIO=3, 6 a SockJS websocket path).
$seed socketio-v4-connect-events-ping socketio 0x38 2 \
  '1:t:0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}' \
  '1:t:40{"sid":"wZX3oN0bSVIhsaknAAAI"}' '5:t:42["prices",{"p":1}]' '250:t:2' '5:t:430[]' '5:t:6' '5:t:41'
$seed socketio-v3-namespace socketio 0x48 3 \
  '1:t:0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":1000,"pingTimeout":500}' \
  '1:t:40/chat,' '10:t:2' '5:t:42/chat,["prices",1]'
$seed socketio-refused socketio 0x30 3 \
  '1:t:0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}' \
  '1:t:44{"message":"Not authorized","data":{"code":4403}}'
$seed sockjs-open-heartbeat-data-close sockjs 0x68 0 \
  '1:t:o' '250:t:h' '1:t:a["tick 1","tick 2",{"price":1}]' '1:t:m"single"' '1:t:c[2010,"Another connection still open"]'
$seed actioncable-welcome-confirm-broadcast actioncable 0x08 0 \
  '1:t:{"type":"welcome"}' \
  '1:t:{"identifier":"{\\"channel\\":\\"room:lobby\\"}","type":"confirm_subscription"}' \
  '30:t:{"type":"ping","message":1700000000}' \
  '1:t:{"identifier":"{\\"channel\\":\\"room:lobby\\"}","message":{"p":1}}' \
  '1:t:{"identifier":"{\\"channel\\":\\"prices\\"}","type":"reject_subscription"}' \
  '1:t:{"type":"disconnect","reason":"server_restart","reconnect":true}'
$seed actioncable-unauthorized actioncable 0x00 0 \
  '1:t:{"type":"disconnect","reason":"unauthorized","reconnect":false}'
$seed mqtt-311-connack-suback-publish-pingresp mqtt 0x08 3 \
  '1:b:\x20\x02\x00\x00' '1:b:\x90\x04\x00\x01\x00\x00' '5:b:\x30\x0a\x00\x06prices12' \
  '200:b:\xd0\x00' '5:b:\x32\x0c\x00\x06prices\x00\x07ab'
$seed mqtt-5-connack-properties mqtt 0x08 1 \
  '1:b:\x20\x03\x00\x00\x00' '1:b:\x90\x05\x00\x01\x00\x00\x00' '20:b:\xd0\x00' '1:b:\xe0\x00'
$seed mqtt-refused mqtt 0x00 0 '1:b:\x20\x02\x00\x05'

# graphql-ws: URL 5 (/graphql); subprotocol 1 "graphql-ws" (legacy), 2 "graphql-transport-ws".
$seed graphql-transport-ws-ack-ping-next graphql-ws 0x5C 3 \
  '1:t:{"type":"connection_ack","payload":{"server":"x"}}' '5:t:{"type":"ping","payload":{"seq":7}}' \
  '5:t:{"id":"1","type":"next","payload":{"data":{"ticks":1}}}' '200:t:{"type":"pong"}' \
  '5:t:{"id":"1","type":"error","payload":[{"message":"boom"}]}' '5:t:{"id":"2","type":"complete"}'
$seed graphql-ws-legacy-ack-ka-data graphql-ws 0x5A 0 \
  '1:t:{"type":"connection_ack"}' '1:t:{"type":"ka"}' '5:t:{"id":"1","type":"data","payload":{"data":{"ticks":1}}}' \
  '200:t:{"type":"ka"}' '5:t:{"id":"1","type":"complete"}'
$seed graphql-ws-refused graphql-ws 0x5C 0 '1:t:{"type":"connection_error","payload":{"message":"no"}}'
# stomp: subprotocol 1 "v12.stomp"; frames end with NUL.
$seed stomp-connected-message-heartbeat stomp 0x0A 1 \
  '1:t:CONNECTED\nversion:1.2\nheart-beat:1000,1000\nserver:RabbitMQ/3.10.8\n\n\x00' \
  '10:t:\n' '1:t:MESSAGE\nsubscription:sub-0\nmessage-id:1\ndestination:/topic/t\ncontent-type:text/plain\n\nhello\x00' \
  '1:t:\nMESSAGE\nsubscription:sub-1\nmessage-id:2\ncontent-length:3\n\na\x00b\x00\n' \
  '10:t:RECEIPT\nreceipt-id:1\n\n\x00' '1:t:ERROR\nmessage:bye\n\n\x00'
$seed stomp-refused stomp 0x02 1 '1:t:ERROR\nmessage:Bad CONNECT\n\nAccess refused for user guest\x00'
