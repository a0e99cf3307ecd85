#include "exposition.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace wsprobe {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// As TextSerializer: %.16g (max_digits10 - 1 significant digits), and
// Nan / +Inf / -Inf spelled the Prometheus way.
void appendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else {
    std::array<char, 64> buffer;
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                         std::chars_format::general,
                                         std::numeric_limits<double>::max_digits10 - 1);
    out.append(buffer.data(), end);
  }
}

template <typename Integer>
void appendInteger(std::string& out, Integer value) {
  std::array<char, 24> buffer;
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), end);
}

// HELP text: format 0.0.4 escapes backslash and line feed (not '"').
void appendHelpEscaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\\': out += "\\\\"; break;
      default: out += c;
    }
  }
}

// Label values: backslash, line feed and double quote.
void appendEscaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default: out += c;
    }
  }
}

// "name_suffix{a="1",b="2",extra="x"} "
void appendHead(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                std::string_view suffix = {}, std::string_view extra_name = {},
                std::string_view extra_value = {}) {
  out += family.name;
  out += suffix;
  if (!metric.label.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& label : metric.label) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      appendEscaped(out, label.value);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      appendEscaped(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void appendTail(std::string& out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out += ' ';
    appendInteger(out, metric.timestamp_ms);
  }
  out += '\n';
}

std::string numberText(double value) {
  std::string text;
  appendNumber(text, value);
  return text;
}

// The _count and _sum lines of a histogram or summary.
void appendCountAndSum(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                       std::uint64_t count, double sum) {
  appendHead(out, family, metric, "_count");
  appendInteger(out, count);
  appendTail(out, metric);
  appendHead(out, family, metric, "_sum");
  appendNumber(out, sum);
  appendTail(out, metric);
}

void appendHistogram(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const auto& histogram = metric.histogram;
  appendCountAndSum(out, family, metric, histogram.sample_count, histogram.sample_sum);
  double last = -std::numeric_limits<double>::infinity();
  for (const auto& bucket : histogram.bucket) {
    appendHead(out, family, metric, "_bucket", "le", numberText(bucket.upper_bound));
    last = bucket.upper_bound;
    appendInteger(out, bucket.cumulative_count);
    appendTail(out, metric);
  }
  if (last != std::numeric_limits<double>::infinity()) {
    appendHead(out, family, metric, "_bucket", "le", "+Inf");
    appendInteger(out, histogram.sample_count);
    appendTail(out, metric);
  }
}

void appendSummary(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const auto& summary = metric.summary;
  appendCountAndSum(out, family, metric, summary.sample_count, summary.sample_sum);
  for (const auto& quantile : summary.quantile) {
    appendHead(out, family, metric, "", "quantile", numberText(quantile.quantile));
    appendNumber(out, quantile.value);
    appendTail(out, metric);
  }
}

void appendSample(std::string& out, const MetricFamily& family, const ClientMetric& metric, double value) {
  appendHead(out, family, metric);
  appendNumber(out, value);
  appendTail(out, metric);
}

const char* typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Summary: return "summary";
    case MetricType::Untyped: return "untyped";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

void appendTextExposition(const std::vector<MetricFamily>& families, std::string& out) {
  for (const auto& family : families) {
    if (!family.help.empty()) {
      out += "# HELP ";
      out += family.name;
      out += ' ';
      appendHelpEscaped(out, family.help);
      out += '\n';
    }
    out += "# TYPE ";
    out += family.name;
    out += ' ';
    out += typeName(family.type);
    out += '\n';
    for (const auto& metric : family.metric) {
      switch (family.type) {
        case MetricType::Counter: appendSample(out, family, metric, metric.counter.value); break;
        case MetricType::Gauge: appendSample(out, family, metric, metric.gauge.value); break;
        case MetricType::Untyped: appendSample(out, family, metric, metric.untyped.value); break;
        case MetricType::Summary: appendSummary(out, family, metric); break;
        case MetricType::Histogram: appendHistogram(out, family, metric); break;
      }
    }
  }
}

}  // namespace wsprobe
