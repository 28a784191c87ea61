// server.h: RFC 3161 time-stamping over HTTP (RFC 3161 3.4).
#ifndef AXIS_TSA_SERVER_H_
#define AXIS_TSA_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tsa/authority.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace axis::tsa {

// TsaServer serves one TimeStampAuthority over HTTP: POST / with
// Content-Type application/timestamp-query and a DER TimeStampReq body is
// answered 200 with application/timestamp-reply. Everything else is refused
// with a short text/plain reason: other methods 405 (Allow: POST), other
// paths 404, other content types 415, bodies over the authority's
// max_request_bytes 413, failures of the authority 500 (details on stderr,
// none to the client). Requests are served by a pool of threads.
class TsaServer {
 public:
  // Start binds `listen` (HOST:PORT, see ParseListenAddress; only that
  // host) and serves in background threads until Shutdown or destruction.
  // `authority` must outlive the server. UNAVAILABLE when the address cannot
  // be bound; INVALID_ARGUMENT for a malformed address.
  static absl::StatusOr<std::unique_ptr<TsaServer>> Start(TimeStampAuthority* authority,
                                                          absl::string_view listen);

  TsaServer(const TsaServer&) = delete;
  TsaServer& operator=(const TsaServer&) = delete;
  // The destructor shuts down and joins the serving threads.
  ~TsaServer();

  // port is the bound port (the kernel's choice when 0 was asked for).
  int port() const { return port_; }
  // address is "HOST:PORT" as bound, e.g. "127.0.0.1:40123" or "[::1]:80".
  const std::string& address() const { return address_; }
  // url is "http://" + address() + "/".
  std::string url() const { return "http://" + address_ + "/"; }

  // Shutdown stops accepting connections, lets requests in progress finish
  // and returns when the serving threads are done. Idempotent.
  void Shutdown();

 private:
  TsaServer() = default;

  TimeStampAuthority* authority_ = nullptr;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::string address_;
};

}  // namespace axis::tsa

#endif  // AXIS_TSA_SERVER_H_
