// The bench's reference client: what a careful client costs and measures on
// this machine, against which wsprobe is judged (SPEC "Performance targets").
// libc only, one thread, epoll. It opens N WebSocket connections (RFC 6455
// client handshake, Sec-WebSocket-Accept checked), spread round-robin over
// one or more echo servers, and sends masked ping frames with the pings
// spread evenly over the interval: connection i pings at offset i/N of it.
// RTT runs from CLOCK_MONOTONIC just after write() of the ping returns to just
// after the read() that brought the pong. CPU from getrusage, RSS from
// /proc/self/status, both over the steady window only. Bounded in count and
// time: it opens at most N connections and ends after ramp + settle + window.
//
//   wsprobe_bench_reference --url ws://127.0.0.1:PORT/ [--url ...] --connections 10000 --window 20
//
// The last line of output is a machine-readable summary for bench/run.sh:
//   RESULT connections=... rtt_mean_us=... rtt_p50_us=... rtt_p99_us=... ...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxTargets = 16, kBufferSize = 256, kMaxInFlight = 256, kMaxBurst = 64 };

// RTT buckets: 1 us up to 100 ms, then 1 ms up to 60 s (the last one: at least that).
enum { kFineBuckets = 100000, kHistogramBuckets = kFineBuckets + 60000 };

enum ConnectionState { kUnused, kConnecting, kHandshake, kOpen, kDead };

struct Target {
  struct sockaddr_in address;
  char host_header[64];
  char path[128];
};

struct Connection {
  int fd;
  uint8_t state;
  uint8_t target;
  uint16_t have;              // bytes in buffer
  uint32_t ping_sequence;     // of the ping awaiting its pong; 0: none
  int64_t ping_sent_ns;
  char accept[29];            // the Sec-WebSocket-Accept the server must answer
  unsigned char buffer[kBufferSize];
};

struct Totals {
  uint64_t pongs;             // answered pings recorded in the window
  uint64_t pings_sent;        // in the window
  uint64_t unanswered;        // a ping was due while the previous one still waited
  uint64_t connect_failures;
  uint64_t handshake_failures;
  uint64_t lost;              // open connections closed by the server or errored
  uint64_t write_failures;
  double lag_sum_us;          // how late pings left after their grid point (a starved client)
  double lag_max_us;
  double rtt_sum_us;
  double rtt_max_us;
  uint32_t histogram[kHistogramBuckets];
};

static struct Target targets[kMaxTargets];
static int target_count;
static struct Connection* connections;
static int connection_count = 1000;
static int window_seconds = 20;
static int settle_seconds = 2;
static int ramp_timeout_seconds = 120;
static int64_t interval_ns = 1000000000LL;
static struct Totals totals;
static int epoll_fd;
static int recording;
static uint64_t mask_state;

static int64_t nowNs(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static double cpuSeconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static double residentBytes(void) {
  FILE* status = fopen("/proc/self/status", "r");
  if (!status) return 0;
  char line[256];
  double kb = 0;
  while (fgets(line, sizeof line, status)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kb = strtod(line + 6, NULL);
      break;
    }
  }
  fclose(status);
  return kb * 1024;
}

// SHA-1 (FIPS 180-4), only for the handshake's Sec-WebSocket-Accept.
static uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const unsigned char* data, size_t length, unsigned char digest[20]) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  unsigned char block[64];
  const uint64_t bits = (uint64_t)length * 8;
  const size_t total = ((length + 8) / 64 + 1) * 64;
  for (size_t offset = 0; offset < total; offset += 64) {
    for (size_t i = 0; i < 64; ++i) {
      const size_t at = offset + i;
      if (at < length) block[i] = data[at];
      else if (at == length) block[i] = 0x80;
      else if (at >= total - 8) block[i] = (unsigned char)(bits >> (8 * (total - 1 - at)));
      else block[i] = 0;
    }
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 |
             (uint32_t)block[4 * i + 3];
    }
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1u;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
      else f = b ^ c ^ d, k = 0xCA62C1D6u;
      const uint32_t next = rotl(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rotl(b, 30), b = a, a = next;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  for (int i = 0; i < 20; ++i) digest[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void base64(const unsigned char* data, size_t length, char* out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < length; i += 3) {
    const uint32_t chunk = (uint32_t)data[i] << 16 | (i + 1 < length ? (uint32_t)data[i + 1] << 8 : 0) |
                           (i + 2 < length ? data[i + 2] : 0);
    out[o++] = alphabet[chunk >> 18 & 63];
    out[o++] = alphabet[chunk >> 12 & 63];
    out[o++] = i + 1 < length ? alphabet[chunk >> 6 & 63] : '=';
    out[o++] = i + 2 < length ? alphabet[chunk & 63] : '=';
  }
  out[o] = '\0';
}

static uint64_t nextMask(void) {  // xorshift64: mask keys need not be secret here
  mask_state ^= mask_state << 13;
  mask_state ^= mask_state >> 7;
  mask_state ^= mask_state << 17;
  return mask_state;
}

static int parseUrl(const char* url, struct Target* target) {
  if (strncmp(url, "ws://", 5) != 0) return 0;
  const char* host = url + 5;
  const char* colon = strchr(host, ':');
  const char* slash = strchr(host, '/');
  if (!colon || (slash && slash < colon)) return 0;
  char address[64];
  const size_t host_length = (size_t)(colon - host);
  if (host_length >= sizeof address) return 0;
  memcpy(address, host, host_length);
  address[host_length] = '\0';
  const long port = strtol(colon + 1, NULL, 10);
  if (port <= 0 || port > 65535) return 0;
  memset(&target->address, 0, sizeof target->address);
  target->address.sin_family = AF_INET;
  target->address.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, address, &target->address.sin_addr) != 1) return 0;  // numeric IPv4 only
  const size_t authority = (size_t)((slash ? slash : host + strlen(host)) - host);
  if (authority >= sizeof target->host_header) return 0;
  memcpy(target->host_header, host, authority);
  target->host_header[authority] = '\0';
  snprintf(target->path, sizeof target->path, "%s", slash ? slash : "/");
  return 1;
}

static void closeConnection(struct Connection* connection) {
  if (connection->fd >= 0) close(connection->fd);
  connection->fd = -1;
  connection->state = kDead;
}

static int startConnect(struct Connection* connection, int index) {
  connection->target = (uint8_t)(index % target_count);
  connection->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (connection->fd < 0) return 0;
  const int one = 1;
  setsockopt(connection->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const struct Target* target = &targets[connection->target];
  if (connect(connection->fd, (const struct sockaddr*)&target->address, sizeof target->address) < 0 &&
      errno != EINPROGRESS) {
    closeConnection(connection);
    return 0;
  }
  struct epoll_event event = {.events = EPOLLOUT, .data.u32 = (uint32_t)index};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, connection->fd, &event) < 0) {
    closeConnection(connection);
    return 0;
  }
  connection->state = kConnecting;
  return 1;
}

static int sendHandshake(struct Connection* connection, int index) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 || error != 0) return 0;
  unsigned char nonce[16];
  if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) return 0;
  char key[32];
  base64(nonce, sizeof nonce, key);
  char keyed[96];
  const int keyed_length = snprintf(keyed, sizeof keyed, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char digest[20];
  sha1((const unsigned char*)keyed, (size_t)keyed_length, digest);
  base64(digest, sizeof digest, connection->accept);
  const struct Target* target = &targets[connection->target];
  char request[512];
  const int request_length = snprintf(request, sizeof request,
                                      "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                      target->path, target->host_header, key);
  if (write(connection->fd, request, (size_t)request_length) != request_length) return 0;
  struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection->fd, &event) < 0) return 0;
  connection->state = kHandshake;
  connection->have = 0;
  return 1;
}

// A header's value, case-insensitively; NULL when absent.
static const char* headerValue(const char* head, const char* name, size_t* value_length) {
  const size_t name_length = strlen(name);
  for (const char* line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, name, name_length) == 0 && line[name_length] == ':') {
      const char* value = line + name_length + 1;
      while (*value == ' ' || *value == '\t') ++value;
      const char* end = strstr(value, "\r\n");
      if (!end) return NULL;
      while (end > value && (end[-1] == ' ' || end[-1] == '\t')) --end;
      *value_length = (size_t)(end - value);
      return value;
    }
  }
  return NULL;
}

// 1: opened; 0: needs more bytes; -1: refused.
static int readHandshake(struct Connection* connection) {
  const ssize_t got = read(connection->fd, connection->buffer + connection->have,
                           kBufferSize - 1u - connection->have);
  if (got <= 0) return got < 0 && errno == EAGAIN ? 0 : -1;
  connection->have = (uint16_t)(connection->have + got);
  connection->buffer[connection->have] = '\0';
  char* head = (char*)connection->buffer;
  char* end = strstr(head, "\r\n\r\n");
  if (!end) return connection->have + 1u >= kBufferSize ? -1 : 0;
  end[2] = '\0';  // keep the last header's CRLF for headerValue
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) return -1;
  size_t length = 0;
  const char* upgrade = headerValue(head, "Upgrade", &length);
  if (!upgrade || length != 9 || strncasecmp(upgrade, "websocket", 9) != 0) return -1;
  const char* connection_header = headerValue(head, "Connection", &length);
  if (!connection_header || !strcasestr(connection_header, "upgrade")) return -1;
  const char* accept = headerValue(head, "Sec-WebSocket-Accept", &length);
  if (!accept || length != 28 || memcmp(accept, connection->accept, 28) != 0) return -1;
  const size_t rest = (size_t)(connection->have - (end + 4 - head));
  memmove(connection->buffer, end + 4, rest);
  connection->have = (uint16_t)rest;
  connection->state = kOpen;
  return 1;
}

static void record(double rtt_us) {
  if (!recording) return;
  ++totals.pongs;
  totals.rtt_sum_us += rtt_us;
  if (rtt_us > totals.rtt_max_us) totals.rtt_max_us = rtt_us;
  size_t bucket = (size_t)rtt_us;
  if (bucket >= kFineBuckets) bucket = kFineBuckets + (bucket - kFineBuckets) / 1000;
  if (bucket >= kHistogramBuckets) bucket = kHistogramBuckets - 1;
  ++totals.histogram[bucket];
}

// Reads what arrived on an open connection and takes every complete frame.
static void readFrames(struct Connection* connection) {
  const ssize_t got = read(connection->fd, connection->buffer + connection->have, kBufferSize - connection->have);
  const int64_t read_at = nowNs();
  if (got <= 0) {
    if (got < 0 && errno == EAGAIN) return;
    ++totals.lost;
    closeConnection(connection);
    return;
  }
  connection->have = (uint16_t)(connection->have + got);
  size_t at = 0;
  for (;;) {
    if (connection->have - at < 2) break;
    const unsigned char* frame = connection->buffer + at;
    const int opcode = frame[0] & 0x0F;
    size_t payload = frame[1] & 0x7F;
    size_t header = 2;
    if (frame[1] & 0x80 || payload > 125) {  // a masked or long server frame: not from an echo of ours
      ++totals.lost;
      closeConnection(connection);
      return;
    }
    if (connection->have - at < header + payload) break;
    if (opcode == 0x8) {  // close
      ++totals.lost;
      closeConnection(connection);
      return;
    }
    if (opcode == 0xA && payload == 4 && connection->ping_sequence != 0) {
      const uint32_t sequence = (uint32_t)frame[2] << 24 | (uint32_t)frame[3] << 16 | (uint32_t)frame[4] << 8 | frame[5];
      if (sequence == connection->ping_sequence) {
        record((double)(read_at - connection->ping_sent_ns) / 1e3);
        connection->ping_sequence = 0;
      }
    }
    at += header + payload;
  }
  memmove(connection->buffer, connection->buffer + at, connection->have - at);
  connection->have = (uint16_t)(connection->have - at);
}

static void sendPing(struct Connection* connection, uint32_t sequence, int64_t due) {
  if (connection->state != kOpen) return;
  if (connection->ping_sequence != 0 && recording) ++totals.unanswered;
  const uint64_t mask = nextMask();
  const unsigned char key[4] = {(unsigned char)mask, (unsigned char)(mask >> 8), (unsigned char)(mask >> 16),
                                (unsigned char)(mask >> 24)};
  const unsigned char payload[4] = {(unsigned char)(sequence >> 24), (unsigned char)(sequence >> 16),
                                    (unsigned char)(sequence >> 8), (unsigned char)sequence};
  unsigned char frame[10] = {0x89, 0x80 | 4, key[0], key[1], key[2], key[3]};
  for (int i = 0; i < 4; ++i) frame[6 + i] = payload[i] ^ key[i];
  const ssize_t wrote = write(connection->fd, frame, sizeof frame);
  const int64_t sent_at = nowNs();
  if (wrote != (ssize_t)sizeof frame) {  // a 10-byte write to loopback does not stay partial
    ++totals.write_failures;
    ++totals.lost;
    closeConnection(connection);
    return;
  }
  connection->ping_sequence = sequence;
  connection->ping_sent_ns = sent_at;
  if (recording) {
    const double lag_us = (double)(sent_at - due) / 1e3;
    ++totals.pings_sent;
    totals.lag_sum_us += lag_us;
    if (lag_us > totals.lag_max_us) totals.lag_max_us = lag_us;
  }
}

static double percentileUs(double p) {
  if (totals.pongs == 0) return 0;
  const uint64_t rank = (uint64_t)(p * (double)(totals.pongs - 1));
  uint64_t seen = 0;
  for (size_t bucket = 0; bucket < kHistogramBuckets; ++bucket) {
    seen += totals.histogram[bucket];
    if (seen > rank) {
      return bucket < kFineBuckets ? (double)bucket + 0.5 : kFineBuckets + (double)(bucket - kFineBuckets) * 1000 + 500;
    }
  }
  return 0;
}

static int openAll(void) {
  const int64_t deadline = nowNs() + (int64_t)ramp_timeout_seconds * 1000000000LL;
  int next = 0, in_flight = 0, opened = 0, finished = 0;
  struct epoll_event events[256];
  while (finished < connection_count && nowNs() < deadline) {
    while (next < connection_count && in_flight < kMaxInFlight) {
      if (startConnect(&connections[next], next)) {
        ++in_flight;
      } else {
        ++totals.connect_failures;
        ++finished;
      }
      ++next;
    }
    const int ready = epoll_wait(epoll_fd, events, 256, 100);
    for (int e = 0; e < ready; ++e) {
      const int index = (int)events[e].data.u32;
      struct Connection* connection = &connections[index];
      if (connection->state == kConnecting) {
        if (!sendHandshake(connection, index)) {
          ++totals.connect_failures;
          closeConnection(connection);
          --in_flight, ++finished;
        }
      } else if (connection->state == kHandshake) {
        const int result = readHandshake(connection);
        if (result != 0) --in_flight, ++finished;
        if (result > 0) ++opened;
        if (result < 0) {
          ++totals.handshake_failures;
          closeConnection(connection);
        }
      }
    }
  }
  return opened;
}

// Serves pongs and sends every ping that is due, until `until`. Pings follow
// one grid: connection i at origin + k * interval + i * interval / N.
static void run(int64_t origin, int64_t until, int64_t* round, int* cursor) {
  struct epoll_event events[1024];
  for (;;) {
    int64_t now = nowNs();
    // A client that falls behind (a starved CPU) still reads between pings
    // and still stops at `until`: at most kMaxBurst pings per pass.
    for (int sent = 0; sent < kMaxBurst && now < until; ++sent) {
      const int64_t due = origin + *round * interval_ns + (int64_t)*cursor * interval_ns / connection_count;
      if (due > now) break;
      sendPing(&connections[*cursor], (uint32_t)(*round * connection_count + *cursor + 1), due);
      if (++*cursor == connection_count) *cursor = 0, ++*round;
      now = nowNs();
    }
    if (now >= until) return;
    const int64_t due = origin + *round * interval_ns + (int64_t)*cursor * interval_ns / connection_count;
    int64_t wait = (due < until ? due : until) - now;
    if (wait < 0) wait = 0;
    const struct timespec timeout = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
    const int ready = epoll_pwait2(epoll_fd, events, 1024, &timeout, NULL);
    for (int e = 0; e < ready; ++e) {
      struct Connection* connection = &connections[events[e].data.u32];
      if (connection->state == kOpen) readFrames(connection);
    }
  }
}

static int usage(const char* program) {
  fprintf(stderr,
          "usage: %s --url ws://IPV4:PORT/PATH [--url ...] [--connections N] [--window S] [--settle S]\n"
          "          [--ramp-timeout S] [--interval-ms MS]\n",
          program);
  return 2;
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) return usage(argv[0]);
    if (strcmp(argv[i], "--url") == 0) {
      if (target_count == kMaxTargets || !parseUrl(value, &targets[target_count])) {
        fprintf(stderr, "bad or too many --url: %s\n", value);
        return 2;
      }
      ++target_count;
    } else if (strcmp(argv[i], "--connections") == 0) {
      connection_count = atoi(value);
    } else if (strcmp(argv[i], "--window") == 0) {
      window_seconds = atoi(value);
    } else if (strcmp(argv[i], "--settle") == 0) {
      settle_seconds = atoi(value);
    } else if (strcmp(argv[i], "--ramp-timeout") == 0) {
      ramp_timeout_seconds = atoi(value);
    } else if (strcmp(argv[i], "--interval-ms") == 0) {
      interval_ns = atoll(value) * 1000000LL;
    } else {
      return usage(argv[0]);
    }
    ++i;
  }
  if (target_count == 0 || connection_count <= 0 || window_seconds <= 0 || interval_ns <= 0) return usage(argv[0]);
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (getrandom(&mask_state, sizeof mask_state, 0) != (ssize_t)sizeof mask_state || mask_state == 0) mask_state = 1;

  const double rss_before = residentBytes();
  connections = calloc((size_t)connection_count, sizeof *connections);
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (!connections || epoll_fd < 0) {
    perror("setup");
    return 1;
  }
  for (int i = 0; i < connection_count; ++i) connections[i].fd = -1;

  const int64_t ramp_start = nowNs();
  const int opened = openAll();
  const double ramp = (double)(nowNs() - ramp_start) / 1e9;
  if (opened < connection_count) {
    fprintf(stderr, "only %d of %d connections opened in %.1f s (%llu connect, %llu handshake failures)\n", opened,
            connection_count, ramp, (unsigned long long)totals.connect_failures,
            (unsigned long long)totals.handshake_failures);
    return 1;
  }

  int64_t round = 0;
  int cursor = 0;
  const int64_t origin = nowNs();
  run(origin, origin + (int64_t)settle_seconds * 1000000000LL, &round, &cursor);
  const uint64_t lost_before = totals.lost;
  const double cpu_start = cpuSeconds();
  const int64_t window_start = nowNs();
  recording = 1;
  run(origin, window_start + (int64_t)window_seconds * 1000000000LL, &round, &cursor);
  recording = 0;
  const double cpu = cpuSeconds() - cpu_start;
  const double window = (double)(nowNs() - window_start) / 1e9;
  const double rss = residentBytes();

  const double pongs = (double)totals.pongs;
  const double mean_us = pongs > 0 ? totals.rtt_sum_us / pongs : 0;
  const double cpu_per_ping_us = pongs > 0 ? cpu / pongs * 1e6 : 0;
  const double kb_per_connection = (rss - rss_before) / connection_count / 1e3;
  const unsigned long long lost = (unsigned long long)(totals.lost - lost_before);
  printf("connections held        %d on %d server(s) (opened in %.1f s)\n", connection_count, target_count, ramp);
  printf("window                  %.1f s\n", window);
  printf("pings answered          %.0f (%.0f per second; %llu sent, %llu unanswered when due again)\n", pongs,
         pongs / window, (unsigned long long)totals.pings_sent, (unsigned long long)totals.unanswered);
  printf("connections lost        %llu\n", lost);
  printf("ping send lag           %.1f us mean, %.1f us max (after the grid point, to write() returning)\n",
         totals.pings_sent ? totals.lag_sum_us / (double)totals.pings_sent : 0, totals.lag_max_us);
  printf("resident memory         %.1f MB total, %.2f KB per connection (%.1f MB before start)\n", rss / 1e6,
         kb_per_connection, rss_before / 1e6);
  printf("CPU                     %.3f s in window = %.1f%% of a core\n", cpu, 100 * cpu / window);
  printf("CPU per ping            %.2f us\n", cpu_per_ping_us);
  printf("RTT mean                %.3f ms\n", mean_us / 1e3);
  printf("RTT p50                 %.3f ms\n", percentileUs(0.50) / 1e3);
  printf("RTT p99                 %.3f ms\n", percentileUs(0.99) / 1e3);
  printf("RTT max                 %.3f ms\n", totals.rtt_max_us / 1e3);
  printf("RESULT client=reference connections=%d window_s=%.1f pongs=%.0f errors=%llu rtt_mean_us=%.1f "
         "rtt_p50_us=%.1f rtt_p99_us=%.1f rtt_max_us=%.1f cpu_per_ping_us=%.2f rss_mb=%.2f kb_per_connection=%.3f "
         "lag_mean_us=%.1f lag_max_us=%.1f\n",
         connection_count, window, pongs,
         (unsigned long long)(totals.lost + totals.unanswered + totals.connect_failures + totals.handshake_failures),
         mean_us, percentileUs(0.50),
         percentileUs(0.99), totals.rtt_max_us, cpu_per_ping_us, rss / 1e6, kb_per_connection,
         totals.pings_sent ? totals.lag_sum_us / (double)totals.pings_sent : 0, totals.lag_max_us);
  for (int i = 0; i < connection_count; ++i) {
    if (connections[i].fd >= 0) close(connections[i].fd);
  }
  free(connections);
  close(epoll_fd);
  return 0;
}
