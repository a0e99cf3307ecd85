// wsprobe's command line: flags as Prometheus exporters spell them, then the
// daemon, the demo, a configuration check or a diagnosis.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>
#include <iostream>

#include "agent/agent.h"
#include "agent/cli_docs.h"
#include "agent/config.h"
#include "agent/password_command.h"
#include "agent/web_config.h"
#include "testbed/demo.h"
#include "agent/diagnose/command.h"
#include "agent/logging.h"
#include "agent/service_signals.h"
#include "agent/target_file_watch.h"
#include "agent/target_files.h"
#include "probes/engine.h"

namespace {

using wsprobe::Agent;

// `files`: the configuration's source when it comes from files, whose
// target files are then watched and reloaded on change.
int runUntilSignalled(Agent::Options options, wsprobe::FileConfigSource* files = nullptr) {
  wsprobe::ServiceSignals signals;  // blocks them before any thread starts
  Agent agent(std::move(options));
  if (auto error = agent.start()) {
    spdlog::error("{}", *error);
    std::cerr << "wsprobe: " << *error << "\n";
    return 1;
  }
  wsprobe::TargetFileWatch watch(std::chrono::milliseconds(500), [&] {
    agent.reload();
    watch.watch(files->watchedDirectories());
  });
  if (files) {
    if (auto error = watch.start()) spdlog::warn("{}: target files are re-read on SIGHUP only", *error);
    watch.watch(files->watchedDirectories());
  }
  signals.notifyReady();
  for (;;) {
    switch (signals.wait()) {
      case wsprobe::ServiceSignals::Event::reload:
        signals.notifyReloading();
        agent.reload();
        if (files) watch.watch(files->watchedDirectories());
        signals.notifyReady();
        break;
      case wsprobe::ServiceSignals::Event::stop:
        spdlog::info("shutting down: closing every connection with 1001");
        signals.notifyStopping();
        watch.stop();
        agent.stop();
        spdlog::info("stopped");
        return 0;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsprobe: holds WebSocket connections open and measures what ends them"};
  app.set_version_flag("--version",
                       "wsprobe " + wsprobe::buildInfo().version + " (revision " +
                           wsprobe::buildInfo().revision + ", libwebsockets " +
                           wsprobe::Engine::libraryVersion() + ")");
  std::string config_file = "/etc/wsprobe/wsprobe.toml";
  std::string listen_address;
  std::string web_config_file;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string shard;
  bool config_check = false;
  app.add_option("--config.file", config_file, "configuration file")->capture_default_str();
  app.add_option("--web.listen-address", listen_address,
                 "HOST:PORT to serve metrics and the API on (default: the file's, else :9713)");
  app.add_option("--web.config.file", web_config_file,
                 "web configuration in Prometheus exporter-toolkit format (TLS, client certificates, "
                 "basic auth, headers); re-read on SIGHUP");
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log.format", log_format, "text or json")->capture_default_str();
  app.add_option("--shard", shard,
                 "hold only this share of the targets: K/N (K from 0) or auto/N (K from the pod's ordinal)");
  app.add_flag("--config.check", config_check, "validate the configuration file and exit");

  CLI::App* demo = app.add_subcommand(
      "demo", "start local misbehaving WebSocket endpoints and probe them (no setup needed)");
  demo->fallthrough();  // `wsprobe demo --web.listen-address=...` as well as before the subcommand
  wsprobe::diagnose::CommandLine diagnose_line;
  CLI::App* diagnose = wsprobe::diagnose::addCommand(app, diagnose_line);
  CLI::App* hash_password = app.add_subcommand(
      "hash-password",
      "print a bcrypt hash for basic_auth_users (asks twice on a terminal, else reads a line from stdin)");
  int bcrypt_cost = 10;
  hash_password->add_option("--cost", bcrypt_cost, "bcrypt cost: 2^cost rounds")
      ->check(CLI::Range(4, 31))
      ->capture_default_str();
  // Hidden (no group): the build writes the man page and the bash completion
  // from this very definition.
  std::string man_page_file;
  std::string completion_file;
  app.add_option("--internal.write-man-page", man_page_file)->group("");
  app.add_option("--internal.write-bash-completion", completion_file)->group("");
  // Hidden too: the status page's sample interval (default 10 s, the charts
  // then cover 30 minutes), shorter for tests and a quick look at the demo.
  std::string status_sample_interval;
  app.add_option("--internal.status-sample-interval", status_sample_interval)->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);
    return status == 0 ? 0 : 2;
  }
  if (auto error = wsprobe::setUpLogging(log_level, log_format)) {
    std::cerr << "wsprobe: " << *error << "\n";
    return 2;
  }

  if (!man_page_file.empty() || !completion_file.empty()) {
    std::ofstream man(man_page_file.empty() ? "/dev/null" : man_page_file);
    std::ofstream completion(completion_file.empty() ? "/dev/null" : completion_file);
    wsprobe::writeManPage(app, wsprobe::buildInfo().version, man);
    wsprobe::writeBashCompletion(app, completion);
    return man && completion ? 0 : 1;
  }
  if (*diagnose) return wsprobe::diagnose::runCommand(diagnose_line);
  if (*hash_password) return wsprobe::runHashPassword(bcrypt_cost);

  std::optional<wsprobe::ShardSetting> shard_setting;
  if (!shard.empty()) {
    std::string error;
    shard_setting = wsprobe::parseShardSetting(shard, &error);
    if (!shard_setting) {
      std::cerr << "wsprobe: --shard=" << shard << ": " << error << "\n";
      return 2;
    }
  }
  wsprobe::FileConfigSource files(config_file, shard_setting, wsprobe::processEnvironment());

  if (config_check) {
    const auto result = files.load();
    if (!result.config) {
      std::cout << "FAILED: " << result.error << "\n";
      return 1;
    }
    if (!web_config_file.empty()) {
      const auto web = wsprobe::resolveWebSecurity(result.config->web, web_config_file);
      if (!web.security) {
        std::cout << "FAILED: " << web.error << "\n";
        return 1;
      }
    }
    std::cout << "SUCCESS: " << config_file << " is valid: " << result.config->targets.size() << " targets";
    if (result.config->shard.count > 1) std::cout << " in shard " << wsprobe::formatShard(result.config->shard);
    std::cout << "\n";
    return 0;
  }

  Agent::Options options;
  if (!status_sample_interval.empty()) {
    std::string error;
    const auto interval = wsprobe::parseDuration(status_sample_interval, &error);
    if (!interval || *interval < std::chrono::milliseconds(100)) {
      std::cerr << "wsprobe: --internal.status-sample-interval=" << status_sample_interval << ": "
                << (interval ? "at least 100ms" : error) << "\n";
      return 2;
    }
    options.status_sample_interval = *interval;
  }
  if (!listen_address.empty()) options.listen_address = listen_address;
  options.web_config_file = web_config_file;
  if (*demo) {
    auto endpoints = wsprobe::startDemoEndpoints();
    options.load_config = [&endpoints] { return wsprobe::demoConfig(*endpoints); };
    spdlog::info("demo: probing {} local misbehaving endpoints", endpoints->count());
    return runUntilSignalled(std::move(options));
  }
  options.load_config = [&files] { return files.load(); };
  return runUntilSignalled(std::move(options), &files);
}
