# A Rails ActionCable server from Debian packages alone (ruby-actioncable
# under puma, async adapter), for the integration tests. Prints
# "listening <port>" once it accepts on 127.0.0.1.
#
#   ruby actioncable_server.rb [--interval-ms N] [--stop-after-s S]
#
# - The cable is mounted at every path (ws://127.0.0.1:PORT/cable).
# - A connection with ?token=bad is rejected (reject_unauthorized_connection:
#   {"type":"disconnect","reason":"unauthorized","reconnect":false}).
# - PricesChannel streams "prices", broadcast every N ms (default 200) until
#   S seconds after start (default: never stop): the publisher that stops.
# - SecretChannel rejects every subscription.
$stdout.sync = true
require "logger"
require "optparse"
require "action_cable"
require "puma"
require "puma/server"

options = { interval_ms: 200, stop_after_s: nil }
OptionParser.new do |parser|
  parser.on("--interval-ms N", Integer) { |value| options[:interval_ms] = value }
  parser.on("--stop-after-s S", Float) { |value| options[:stop_after_s] = value }
end.parse!

module ApplicationCable
  class Connection < ActionCable::Connection::Base
    identified_by :token

    def connect
      self.token = request.params["token"]
      reject_unauthorized_connection if token == "bad"
    end
  end

  class Channel < ActionCable::Channel::Base; end
end

class PricesChannel < ApplicationCable::Channel
  def subscribed
    stream_from "prices"
  end
end

class SecretChannel < ApplicationCable::Channel
  def subscribed
    reject
  end
end

ActionCable.server.config.cable = { "adapter" => "async" }
ActionCable.server.config.connection_class = -> { ApplicationCable::Connection }
ActionCable.server.config.disable_request_forgery_protection = true
ActionCable.server.config.logger = Logger.new($stderr, level: Logger::INFO)

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
Thread.new do
  count = 0
  loop do
    sleep options[:interval_ms] / 1000.0
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    if options[:stop_after_s] && elapsed > options[:stop_after_s]
      puts "publisher stopped"
      break
    end
    count += 1
    ActionCable.server.broadcast("prices", { "n" => count })
  end
end

server = Puma::Server.new(ActionCable.server)
listener = server.add_tcp_listener("127.0.0.1", 0)
puts "listening #{listener.addr[1]}"
server.run.join
