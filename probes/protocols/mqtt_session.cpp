#include "probes/protocols/mqtt_session.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>

namespace wsprobe {

namespace {

// Control packet types (3.1.1 section 2.2.1, MQTT 5 section 2.1.2).
enum PacketType : std::uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,
};

constexpr int kVersion311 = 4;
constexpr int kVersion5 = 5;
constexpr int kDefaultKeepaliveSeconds = 60;
// The largest packet other than a PUBLISH held while it arrives in pieces.
// Real CONNACKs, SUBACKs and DISCONNECTs are tens of bytes; MQTT 5 reason
// strings and user properties could make them longer, not this long.
constexpr std::uint32_t kMaxHeldPacketBytes = 16 * 1024;
// A remaining length is at most four bytes of varint (268,435,455).
constexpr int kMaxLengthBytes = 4;

// A `session` value of the expected type, or nullptr (absent or not valid:
// config checked it, but a codec never trusts a shape it did not check).
const nlohmann::json* sessionValue(const nlohmann::json& session, const char* key) {
  if (!session.is_object()) return nullptr;
  const auto found = session.find(key);
  return found == session.end() ? nullptr : &*found;
}

std::string stringSetting(const nlohmann::json& session, const char* key) {
  const auto* value = sessionValue(session, key);
  return value && value->is_string() ? value->get<std::string>() : std::string();
}

bool hasString(const nlohmann::json& session, const char* key) {
  const auto* value = sessionValue(session, key);
  return value && value->is_string();
}

std::int64_t integerSetting(const nlohmann::json& session, const char* key, std::int64_t fallback) {
  const auto* value = sessionValue(session, key);
  return value && value->is_number_integer() ? value->get<std::int64_t>() : fallback;
}

bool boolSetting(const nlohmann::json& session, const char* key, bool fallback) {
  const auto* value = sessionValue(session, key);
  return value && value->is_boolean() ? value->get<bool>() : fallback;
}

void appendByte(std::string& out, unsigned value) { out.push_back(static_cast<char>(value & 0xFFu)); }

void appendU16(std::string& out, unsigned value) {
  appendByte(out, value >> 8);
  appendByte(out, value);
}

void appendVarint(std::string& out, std::uint32_t value) {
  do {
    unsigned byte = value % 128;
    value /= 128;
    if (value > 0) byte |= 0x80u;
    appendByte(out, byte);
  } while (value > 0);
}

// A UTF-8 string or binary data: two bytes of length, then the bytes
// (config keeps them under 65,536 bytes; longer ones are cut there).
void appendField(std::string& out, std::string_view text) {
  const auto size = std::min<std::size_t>(text.size(), 0xFFFF);
  appendU16(out, static_cast<unsigned>(size));
  out.append(text.substr(0, size));
}

std::string packet(unsigned first_byte, std::string_view body) {
  std::string out;
  out.reserve(body.size() + 5);
  appendByte(out, first_byte);
  appendVarint(out, static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

std::uint8_t byteAt(std::string_view bytes, std::size_t index) {
  return static_cast<std::uint8_t>(bytes[index]);
}

// Six hex digits drawn once per process, so that two wsprobe processes
// (two hosts of a fleet) do not hand out the same client ids.
const std::string& processTag() {
  static const std::string tag = [] {
    std::random_device device;
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "%06x", static_cast<unsigned>(device() & 0xFFFFFFu));
    return std::string(text.data());
  }();
  return tag;
}

std::string nextClientId(const nlohmann::json& session) {
  static std::atomic<std::uint64_t> counter{0};
  const auto number = std::to_string(counter.fetch_add(1, std::memory_order_relaxed) + 1);
  if (hasString(session, "client_id")) return stringSetting(session, "client_id") + "-" + number;
  return "wsprobe-" + processTag() + "-" + number;
}

// Names of CONNACK return codes (3.1.1 table 3.1) and of MQTT 5 reason codes
// (MQTT 5 section 2.4), for log details.
struct CodeName {
  unsigned code;
  std::string_view name;
};
constexpr CodeName kCodes311[] = {
    {0, "accepted"},           {1, "unacceptable protocol version"}, {2, "identifier rejected"},
    {3, "server unavailable"}, {4, "bad user name or password"},     {5, "not authorised"},
    {0x80, "failure"},
};
constexpr CodeName kReasons5[] = {
    {0x00, "success"},
    {0x04, "disconnect with will message"},
    {0x80, "unspecified error"},
    {0x81, "malformed packet"},
    {0x82, "protocol error"},
    {0x83, "implementation specific error"},
    {0x84, "unsupported protocol version"},
    {0x85, "client identifier not valid"},
    {0x86, "bad user name or password"},
    {0x87, "not authorized"},
    {0x88, "server unavailable"},
    {0x89, "server busy"},
    {0x8A, "banned"},
    {0x8B, "server shutting down"},
    {0x8C, "bad authentication method"},
    {0x8D, "keep alive timeout"},
    {0x8E, "session taken over"},
    {0x8F, "topic filter invalid"},
    {0x91, "packet identifier in use"},
    {0x93, "receive maximum exceeded"},
    {0x95, "packet too large"},
    {0x97, "quota exceeded"},
    {0x9C, "use another server"},
    {0x9D, "server moved"},
    {0x9E, "shared subscriptions not supported"},
    {0x9F, "connection rate exceeded"},
    {0xA0, "maximum connect time"},
    {0xA1, "subscription identifiers not supported"},
    {0xA2, "wildcard subscriptions not supported"},
};

std::string_view reasonName(int version, unsigned code) {
  const std::span<const CodeName> names =
      version == kVersion311 ? std::span<const CodeName>(kCodes311) : std::span<const CodeName>(kReasons5);
  for (const auto& entry : names) {
    if (entry.code == code) return entry.name;
  }
  return "unknown code";
}

// What wsprobe reads from an MQTT 5 properties block.
struct Properties {
  std::optional<unsigned> server_keep_alive;  // seconds (CONNACK)
  std::string_view reason;                    // Reason String
};

// Reads a variable byte integer at `at`; false when it is cut or too long.
bool readVarint(std::string_view bytes, std::size_t& at, std::uint32_t& value) {
  value = 0;
  for (int i = 0; i < kMaxLengthBytes; ++i) {
    if (at >= bytes.size()) return false;
    const auto byte = byteAt(bytes, at++);
    value |= static_cast<std::uint32_t>(byte & 0x7Fu) << (7 * i);
    if ((byte & 0x80u) == 0) return true;
  }
  return false;
}

// The type of each MQTT 5 property, by identifier (MQTT 5 section 2.2.2.2).
enum class PropertyType : std::uint8_t {
  unknown,
  one_byte,
  two_bytes,
  four_bytes,
  varint,
  field,
  field_pair
};
constexpr auto kPropertyTypes = [] {
  std::array<PropertyType, 0x2B> types{};
  for (const unsigned id : {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
    types[id] = PropertyType::one_byte;
  for (const unsigned id : {0x13, 0x21, 0x22, 0x23}) types[id] = PropertyType::two_bytes;
  for (const unsigned id : {0x02, 0x11, 0x18, 0x27}) types[id] = PropertyType::four_bytes;
  types[0x0B] = PropertyType::varint;
  for (const unsigned id : {0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F})
    types[id] = PropertyType::field;
  types[0x26] = PropertyType::field_pair;  // user property
  return types;
}();
constexpr unsigned kServerKeepAlive = 0x13;
constexpr unsigned kReasonString = 0x1F;

// Walks the properties block at `at` and leaves `at` after it; false when it
// is malformed.
bool readProperties(std::string_view bytes, std::size_t& at, Properties& out) {
  std::uint32_t length = 0;
  if (!readVarint(bytes, at, length) || length > bytes.size() - at) return false;
  const std::string_view block = bytes.substr(0, at + length);
  // Reads `size` bytes as a big-endian number.
  const auto number = [&](std::size_t size, std::uint32_t& value) {
    if (block.size() - at < size) return false;
    value = 0;
    for (std::size_t i = 0; i < size; ++i) value = value * 256 + byteAt(block, at + i);
    at += size;
    return true;
  };
  // A UTF-8 string or binary data: two bytes of length, then the bytes.
  const auto field = [&](std::string_view& text) {
    std::uint32_t size = 0;
    if (!number(2, size) || block.size() - at < size) return false;
    text = block.substr(at, size);
    at += size;
    return true;
  };
  while (at < block.size()) {
    const unsigned identifier = byteAt(block, at++);
    const auto type = identifier < kPropertyTypes.size() ? kPropertyTypes[identifier] : PropertyType::unknown;
    std::uint32_t value = 0;
    std::string_view text;
    bool ok = false;
    switch (type) {
      case PropertyType::one_byte: ok = number(1, value); break;
      case PropertyType::two_bytes: ok = number(2, value); break;
      case PropertyType::four_bytes: ok = number(4, value); break;
      case PropertyType::varint: ok = readVarint(block, at, value); break;
      case PropertyType::field: ok = field(text); break;
      case PropertyType::field_pair: ok = field(text) && field(text); break;
      case PropertyType::unknown: return false;
    }
    if (!ok) return false;
    if (identifier == kServerKeepAlive) out.server_keep_alive = value;
    if (identifier == kReasonString) out.reason = text;
  }
  return true;
}

class MqttSession final : public SessionProtocol {
 public:
  explicit MqttSession(const SessionSettings& settings) : settings_(settings) {}

  void start(const SessionStart& start, TimePoint now, SessionSink& sink) override {
    const auto& session = settings_.session;
    version_ = integerSetting(session, "version", kVersion311) == kVersion5 ? kVersion5 : kVersion311;
    keepalive_seconds_ = static_cast<std::uint16_t>(
        std::clamp<std::int64_t>(integerSetting(session, "keepalive", kDefaultKeepaliveSeconds), 0, 0xFFFF));
    idle_ = start.idle;

    const bool has_password = hasString(session, "password");
    // 3.1.1 allows a password only after a user name (section 3.1.2.9): an
    // empty user name goes with a password configured alone.
    const bool has_username = hasString(session, "username") || (has_password && version_ == kVersion311);
    unsigned flags = 0;
    if (boolSetting(session, "clean", true)) flags |= 0x02u;
    if (has_password) flags |= 0x40u;
    if (has_username) flags |= 0x80u;

    std::string body;
    appendField(body, "MQTT");
    appendByte(body, static_cast<unsigned>(version_));
    appendByte(body, flags);
    appendU16(body, keepalive_seconds_);
    if (version_ == kVersion5) appendVarint(body, 0);  // no properties
    appendField(body, nextClientId(session));
    if (has_username) appendField(body, stringSetting(session, "username"));
    if (has_password) appendField(body, stringSetting(session, "password"));
    send(sink, now, packet(kConnect << 4, body));
  }

  void receive(MessageKind, std::string_view payload, TimePoint now, SessionSink& sink) override {
    while (!payload.empty() && state_ != State::finished) consume(payload, now, sink);
  }

  void tick(TimePoint now, SessionSink& sink) override {
    if (state_ != State::ready) return;
    const std::chrono::seconds keepalive(keepalive_seconds_);
    if (ping_in_flight_ && keepalive_seconds_ > 0 && now >= ping_sent_ + keepalive) {
      fail(sink, "protocol_error",
           "no PINGRESP within the keepalive of " + std::to_string(keepalive_seconds_) + " s");
      return;
    }
    bool ping_due = false;
    if (heartbeats() && now >= next_heartbeat_) {
      ping_due = true;
      next_heartbeat_ += settings_.heartbeat_interval;
      if (next_heartbeat_ <= now) next_heartbeat_ = now + settings_.heartbeat_interval;
    }
    if (keepalive_seconds_ > 0 && now >= last_sent_ + keepalive) ping_due = true;
    // A heartbeat that falls while a PINGREQ is in flight is skipped: replies
    // carry no identifier, so only one may be outstanding to be timed.
    if (ping_due && !ping_in_flight_) {
      send(sink, now, packet(kPingreq << 4, ""));
      ping_in_flight_ = true;
      ping_sent_ = now;
    }
  }

  std::optional<TimePoint> nextWake() const override {
    if (state_ != State::ready) return std::nullopt;
    std::optional<TimePoint> wake;
    if (keepalive_seconds_ > 0) {
      // In flight: its answer is due one keepalive after it left (and no
      // keepalive PINGREQ falls earlier, since last_sent_ >= ping_sent_).
      wake = (ping_in_flight_ ? ping_sent_ : last_sent_) + std::chrono::seconds(keepalive_seconds_);
    }
    if (heartbeats() && (!wake || next_heartbeat_ < *wake)) wake = next_heartbeat_;
    return wake;
  }

 private:
  enum class State : std::uint8_t { connecting, ready, finished };
  // Where the parser stands in the current packet.
  enum class Phase : std::uint8_t { type, length, body };

  bool heartbeats() const { return !idle_ && settings_.heartbeat_interval > Duration::zero(); }

  void send(SessionSink& sink, TimePoint now, const std::string& bytes) {
    sink.send(MessageKind::binary, bytes);
    last_sent_ = now;
  }

  // A packet broke the standard, or the server stopped answering: before
  // ready the session is refused, after it ended as a broken protocol.
  void fail(SessionSink& sink, std::string_view status, const std::string& detail) {
    if (state_ == State::connecting) {
      sink.sessionRefused(status, detail);
    } else {
      sink.sessionEnded(1002, detail);
    }
    finish();
  }

  void finish() {
    state_ = State::finished;
    std::string().swap(held_);
  }

  // Reads what it can of the current packet from the front of `input` and
  // removes what it read.
  void consume(std::string_view& input, TimePoint now, SessionSink& sink) {
    switch (phase_) {
      case Phase::type:
        first_byte_ = byteAt(input, 0);
        input.remove_prefix(1);
        remaining_ = 0;
        length_bytes_ = 0;
        phase_ = Phase::length;
        return;
      case Phase::length: {
        const auto byte = byteAt(input, 0);
        input.remove_prefix(1);
        remaining_ |= static_cast<std::uint32_t>(byte & 0x7Fu) << (7 * length_bytes_);
        ++length_bytes_;
        if ((byte & 0x80u) == 0) {
          beginBody(now, sink);
        } else if (length_bytes_ == kMaxLengthBytes) {
          fail(sink, "protocol_error", "remaining length longer than four bytes");
        }
        return;
      }
      case Phase::body:
        if (type() == kPublish) {
          readPublish(input, now, sink);
        } else {
          readHeld(input, now, sink);
        }
        return;
    }
  }

  unsigned type() const { return first_byte_ >> 4; }
  unsigned qos() const { return (first_byte_ >> 1) & 0x03u; }

  void beginBody(TimePoint now, SessionSink& sink) {
    phase_ = Phase::body;
    body_left_ = remaining_;
    body_seen_ = 0;
    if (type() == kPublish) {
      if (qos() == 3) return fail(sink, "protocol_error", "PUBLISH with QoS 3");
      topic_length_ = 0;
      packet_id_ = 0;
      if (body_left_ == 0) endPublish(now, sink);
      return;
    }
    if (remaining_ > kMaxHeldPacketBytes) {
      return fail(sink, "protocol_error",
                  "packet of type " + std::to_string(type()) + " with " + std::to_string(remaining_) +
                      " bytes, over the " + std::to_string(kMaxHeldPacketBytes) + " held");
    }
    if (body_left_ == 0) endHeld({}, now, sink);
  }

  // A PUBLISH body: only its topic length (bytes 0-1) and, with QoS 1 or 2,
  // the packet identifier after the topic are read; the rest is skipped.
  void readPublish(std::string_view& input, TimePoint now, SessionSink& sink) {
    while (!input.empty() && body_left_ > 0) {
      const std::uint32_t at = body_seen_;
      const std::uint32_t id_at = 2u + topic_length_;
      std::uint32_t take = 1;
      if (at < 2) {
        topic_length_ = static_cast<std::uint16_t>((topic_length_ << 8) | byteAt(input, 0));
      } else if (qos() > 0 && at >= id_at && at < id_at + 2) {
        packet_id_ = static_cast<std::uint16_t>((packet_id_ << 8) | byteAt(input, 0));
      } else {
        std::uint32_t until = body_left_;
        if (qos() > 0 && at < id_at) until = id_at - at;
        take = static_cast<std::uint32_t>(std::min<std::size_t>(until, input.size()));
      }
      input.remove_prefix(take);
      body_seen_ += take;
      body_left_ -= take;
    }
    if (body_left_ == 0) endPublish(now, sink);
  }

  void endPublish(TimePoint now, SessionSink& sink) {
    phase_ = Phase::type;
    const std::uint32_t needed = 2u + topic_length_ + (qos() > 0 ? 2u : 0u);
    if (remaining_ < needed) return fail(sink, "protocol_error", "PUBLISH shorter than its topic");
    if (state_ != State::ready) return fail(sink, "protocol_error", "PUBLISH before CONNACK");
    if (qos() == 1) acknowledge(kPuback << 4, now, sink);
    if (qos() == 2) acknowledge(kPubrec << 4, now, sink);
    sink.dataMessage();
  }

  void acknowledge(unsigned first_byte, TimePoint now, SessionSink& sink) {
    std::string body;
    appendU16(body, packet_id_);
    send(sink, now, packet(first_byte, body));
  }

  // Any other packet: handled whole. Held only while it is split across
  // messages; one that arrives whole is read where it lies.
  void readHeld(std::string_view& input, TimePoint now, SessionSink& sink) {
    const auto take = static_cast<std::uint32_t>(std::min<std::size_t>(body_left_, input.size()));
    if (held_.empty() && take == body_left_) {
      const auto body = input.substr(0, take);
      input.remove_prefix(take);
      body_left_ = 0;
      endHeld(body, now, sink);
      return;
    }
    held_.append(input.substr(0, take));
    input.remove_prefix(take);
    body_left_ -= take;
    if (body_left_ > 0) return;
    std::string body;
    body.swap(held_);  // held_ is empty (no heap) from here on
    endHeld(body, now, sink);
  }

  void endHeld(std::string_view body, TimePoint now, SessionSink& sink) {
    phase_ = Phase::type;
    const auto packet_type = type();
    if (state_ == State::connecting && packet_type != kConnack && packet_type != kDisconnect) {
      return fail(sink, "protocol_error",
                  "packet of type " + std::to_string(packet_type) + " before CONNACK");
    }
    switch (packet_type) {
      case kConnack: return connack(body, now, sink);
      case kSuback: return suback(body, sink);
      case kPingresp:
        if (ping_in_flight_) {
          ping_in_flight_ = false;
          sink.appRoundTrip(now - ping_sent_);
        }
        return;
      case kPubrel:
        if (body.size() < 2) return fail(sink, "protocol_error", "PUBREL without a packet identifier");
        packet_id_ = static_cast<std::uint16_t>(byteAt(body, 0) * 256u + byteAt(body, 1));
        return acknowledge((kPubcomp << 4), now, sink);
      case kDisconnect: return disconnect(body, sink);
      case kPuback:
      case kPubrec:
      case kPubcomp:
      case kUnsuback: return;  // answers to what wsprobe never sends: nothing to do
      default:
        return fail(sink, "protocol_error",
                    "packet of type " + std::to_string(packet_type) + " from the server");
    }
  }

  void connack(std::string_view body, TimePoint now, SessionSink& sink) {
    if (state_ != State::connecting) return fail(sink, "protocol_error", "a second CONNACK");
    if (body.size() < 2) return fail(sink, "protocol_error", "CONNACK shorter than 2 bytes");
    const unsigned code = byteAt(body, 1);
    Properties properties;
    std::size_t at = 2;
    // A 3.1.1 broker answers an MQTT 5 CONNECT with a 3.1.1 CONNACK (code 1,
    // no properties): read what is there.
    if (version_ == kVersion5 && body.size() > 2 && !readProperties(body, at, properties)) {
      return fail(sink, "protocol_error", "CONNACK properties malformed");
    }
    if (code != 0) {
      std::string detail =
          "CONNACK " + std::to_string(code) + " (" + std::string(reasonName(version_, code)) + ")";
      if (!properties.reason.empty()) detail += ": " + std::string(properties.reason);
      sink.sessionRefused("connack_" + std::to_string(code), detail);
      return finish();
    }
    if (properties.server_keep_alive)
      keepalive_seconds_ = static_cast<std::uint16_t>(*properties.server_keep_alive);
    state_ = State::ready;
    next_heartbeat_ = now + settings_.heartbeat_interval;
    sink.sessionReady();
    if (!idle_) subscribe(now, sink);
  }

  void subscribe(TimePoint now, SessionSink& sink) {
    std::string body;
    appendU16(body, kSubscribePacketId);
    if (version_ == kVersion5) appendVarint(body, 0);  // no properties
    bool any = false;
    for (const auto& filter : settings_.subscribe) {
      if (filter.empty()) continue;  // an empty filter is a protocol violation
      appendField(body, filter);
      appendByte(body, 0);  // QoS 0 (MQTT 5: and default subscription options)
      any = true;
    }
    if (any) send(sink, now, packet((kSubscribe << 4) | 0x02u, body));
  }

  void suback(std::string_view body, SessionSink& sink) {
    if (body.size() < 2) return fail(sink, "protocol_error", "SUBACK without a packet identifier");
    std::size_t at = 2;
    Properties properties;
    if (version_ == kVersion5 && !readProperties(body, at, properties)) {
      return fail(sink, "protocol_error", "SUBACK properties malformed");
    }
    std::size_t index = 0;
    for (const auto& filter : settings_.subscribe) {
      if (filter.empty()) continue;
      if (at + index >= body.size()) break;
      const unsigned code = byteAt(body, at + index);
      ++index;
      if (code < 0x80) continue;
      std::string detail = "SUBACK refused topic filter '" + filter + "': " + std::to_string(code) + " (" +
                           std::string(reasonName(version_, code)) + ")";
      if (!properties.reason.empty()) detail += ": " + std::string(properties.reason);
      sink.sessionEnded(1000, detail);
      return finish();
    }
  }

  void disconnect(std::string_view body, SessionSink& sink) {
    const unsigned code = body.empty() ? 0 : byteAt(body, 0);
    Properties properties;
    std::size_t at = 1;
    if (body.size() > 1) readProperties(body, at, properties);  // only for the detail
    std::string detail =
        "server DISCONNECT " + std::to_string(code) + " (" + std::string(reasonName(kVersion5, code)) + ")";
    if (!properties.reason.empty()) detail += ": " + std::string(properties.reason);
    if (state_ == State::connecting) {
      sink.sessionRefused("disconnect_" + std::to_string(code), detail);
    } else {
      sink.sessionEnded(1000, detail);
    }
    finish();
  }

  static constexpr unsigned kSubscribePacketId = 1;

  const SessionSettings& settings_;
  TimePoint last_sent_{};       // when the last packet went out: the keepalive counts from it
  TimePoint next_heartbeat_{};  // heartbeat connections: when the next PINGREQ is due
  TimePoint ping_sent_{};       // when the PINGREQ in flight left (while ping_in_flight_)
  // The body of a packet other than PUBLISH while it is split across
  // messages; empty, with no heap storage, otherwise.
  std::string held_;
  std::uint32_t remaining_ = 0;  // the current packet's remaining length (while being read: so far)
  std::uint32_t body_left_ = 0;  // bytes of the current packet's body still to come
  std::uint32_t body_seen_ = 0;  // bytes of the current PUBLISH's body read or skipped
  std::uint16_t keepalive_seconds_ = kDefaultKeepaliveSeconds;  // 0: no keepalive
  std::uint16_t topic_length_ = 0;                              // the current PUBLISH's
  std::uint16_t packet_id_ = 0;                                 // the current PUBLISH's or PUBREL's
  std::uint8_t first_byte_ = 0;                                 // the current packet's type and flags
  std::uint8_t length_bytes_ = 0;                               // bytes of its remaining length read so far
  std::uint8_t version_ = kVersion311;
  Phase phase_ = Phase::type;
  State state_ = State::connecting;
  bool idle_ = false;
  bool ping_in_flight_ = false;
};

static_assert(sizeof(MqttSession) <= 112, "one codec per held connection: keep it small");

std::string checkMqttSessionValue(std::string_view key, const nlohmann::json& value) {
  const auto integerIn = [&](std::int64_t low, std::int64_t high) {
    return value.is_number_integer() && value.get<std::int64_t>() >= low && value.get<std::int64_t>() <= high;
  };
  if (key == "version") return integerIn(4, 5) ? "" : "must be 4 (MQTT 3.1.1) or 5 (MQTT 5)";
  if (key == "keepalive") return integerIn(0, 0xFFFF) ? "" : "must be whole seconds from 0 to 65535";
  if (key == "clean") return value.is_boolean() ? "" : "must be true or false";
  if (key == "client_id") {
    return value.is_string() && !value.get<std::string>().empty() && value.get<std::string>().size() <= 100
               ? ""
               : "must be a string of 1 to 100 bytes (each connection appends -<n>)";
  }
  if (key == "username" || key == "password") {
    return value.is_string() && value.get<std::string>().size() <= 0xFFFF ? ""
                                                                          : "must be a string under 64 KiB";
  }
  return "is not a key of mqtt";
}

constexpr std::array<std::string_view, 6> kSessionKeys = {"version",  "client_id", "username",
                                                          "password", "keepalive", "clean"};
constexpr std::array<std::string_view, 1> kSubprotocols = {"mqtt"};

}  // namespace

const ProtocolEntry& mqttProtocol() {
  static const ProtocolEntry entry{
      .name = "mqtt",
      .session_keys = kSessionKeys,
      .subprotocols = kSubprotocols,
      .takes_subscribe = true,
      .check_session_value = checkMqttSessionValue,
      .make = makeCodec<MqttSession>,
  };
  return entry;
}

}  // namespace wsprobe
