#include "tsa/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tsa/config.h"

namespace axis::tsa {
namespace {

constexpr absl::string_view kQueryType = "application/timestamp-query";
constexpr char kReplyType[] = "application/timestamp-reply";

// MediaType is the type/subtype of a Content-Type value, lower case, without
// parameters.
std::string MediaType(absl::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(content_type));
}

void Refuse(httplib::Response& res, int status, absl::string_view reason) {
  res.status = status;
  res.set_content(absl::StrCat("axis-tsa: ", reason, "\n"), "text/plain");
}

// StatusText names the statuses httplib sets on its own.
const char* StatusText(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "not found; POST time-stamp queries to /";
    case 408:
      return "request timeout";
    case 413:
      return "request body too large";
    case 414:
      return "request URI too long";
    default:
      return "request refused";
  }
}

// LogLine writes one event per line to stderr; a single fprintf keeps lines
// whole when pool threads log at once.
void LogLine(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

}  // namespace

absl::StatusOr<std::unique_ptr<TsaServer>> TsaServer::Start(TimeStampAuthority* authority,
                                                            absl::string_view listen) {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseListenAddress(listen, &host, &port); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("listen: ", s.message()));
  }
  std::unique_ptr<TsaServer> server(new TsaServer());
  server->authority_ = authority;
  server->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->http_;
  http.set_payload_max_length(authority->max_request_bytes());
  // Replies are written as headers then body; without TCP_NODELAY the body
  // can wait for the client's delayed ACK.
  http.set_tcp_nodelay(true);

  http.Post("/", [authority](const httplib::Request& req, httplib::Response& res) {
    std::string type = MediaType(req.get_header_value("Content-Type"));
    if (type != kQueryType) {
      Refuse(res, 415,
             absl::StrCat("Content-Type must be ", kQueryType, ", not \"",
                          req.get_header_value("Content-Type"), "\""));
      return;
    }
    absl::StatusOr<std::string> reply = authority->Respond(req.body);
    if (!reply.ok()) {
      LogLine(absl::StrCat("event=tsa_error remote=", req.remote_addr,
                           " error=\"", reply.status().ToString(), "\""));
      switch (reply.status().code()) {
        case absl::StatusCode::kResourceExhausted:
          Refuse(res, 413, "request body too large");
          break;
        case absl::StatusCode::kUnavailable:
          res.set_header("Retry-After", "10");
          Refuse(res, 503, "time-stamping is unavailable; retry later");
          break;
        default:
          Refuse(res, 500, "internal error");
          break;
      }
      return;
    }
    res.status = 200;
    res.set_content(std::move(*reply), kReplyType);
  });
  auto method_not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "POST");
    Refuse(res, 405,
           absl::StrCat("method ", req.method, " not allowed; POST a ", kQueryType, " to /"));
  };
  http.Get(".*", method_not_allowed);
  http.Put(".*", method_not_allowed);
  http.Patch(".*", method_not_allowed);
  http.Delete(".*", method_not_allowed);
  http.Options(".*", method_not_allowed);
  // Statuses httplib sets by itself (404, 413, 400) come with an empty body.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      Refuse(res, res.status, StatusText(res.status));
    }
  });
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (res.status != 200) {
      LogLine(absl::StrCat("event=tsa_refused remote=", req.remote_addr, " method=", req.method,
                           " path=\"", absl::CEscape(req.path), "\" status=", res.status));
    }
  });

  // Binding only `host` keeps a loopback TSA off other interfaces.
  if (port == 0) {
    port = http.bind_to_any_port(host);
    if (port <= 0) {
      return absl::UnavailableError(absl::StrCat("listen: cannot bind ", host, ":0"));
    }
  } else if (!http.bind_to_port(host, port)) {
    return absl::UnavailableError(absl::StrCat("listen: cannot bind ", host, ":", port));
  }
  server->port_ = port;
  server->address_ = absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port)
                                                   : absl::StrCat(host, ":", port);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  server->thread_ = std::thread([&http, finished] {
    http.listen_after_bind();
    finished->store(true);
  });
  // httplib 0.11 has no readiness signal, and its stop() is a no-op until
  // the listening loop has begun; wait for that so Shutdown cannot be lost.
  while (!http.is_running() && !finished->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (finished->load()) {
    server->thread_.join();
    return absl::UnavailableError(absl::StrCat("listen: ", server->address_, ": server stopped"));
  }
  return server;
}

void TsaServer::Shutdown() {
  if (thread_.joinable()) {
    http_->stop();
    thread_.join();
  }
}

TsaServer::~TsaServer() { Shutdown(); }

}  // namespace axis::tsa
