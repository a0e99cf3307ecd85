#include "status_charts.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <vector>

#include "agent/web_api.h"

namespace wsprobe {

namespace {

// Chart geometry in CSS pixels: the plot area and the margins for labels.
constexpr double kWidth = 360;
constexpr double kHeight = 110;
constexpr double kLeft = 50;
constexpr double kRight = 8;
constexpr double kTop = 8;
constexpr double kBottom = 18;
constexpr double kPlotWidth = kWidth - kLeft - kRight;
constexpr double kPlotHeight = kHeight - kTop - kBottom;

// The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (> 0).
double niceCeiling(double value) {
  const double decade = std::pow(10.0, std::floor(std::log10(value)));
  for (const double step : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (value <= step * decade * (1 + 1e-9)) return step * decade;
  }
  return 10 * decade;
}

std::string number(double value, int precision) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(precision);
  out << value;
  std::string text = out.str();
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

// "250 µs", "2.5 ms", "1 s": an axis label.
std::string shortSeconds(double value) {
  if (value == 0) return "0";
  if (value < 1e-3) return number(value * 1e6, 1) + " µs";
  if (value < 1) return number(value * 1e3, 1) + " ms";
  return number(value, 1) + " s";
}

// "5s", "3m", "2h": a lifetime bucket's upper bound.
std::string shortLifetime(double value) {
  if (value <= 121) return number(value, 1) + "s";
  if (value < 3600) return number(value / 60, 1) + "m";
  return number(value / 3600, 1) + "h";
}

// The time axis spans the samples held, the newest at the right edge: the
// whole window once the ring is full, less (and labelled so) after a start.
double sampleX(std::size_t age, std::size_t count) {
  const double span = static_cast<double>(std::max<std::size_t>(count, 2) - 1);
  return kLeft + kPlotWidth - static_cast<double>(age) * kPlotWidth / span;
}

std::string spanLabel(Duration span) {
  const double seconds = std::chrono::duration<double>(span).count();
  return seconds >= 120 ? number(seconds / 60, 0) + " min" : number(seconds, 0) + " s";
}

double valueY(double value, double top) { return kTop + kPlotHeight - value / top * kPlotHeight; }

void openSvg(std::ostringstream& out, std::string_view kind, std::string_view target) {
  out << "<svg class=\"chart chart-" << kind << "\" role=\"img\" aria-label=\"" << kind << " of "
      << htmlEscape(target) << "\" width=\"" << kWidth << "\" height=\"" << kHeight << "\" viewBox=\"0 0 "
      << kWidth << " " << kHeight << "\" xmlns=\"http://www.w3.org/2000/svg\">";
  out << "<rect class=\"plot\" x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth
      << "\" height=\"" << kPlotHeight << "\"/>";
}

// Horizontal grid lines at 0, half and the top, labelled on the left.
void yAxis(std::ostringstream& out, double top, const std::function<std::string(double)>& label) {
  for (const double fraction : {0.0, 0.5, 1.0}) {
    const double y = valueY(top * fraction, top);
    out << "<line class=\"grid\" x1=\"" << kLeft << "\" x2=\"" << kLeft + kPlotWidth << "\" y1=\""
        << number(y, 1) << "\" y2=\"" << number(y, 1) << "\"/><text class=\"axis\" x=\"" << kLeft - 4
        << "\" y=\"" << number(y + 3, 1) << "\" text-anchor=\"end\">" << label(top * fraction) << "</text>";
  }
}

// The time axis: "-30 min" (the samples' span) at the left, "now" at the right.
void timeAxis(std::ostringstream& out, const StatusHistory::Snapshot& history) {
  const double bottom = kTop + kPlotHeight + 12;
  const auto count = static_cast<Duration::rep>(std::max<std::size_t>(history.samples.size(), 1));
  out << "<text class=\"axis\" x=\"" << kLeft << "\" y=\"" << bottom << "\">-"
      << spanLabel(history.interval * count) << "</text><text class=\"axis\" x=\"" << kLeft + kPlotWidth
      << "\" y=\"" << bottom << "\" text-anchor=\"end\">now</text>";
}

void emptyNote(std::ostringstream& out, std::string_view text) {
  out << "<text class=\"empty\" x=\"" << kLeft + kPlotWidth / 2 << "\" y=\"" << kTop + kPlotHeight / 2 + 4
      << "\" text-anchor=\"middle\">" << text << "</text>";
}

// One series as polylines over the samples, broken where `value` is NaN; a
// point with no neighbour is a dot.
void series(std::ostringstream& out, const StatusHistory::Snapshot& history, std::string_view kind,
            double top, const std::function<double(const StatusSample&)>& value) {
  const std::size_t count = history.samples.size();
  std::vector<std::pair<double, double>> run;
  const auto flush = [&] {
    if (run.size() == 1) {
      out << "<circle class=\"" << kind << "\" cx=\"" << number(run[0].first, 1) << "\" cy=\""
          << number(run[0].second, 1) << "\" r=\"1.5\"/>";
    } else if (run.size() > 1) {
      out << "<polyline class=\"" << kind << "\" points=\"";
      for (std::size_t i = 0; i < run.size(); ++i) {
        out << (i ? " " : "") << number(run[i].first, 1) << "," << number(run[i].second, 1);
      }
      out << "\"/>";
    }
    run.clear();
  };
  for (std::size_t i = 0; i < count; ++i) {
    const double v = value(history.samples[i]);
    if (std::isnan(v)) {
      flush();
      continue;
    }
    run.emplace_back(sampleX(count - 1 - i, count), valueY(std::min(v, top), top));
  }
  flush();
}

}  // namespace

std::string intervalLabel(const StatusHistory::Snapshot& history) { return spanLabel(history.interval); }

std::string windowLabel(const StatusHistory::Snapshot& history) {
  return spanLabel(history.interval * static_cast<Duration::rep>(StatusHistory::kCapacity));
}

std::string rttChartSvg(const StatusHistory::Snapshot& history, std::string_view target) {
  double highest = 0;
  for (const auto& sample : history.samples) {
    if (!std::isnan(sample.rtt_p99_seconds)) highest = std::max(highest, double{sample.rtt_p99_seconds});
  }
  std::ostringstream out;
  openSvg(out, "rtt", target);
  const double top = highest > 0 ? niceCeiling(highest * 1.05) : 1e-3;
  yAxis(out, top, shortSeconds);
  timeAxis(out, history);
  if (highest > 0) {
    series(out, history, "p99", top, [](const StatusSample& s) { return double{s.rtt_p99_seconds}; });
    series(out, history, "p50", top, [](const StatusSample& s) { return double{s.rtt_p50_seconds}; });
  } else {
    emptyNote(out, history.samples.empty() ? "collecting: first sample at the end of this interval"
                                           : "no pong answered in this window");
  }
  out << "</svg>";
  return out.str();
}

std::string openChartSvg(const StatusHistory::Snapshot& history, int desired_heartbeat, int desired_idle,
                         std::string_view target) {
  int highest = std::max({1, desired_heartbeat, desired_idle});
  bool any_idle = desired_idle > 0;
  for (const auto& sample : history.samples) {
    highest = std::max({highest, int{sample.heartbeat_open}, int{sample.idle_open}});
    any_idle |= sample.idle_open > 0;
  }
  const double top = highest;
  std::ostringstream out;
  openSvg(out, "open", target);
  yAxis(out, top, [](double value) { return number(value, 1); });
  timeAxis(out, history);
  if (desired_heartbeat > 0) {
    const double y = valueY(desired_heartbeat, top);
    out << "<line class=\"desired\" x1=\"" << kLeft << "\" x2=\"" << kLeft + kPlotWidth << "\" y1=\""
        << number(y, 1) << "\" y2=\"" << number(y, 1) << "\"/>";
  }
  if (history.samples.empty()) {
    emptyNote(out, "collecting: first sample at the end of this interval");
  } else {
    if (any_idle)
      series(out, history, "idle", top,
             [](const StatusSample& s) { return static_cast<double>(s.idle_open); });
    series(out, history, "open-min", top,
           [](const StatusSample& s) { return static_cast<double>(s.heartbeat_open_min); });
    series(out, history, "open", top,
           [](const StatusSample& s) { return static_cast<double>(s.heartbeat_open); });
  }
  out << "</svg>";
  return out.str();
}

std::string lifetimeChartSvg(const StatusHistory::Snapshot& history, std::string_view target) {
  const std::vector<std::uint32_t>& heartbeat =
      history.lifetimes[static_cast<std::size_t>(ConnectionMode::heartbeat)];
  const std::vector<std::uint32_t>& idle = history.lifetimes[static_cast<std::size_t>(ConnectionMode::idle)];
  const std::size_t buckets = std::min(heartbeat.size(), idle.size());
  std::size_t first = buckets;
  std::size_t last = 0;
  double highest = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    const double total = static_cast<double>(heartbeat[i]) + idle[i];
    if (total == 0) continue;
    first = std::min(first, i);
    last = i;
    highest = std::max(highest, total);
  }
  std::ostringstream out;
  openSvg(out, "lifetimes", target);
  if (first == buckets) {
    yAxis(out, 1, [](double value) { return number(value, 1); });
    emptyNote(out, "no connection has ended yet");
    out << "</svg>";
    return out.str();
  }
  // At least six bars, so one busy bucket does not fill the chart.
  while (last - first + 1 < 6 && (last + 1 < buckets || first > 0)) {
    if (last + 1 < buckets) ++last;
    if (last - first + 1 < 6 && first > 0) --first;
  }
  const double top = highest <= 4 ? std::ceil(highest) : niceCeiling(highest);
  yAxis(out, top, [](double value) { return number(value, 1); });
  const std::size_t bars = last - first + 1;
  const double width = kPlotWidth / static_cast<double>(bars);
  const std::size_t label_every = (bars + 7) / 8;
  const auto bound_label = [&](std::size_t i) {
    return i < history.lifetime_bounds.size() ? "≤" + shortLifetime(history.lifetime_bounds[i])
                                              : "&gt;" + shortLifetime(history.lifetime_bounds.back());
  };
  for (std::size_t i = first; i <= last; ++i) {
    const double x = kLeft + static_cast<double>(i - first) * width + 1;
    const double bottom = kTop + kPlotHeight;
    const double heartbeat_height = heartbeat[i] / top * kPlotHeight;
    const double idle_height = idle[i] / top * kPlotHeight;
    out << "<g><title>" << bound_label(i) << ": " << heartbeat[i] << " heartbeat, " << idle[i]
        << " idle</title>";
    if (heartbeat[i] > 0) {
      out << "<rect class=\"life-heartbeat\" x=\"" << number(x, 1) << "\" y=\""
          << number(bottom - heartbeat_height, 1) << "\" width=\"" << number(width - 2, 1) << "\" height=\""
          << number(heartbeat_height, 1) << "\"/>";
    }
    if (idle[i] > 0) {
      out << "<rect class=\"life-idle\" x=\"" << number(x, 1) << "\" y=\""
          << number(bottom - heartbeat_height - idle_height, 1) << "\" width=\"" << number(width - 2, 1)
          << "\" height=\"" << number(idle_height, 1) << "\"/>";
    }
    out << "</g>";
    if ((i - first) % label_every == 0) {
      out << "<text class=\"axis\" x=\"" << number(x + (width - 2) / 2, 1) << "\" y=\"" << bottom + 12
          << "\" text-anchor=\"middle\">" << bound_label(i) << "</text>";
    }
  }
  out << "</svg>";
  return out.str();
}

}  // namespace wsprobe
