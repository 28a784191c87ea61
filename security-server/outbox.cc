// outbox.cc: Relay, sender side: the dispatcher hands due outbox rows to
// the relay workers, which deliver each envelope and payload to the
// recipient's security server and keep its receipt, with retries and
// back-off.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "security-server/server_impl.h"
#include "signer/bytes_sign.h"

namespace axis::ss::internal {

// ---------------------------------------------------------------------------
// Outbox (sender side)

void Server::DispatchLoop() {
  // The store is read only when it may hold due rows that are neither queued
  // nor in flight: at start (recovery), when Send left its rows there
  // (undispatched_), when a retry falls due (next_retry_), and once a second
  // as a safety net. Reading it whenever a delivery finished returned the
  // rows in flight again and again (a query every few ms at moderate load).
  //
  // A backlog is read in due order, a piece at a time, each piece starting
  // where the last one ended (`after`), so the rows in flight at its head are
  // not read again and again; a piece that reaches the end of the due rows,
  // a retry falling due and the safety net start the next read from the
  // head. While the store holds rows not yet read, Send leaves new rows
  // there too (Enqueue), so that they do not overtake older ones: under a
  // sustained overload the oldest documents waited for the end of the load.
  //
  // A read may return a row whose delivery finishes while it runs (the
  // worker saves the row and takes it out of inflight_ after the read's
  // snapshot): finished_during_read_ keeps the read from queueing it again.
  //
  // The safety net counts on the steady clock: a wall clock stepped back
  // would switch it off for as long as the step.
  //
  // A member's queue holds at most kMemberQueueMax rows; a read leaves the
  // rest in the store (left_behind_), and the cursor stays where it is when
  // a piece reaches the end: reading from the head again would read the
  // rows left behind over and over while their member cannot take them.
  // They are read again once their member has room; meanwhile the safety
  // net goes on from the cursor. A retry falling due reads from the head
  // only when it is at or behind the cursor (saved after a read passed its
  // time, while its row was still in flight): such a pass reads through
  // the rows left behind, a read per 128 of them.
  //
  // `now` is taken under mu_: a row Send spilled before it was committed
  // before it, so it is due; a row spilled after changes spilled_.
  std::chrono::steady_clock::time_point last_query{};
  DuePosition after;
  while (true) {
    absl::Time now;
    const auto steady_now = std::chrono::steady_clock::now();
    bool query;
    int64_t spilled = 0;
    {
      absl::MutexLock l(&mu_);
      now = absl::Now();
      if (stopping_) {
        return;
      }
      auto has_room = [this](const std::string& member) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return queue_.QueuedFor(member) < kMemberQueueMax / 2;
      };
      bool room = false;  // for a member whose rows were left behind
      for (const std::string& m : left_behind_) {
        room = room || has_room(m);
      }
      const bool safety_net = steady_now - last_query >= std::chrono::seconds(1);
      // A retry falling due at or behind the cursor needs a read from the
      // head; one ahead of it comes in due order from the cursor.
      const bool retry_due = now >= next_retry_;
      const bool retry_behind =
          retry_due && absl::ToUnixMicros(next_retry_) <= after.next_attempt_us;
      const bool from_head = retry_behind || room || (safety_net && left_behind_.empty());
      query = queue_.Ready() < kQueueLow && (undispatched_ || from_head || safety_net || retry_due);
      if (query && from_head) {
        after = DuePosition();
        // Members with room are read again now; the others stay left behind.
        for (auto it = left_behind_.begin(); it != left_behind_.end();) {
          it = has_room(*it) ? left_behind_.erase(it) : std::next(it);
        }
      }
      if (query) {
        next_retry_ = absl::InfiniteFuture();
        spilled = spilled_;
        reading_ = true;
        finished_during_read_.clear();
      }
    }
    if (query) {
      last_query = steady_now;
      constexpr int kLimit = 128;
      absl::StatusOr<std::vector<OutboxRow>> due = store_->DueOutbox(now, kLimit, after);
      // Retries scheduled later (also those of rows read from the store
      // after a restart).
      absl::StatusOr<std::optional<absl::Time>> nd = store_->NextDue(now);
      absl::MutexLock l(&mu_);
      if (due.ok()) {
        for (OutboxRow& row : *due) {
          after = row.due;
          std::pair<std::string, std::string> key(row.message_id, row.recipient);
          if (finished_during_read_.count(key) != 0 || inflight_.count(key) != 0) {
            continue;
          }
          std::string member = RelayQueue::MemberOf(row.recipient);
          if (queue_.QueuedFor(member) >= kMemberQueueMax) {
            left_behind_.insert(std::move(member));
            continue;
          }
          inflight_.insert(std::move(key));
          queue_.Push(std::move(row));
        }
      }
      reading_ = false;
      finished_during_read_.clear();
      if (!due.ok() || due->size() >= static_cast<size_t>(kLimit)) {
        // More (or unknown): read on at once while the queue is low (a
        // member whose calls hang finishes none, so no worker would wake
        // us).
        undispatched_ = true;
        wake_ = wake_ || due.ok();
      } else {
        // The end of the due rows: the next read starts from the head
        // (unless rows were left behind, above). Rows that Send left in the
        // store after this read began are still there.
        if (left_behind_.empty()) {
          after = DuePosition();
        }
        undispatched_ = spilled_ != spilled;
      }
      if (!nd.ok()) {
        next_retry_ = now + absl::Seconds(1);
      } else if (nd->has_value()) {
        next_retry_ = std::min(next_retry_, **nd);
      }
    }
    absl::MutexLock l(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return (wake_ && queue_.Ready() < kQueueLow) || stopping_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken),
                          std::max(now + absl::Milliseconds(5),
                                   std::min(next_retry_, now + absl::Seconds(1))));
    wake_ = false;
    if (stopping_) {
      return;
    }
    // Let wake-ups gather: at most a few hundred refills a second.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(2));
    if (stopping_) {
      return;
    }
  }
}

void Server::WorkerLoop() {
  while (true) {
    RelayQueue::Call call;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queue_.Runnable();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) {
        return;
      }
      call = queue_.Take();
    }
    std::vector<std::pair<std::string, std::string>> keys;
    for (const OutboxRow& r : call.rows) {
      keys.emplace_back(r.message_id, r.recipient);
    }
    std::vector<Store::OutboxUpdate> updates;
    if (call.rows.size() == 1) {
      updates = DeliverOne(std::move(call.rows[0]));
    } else if (!call.rows.empty()) {
      updates = DeliverMany(std::move(call.rows));
    }
    SaveUpdates(updates);
    absl::Time retry_at = absl::InfiniteFuture();
    for (const Store::OutboxUpdate& u : updates) {
      if (u.row.state == OutboxState::kAccepted || u.row.state == OutboxState::kRelayed) {
        retry_at = std::min(retry_at, u.row.next_attempt);
      }
    }
    absl::MutexLock l(&mu_);
    queue_.Done(call);
    for (const auto& k : keys) {
      inflight_.erase(k);
      if (reading_) {
        finished_during_read_.insert(k);
      }
    }
    // Saved and no longer in flight: the dispatcher's next read takes it.
    next_retry_ = std::min(next_retry_, retry_at);
    if (undispatched_ || !left_behind_.empty()) {
      wake_ = true;  // room in the queue for rows waiting in the store
    }
  }
}

std::shared_ptr<grpc::Channel> Server::ChannelFor(const std::string& address) {
  absl::MutexLock l(&channels_mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) {
    return it->second;
  }
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = tls_ca_pem_;
  o.pem_private_key = tls_key_pem_;
  o.pem_cert_chain = tls_cert_pem_;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(4 << 20);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kWindow);
  std::shared_ptr<grpc::Channel> ch =
      grpc::CreateCustomChannel(address, grpc::SslCredentials(o), args);
  channels_[address] = ch;
  return ch;
}

absl::StatusOr<Receipt> Server::SendToPeer(const std::string& address, const Envelope& envelope,
                                           const OutboxRow& row, std::string* peer_cert_hex) {
  std::shared_ptr<const std::string> small = row.payload;
  if (small == nullptr) {
    AXIS_ASSIGN_OR_RETURN(std::optional<std::string> p,
                          SmallPayload(row.payload_sha256, row.payload_size));
    if (p.has_value()) {
      small = std::make_shared<const std::string>(std::move(*p));
    }
  }
  std::unique_ptr<Relay::Stub> stub = Relay::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  // 30 s plus the time to move the payload at 10 MB/s.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30) +
                   std::chrono::milliseconds(row.payload_size / 10000));
  // Headers, envelope and (small) payload leave in as few frames as they can.
  ctx.set_initial_metadata_corked(true);
  Receipt receipt;
  std::unique_ptr<grpc::ClientWriter<DeliverRequest>> w = stub->Deliver(&ctx, &receipt);
  DeliverRequest first;
  *first.mutable_envelope() = envelope;
  if (small != nullptr) {
    // Envelope and payload in one write.
    if (small->empty()) {
      w->WriteLast(first, grpc::WriteOptions());
    } else if (w->Write(first, grpc::WriteOptions().set_buffer_hint())) {
      DeliverRequest chunk;
      chunk.set_chunk(*small);
      w->WriteLast(chunk, grpc::WriteOptions());
    }
    return FinishDeliver(&ctx, w.get(), &receipt, peer_cert_hex);
  }
  absl::StatusOr<std::unique_ptr<Spool::Reader>> file = spool_->OpenPayload(row.payload_sha256);
  if (!file.ok()) {
    ctx.TryCancel();
    (void)w->Finish();
    return file.status();
  }
  bool ok = true;
  if (row.payload_size == 0) {
    w->WriteLast(first, grpc::WriteOptions());
  } else {
    ok = w->Write(first, grpc::WriteOptions().set_buffer_hint());
    // One message, its buffer reused for every chunk.
    DeliverRequest chunk;
    std::string* buf = chunk.mutable_chunk();
    const size_t want = std::min<uint64_t>(kChunk, row.payload_size);
    uint64_t sent = 0;
    while (ok && sent < row.payload_size) {
      buf->resize(want);
      absl::StatusOr<size_t> n = (*file)->Read(buf->data(), want);
      if (!n.ok() || *n == 0) {
        // Give up the call now (the recipient would wait for the rest until
        // the deadline) and say why.
        ctx.TryCancel();
        (void)w->Finish();
        return n.ok() ? absl::DataLossError(absl::StrCat("relay: the spool file of ",
                                                         row.message_id, " is short"))
                      : n.status();
      }
      buf->resize(*n);
      sent += *n;
      if (sent >= row.payload_size) {
        w->WriteLast(chunk, grpc::WriteOptions());
        ok = false;  // WritesDone is implied
      } else {
        ok = w->Write(chunk);
      }
    }
    if (ok) {
      w->WritesDone();
    }
  }
  return FinishDeliver(&ctx, w.get(), &receipt, peer_cert_hex);
}

absl::StatusOr<Receipt> Server::FinishDeliver(grpc::ClientContext* ctx,
                                              grpc::ClientWriter<DeliverRequest>* w,
                                              Receipt* receipt, std::string* peer_cert_hex) {
  grpc::Status st = w->Finish();
  if (!st.ok()) {
    return FromGrpcStatus(st);
  }
  *peer_cert_hex = PeerCertHexOf(*ctx);
  return std::move(*receipt);
}

std::string Server::PeerCertHexOf(const grpc::ClientContext& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) {
    return "";
  }
  std::vector<grpc::string_ref> v = auth->FindPropertyValues("x509_pem_cert");
  if (v.empty()) {
    return "";
  }
  absl::StatusOr<std::pair<std::string, std::string>> id =
      CertIdentity(std::string(v[0].data(), v[0].size()));
  return id.ok() ? id->first : "";
}

Store::OutboxUpdate Server::RetryLater(const OutboxRow& row, const absl::Status& why,
                                      bool count_attempt, absl::Time now) {
  int attempts = row.attempts + (count_attempt ? 1 : 0);
  int64_t initial = config_.retry_initial_ms() == 0 ? 200 : config_.retry_initial_ms();
  int64_t maxms = config_.retry_max_ms() == 0 ? 30000 : config_.retry_max_ms();
  int64_t delay = initial;
  for (int i = 1; i < attempts && delay < maxms; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, maxms);
  Store::OutboxUpdate up;
  OutboxRow& u = up.row;
  u = row;
  u.payload.reset();
  u.attempts = attempts;
  // Never empty: NextDue tells retries by their reason.
  u.reason = why.message().empty() ? absl::StatusCodeToString(why.code())
                                   : std::string(why.message());
  u.updated_at = now;
  u.receipt.clear();
  if (config_.max_attempts() > 0 && attempts >= static_cast<int>(config_.max_attempts())) {
    u.state = OutboxState::kFailed;
    u.reason = absl::StrCat("gave up after ", attempts, " attempts: ", why.message());
    up.log.push_back({static_cast<int>(LogEvent::kRefused), row.message_id, row.recipient, u.reason});
  } else {
    u.state = count_attempt ? OutboxState::kRelayed : row.state;
    u.next_attempt = now + absl::Milliseconds(delay);  // the worker tells the dispatcher
  }
  return up;
}

std::optional<Store::OutboxUpdate> Server::PrepareDelivery(const OutboxRow& row,
                                                           const ConfView& conf, absl::Time now,
                                                           Envelope* envelope,
                                                           const axis::SecurityServer** peer) {
  if (!envelope->ParseFromString(row.envelope)) {
    return RetryLater(row, absl::DataLossError("stored envelope does not parse"), true, now);
  }
  if (ocsp_ != nullptr) {
    absl::StatusOr<std::string> der = ocsp_->Get(conf.trust, now);
    if (!der.ok()) {
      return RetryLater(row, der.status(), false, now);
    }
    envelope->set_ocsp_response(*der);
  }
  absl::StatusOr<Identifier> to = ParseSubsystemId(row.recipient);
  *peer = to.ok() ? conf.ServerOf(*to) : nullptr;
  if (*peer == nullptr) {
    return RetryLater(row, absl::NotFoundError(absl::StrCat(row.recipient, " has no security server")),
                      true, now);
  }
  return std::nullopt;
}

Store::OutboxUpdate Server::SettleDelivery(const OutboxRow& row, const Envelope& envelope,
                                           const axis::SecurityServer& peer,
                                           absl::StatusOr<Receipt> receipt,
                                           const std::string& peer_hex, const ConfView& conf,
                                           absl::Time now) {
  if (receipt.ok()) {
    bool registered = false;
    for (const std::string& h : peer.auth_cert_sha256()) {
      registered = registered || HexOf(h) == peer_hex;
    }
    if (!registered) {
      receipt = absl::UnauthenticatedError(absl::StrCat(
          "recipient server at ", peer.address(), " presented an unregistered certificate"));
    }
  }
  if (receipt.ok()) {
    absl::StatusOr<Identifier> to = ParseSubsystemId(row.recipient);
    absl::StatusOr<ReceiptBody> body =
        to.ok() ? CheckReceipt(*receipt, conf, row.message_id, signer::Sha256(envelope.header()),
                               MemberOf(*to), now)
                : absl::StatusOr<ReceiptBody>(to.status());
    if (!body.ok()) {
      receipt = body.status();
    }
  }
  if (!receipt.ok()) {
    absl::StatusCode c = receipt.status().code();
    bool permanent = c == absl::StatusCode::kInvalidArgument ||
                     c == absl::StatusCode::kPermissionDenied ||
                     c == absl::StatusCode::kNotFound ||
                     c == absl::StatusCode::kResourceExhausted ||
                     c == absl::StatusCode::kUnauthenticated;
    std::fprintf(stderr, "outbox: %s -> %s: %s\n", row.message_id.c_str(), row.recipient.c_str(),
                 std::string(receipt.status().message()).c_str());
    if (!permanent) {
      if (c == absl::StatusCode::kUnavailable) {
        // Start the next attempt on a fresh channel: a channel whose peer
        // restarted can stay in reconnect back-off far longer than ours.
        absl::MutexLock l(&channels_mu_);
        channels_.erase(peer.address());
      }
      return RetryLater(row, receipt.status(), true, now);
    }
    Store::OutboxUpdate up;
    up.row = row;
    up.row.payload.reset();
    up.row.state = OutboxState::kFailed;
    up.row.attempts = row.attempts + 1;
    up.row.reason = absl::StrCat(absl::StatusCodeToString(c), ": ", receipt.status().message());
    up.row.updated_at = now;
    up.row.next_attempt = now;
    up.log.push_back(
        {static_cast<int>(LogEvent::kRefused), row.message_id, row.recipient, up.row.reason});
    return up;
  }
  Store::OutboxUpdate up;
  up.row = row;
  up.row.payload.reset();
  up.row.state = OutboxState::kDelivered;
  up.row.attempts = row.attempts + 1;
  up.row.reason.clear();
  up.row.updated_at = now;
  up.row.next_attempt = now;
  up.row.receipt = receipt->SerializeAsString();
  up.row.ocsp_response = envelope.ocsp_response();
  up.log = {{static_cast<int>(LogEvent::kSent), row.message_id, row.recipient, envelope.header()},
            {static_cast<int>(LogEvent::kReceipt), row.message_id, row.recipient, receipt->body()}};
  return up;
}

void Server::SaveUpdates(const std::vector<Store::OutboxUpdate>& updates) {
  if (updates.empty()) {
    return;
  }
  absl::Status s = store_->UpdateOutboxes(updates);
  if (!s.ok()) {
    std::fprintf(stderr, "outbox: %s\n", std::string(s.message()).c_str());
  }
}

std::vector<Store::OutboxUpdate> Server::DeliverOne(OutboxRow row) {
  absl::Time now = absl::Now();
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(now);
  if (!conf.ok()) {
    return {RetryLater(row,
                       absl::Status(conf.status().code(),
                                    absl::StrCat("not relaying: ", conf.status().message())),
                       false, now)};
  }
  Envelope envelope;
  const axis::SecurityServer* peer = nullptr;
  if (std::optional<Store::OutboxUpdate> u = PrepareDelivery(row, **conf, now, &envelope, &peer)) {
    return {std::move(*u)};
  }
  std::string peer_hex;
  absl::StatusOr<Receipt> receipt = SendToPeer(peer->address(), envelope, row, &peer_hex);
  return {SettleDelivery(row, envelope, *peer, std::move(receipt), peer_hex, **conf, absl::Now())};
}

std::vector<Store::OutboxUpdate> Server::DeliverMany(std::vector<OutboxRow> rows) {
  absl::Time now = absl::Now();
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(now);
  std::vector<Store::OutboxUpdate> updates;
  if (!conf.ok()) {
    absl::Status why(conf.status().code(), absl::StrCat("not relaying: ", conf.status().message()));
    for (const OutboxRow& row : rows) {
      updates.push_back(RetryLater(row, why, false, now));
    }
    return updates;
  }
  // The rows for the first row's server go in one call; any other (a
  // member with several servers) goes on its own.
  std::vector<size_t> batch;
  std::vector<Envelope> envelopes(rows.size());
  const axis::SecurityServer* peer = nullptr;
  for (size_t i = 0; i < rows.size(); ++i) {
    const axis::SecurityServer* p = nullptr;
    if (std::optional<Store::OutboxUpdate> u =
            PrepareDelivery(rows[i], **conf, now, &envelopes[i], &p)) {
      updates.push_back(std::move(*u));
    } else if (peer == nullptr || p->address() == peer->address()) {
      peer = p;
      batch.push_back(i);
    } else {
      for (Store::OutboxUpdate& u : DeliverOne(std::move(rows[i]))) {
        updates.push_back(std::move(u));
      }
    }
  }
  if (!batch.empty()) {
    std::string peer_hex;
    std::vector<absl::StatusOr<Receipt>> receipts =
        SendBatchToPeer(peer->address(), envelopes, rows, batch, &peer_hex);
    absl::Time done = absl::Now();
    for (size_t k = 0; k < batch.size(); ++k) {
      size_t i = batch[k];
      updates.push_back(SettleDelivery(rows[i], envelopes[i], *peer, std::move(receipts[k]),
                                       peer_hex, **conf, done));
    }
  }
  return updates;
}

std::vector<absl::StatusOr<Receipt>> Server::SendBatchToPeer(const std::string& address,
                                                             const std::vector<Envelope>& envelopes,
                                                             const std::vector<OutboxRow>& rows,
                                                             const std::vector<size_t>& which,
                                                             std::string* peer_cert_hex) {
  // One Deliver call each: for a peer without DeliverBatch, or a payload
  // that is a file after all (Deliver streams files).
  auto one_by_one = [&] {
    std::vector<absl::StatusOr<Receipt>> each;
    for (size_t j : which) {
      std::string hex;
      each.push_back(SendToPeer(address, envelopes[j], rows[j], &hex));
      if (!hex.empty()) {
        *peer_cert_hex = hex;
      }
    }
    return each;
  };
  std::vector<absl::StatusOr<Receipt>> out;
  DeliverBatchRequest req;
  for (size_t i : which) {
    Delivery* d = req.add_deliveries();
    *d->mutable_envelope() = envelopes[i];
    if (rows[i].payload != nullptr) {
      d->set_payload(*rows[i].payload);
      continue;
    }
    absl::StatusOr<std::optional<std::string>> p =
        SmallPayload(rows[i].payload_sha256, rows[i].payload_size);
    if (!p.ok() || !p->has_value()) {
      return one_by_one();
    }
    d->set_payload(std::move(**p));
  }
  std::unique_ptr<Relay::Stub> stub = Relay::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  DeliverBatchResponse resp;
  grpc::Status st = stub->DeliverBatch(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return one_by_one();
  }
  absl::Status whole = FromGrpcStatus(st);
  if (whole.ok() && resp.results_size() != static_cast<int>(which.size())) {
    whole = absl::InvalidArgumentError(absl::StrCat("deliver batch: ", resp.results_size(),
                                                    " results for ", which.size(), " messages"));
  }
  if (whole.ok()) {
    *peer_cert_hex = PeerCertHexOf(ctx);
  }
  for (size_t k = 0; k < which.size(); ++k) {
    if (!whole.ok()) {
      out.push_back(whole);
      continue;
    }
    DeliveryResult* r = resp.mutable_results(static_cast<int>(k));
    if (r->error_code() != 0) {
      out.push_back(absl::Status(static_cast<absl::StatusCode>(r->error_code()), r->error_message()));
    } else {
      out.push_back(std::move(*r->mutable_receipt()));
    }
  }
  return out;
}

}  // namespace axis::ss::internal
