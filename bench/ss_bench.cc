// ss_bench: end-to-end figures of two real security servers on this machine
// (by default vpcp sends, mic receives), durable storage on (WAL, synchronous FULL,
// fsync'd spool):
//   - 10 KB documents per second from N concurrent DMS senders, and the p50
//     / p99 of the time from the start of Send to the recipient DMS reading
//     the document from its inbox (and of Send alone: "accepted");
//   - one 1 GB document: MB/s per hop and end to end, and the peak RSS
//     (VmHWM) of both server processes, for the 10 KB phase and for the big
//     document on its own (the peak is reset in between);
//   - how many envelopes (receipts) shared a batch signature, from the
//     servers' ServerStatus counters.
// The N senders are slots of one asynchronous gRPC client on one thread, so
// that the load generator takes little of the 2 cores the servers share
// with it (a thread per sender cost ~0.4 of a core at 1,900 docs/s).
// Environment: SS_BENCH_SECONDS (default 10), SS_BENCH_SENDERS (default 16),
// SS_BENCH_BIG_MB (default 1024; 0 skips it), SS_BENCH_FROM / SS_BENCH_TO
// (default vpcp -> mic: vpcp's seal is RSA-2048; mic -> vpcp measures a
// P-256 sender seal), SS_BENCH_UNIQUE (default 1: every document differs, as
// real ones do; 0: all identical, so the spool keeps one file for all),
// SS_BENCH_RATE (default 0: each sender sends as fast as it can; N: the
// senders together start N documents a second, for latency at a set load),
// SS_BENCH_RELAY_WORKERS (default 16), SS_BENCH_CALLS_PER_PEER (the sender's
// relay_calls_per_peer, default 1); AXIS_KEEP_TEST_DIRS=1 keeps the
// servers' directories and prints where. The recipient DMS acknowledges what
// each Receive returned in one Ack call.
//
// Figures (quiet 2-core VM, final code of session 7; history and where the
// time goes: ../security-server/README.md, "Performance"): unpaced 30 s
// 2,200-2,303 docs/s end to end (4 runs), 60 s 2,177, end-to-end p99
// 112-125 ms, 0.64-0.68 ms of CPU per document for both servers; at 1,000/s
// end to end p50 7.8-8.2 / p99 21.7-23.9 ms; 1 GB alone: Send 419-541 MB/s,
// relay 380-494 MB/s, Receive 533-715 MB/s, end to end 145-190 MB/s (three
// sequential store-and-forward hops), peak RSS 40-41 MB per server.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

std::string EnvStr(const char* name, const char* dflt) {
  const char* v = std::getenv(name);
  return v == nullptr ? dflt : v;
}

int EnvInt(const char* name, int dflt) {
  const char* v = std::getenv(name);
  return v == nullptr ? dflt : std::atoi(v);
}

long PeakRssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::atol(line.c_str() + 6);
    }
  }
  return -1;
}

// ResetPeakRss starts `pid`'s VmHWM again from its current RSS (Linux's
// clear_refs "5"), so that each phase reports its own peak.
void ResetPeakRss(pid_t pid) {
  std::ofstream out(absl::StrCat("/proc/", pid, "/clear_refs"));
  out << "5";
}

class SsBench : public SecurityServerFixture {
 protected:
  std::string from_ = EnvStr("SS_BENCH_FROM", "vpcp");
  std::string to_ = EnvStr("SS_BENCH_TO", "mic");

  // Signing is the server's batch-signature counters (ServerStatus).
  ServerStatusResponse::Signing Signing(const std::string& key) {
    absl::StatusOr<ServerStatusResponse> s = ServerStatusOf(key);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->signing() : ServerStatusResponse::Signing();
  }

  SendRequest Header(const std::string& ref) { return SendHeader(from_, to_, ref); }
};

// Sender is one DMS sender of the asynchronous client, and the tag of its
// completion-queue events: `step` is the operation in flight.
struct Sender {
  enum Step { kWaiting, kStarting, kHeader, kPayload, kFinishing } step = kWaiting;
  std::unique_ptr<grpc::ClientContext> ctx;
  // Declared after ctx, so destroyed before it (it lives in the call's arena).
  std::unique_ptr<grpc::ClientAsyncWriter<SendRequest>> writer;
  std::unique_ptr<grpc::Alarm> alarm;
  SendResponse resp;
  grpc::Status status;
  absl::Time start;  // latency counts from here
  absl::Time next;   // when the next document is due (paced runs)
};

// CpuSeconds is the user + system CPU time of `pid` so far.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> f = absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted from 3 here.
  return f.size() > 12 ? (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) /
                             static_cast<double>(sysconf(_SC_CLK_TCK))
                       : -1;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

TEST_F(SsBench, EndToEndThroughputLatencyAndOneBigDocument) {
  // The DMS clients share the 2 cores with the servers: like the servers,
  // they skip Debian Abseil's Mutex deadlock detector (a graph update per lock).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  StartServer(from_,
              absl::StrCat("relay_workers: ", EnvInt("SS_BENCH_RELAY_WORKERS", 16),
                           "\nrelay_calls_per_peer: ", EnvInt("SS_BENCH_CALLS_PER_PEER", 1), "\n"));
  StartServer(to_);
  std::printf("%s -> %s\n", from_.c_str(), to_.c_str());
  const int seconds = EnvInt("SS_BENCH_SECONDS", 10);
  const int senders = EnvInt("SS_BENCH_SENDERS", 16);
  std::string doc(10 * 1024, 'x');
  const bool unique = EnvInt("SS_BENCH_UNIQUE", 1) != 0;
  const int rate = EnvInt("SS_BENCH_RATE", 0);

  absl::Mutex mu;
  std::map<std::string, absl::Time> started;  // id -> send start
  std::vector<double> accept_ms, e2e_ms;
  std::atomic<bool> stop{false};
  std::atomic<int> received{0};

  // The recipient DMS: streams its inbox, acknowledges, notes arrival times.
  std::thread receiver([&] {
    auto dms = Gateway(to_);
    while (!stop.load()) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      ReceiveRequest req;
      *req.mutable_subsystem() = *ParseSubsystemId(agencies_[to_].subsystem);
      req.set_wait(true);
      req.set_wait_seconds(1);
      auto r = dms->Receive(&ctx, req);
      ReceiveResponse resp;
      std::vector<std::string> ids;
      while (r->Read(&resp)) {
        if (resp.has_message()) {
          ids.push_back(resp.message().message_id());
        }
      }
      (void)r->Finish();
      absl::Time now = absl::Now();
      {
        absl::MutexLock l(&mu);
        for (const std::string& id : ids) {
          auto it = started.find(id);
          if (it != started.end()) {
            e2e_ms.push_back(absl::ToDoubleMilliseconds(now - it->second));
          }
        }
      }
      // What one Receive returned is acknowledged in one call (one
      // transaction on the server), as a DMS that keeps a batch would.
      if (!ids.empty()) {
        grpc::ClientContext actx;
        actx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        AckRequest ack;
        for (const std::string& id : ids) {
          ack.add_message_ids(id);
        }
        AckResponse ar;
        grpc::Status as = dms->Ack(&actx, ack, &ar);
        if (as.ok()) {
          received.fetch_add(static_cast<int>(ids.size()));
        } else {
          std::fprintf(stderr, "ack: %s\n", as.error_message().c_str());
        }
      }
    }
  });

  const ServerStatusResponse::Signing sign0_from = Signing(from_);
  const ServerStatusResponse::Signing sign0_to = Signing(to_);
  double cpu0_from = CpuSeconds(agencies_[from_].process->pid());
  double cpu0_to = CpuSeconds(agencies_[to_].process->pid());
  absl::Time t0 = absl::Now();
  absl::Time end = t0 + absl::Seconds(seconds);
  std::atomic<int> sent{0};
  // The senders are slots of one asynchronous client driven by this thread:
  // each sends one document at a time, like a DMS worker, and the client
  // costs the shared cores less than a thread per sender (its context
  // switches were ~12 % of the client's samples).
  {
    auto stub = Gateway(from_);
    grpc::CompletionQueue cq;
    std::vector<Sender> slots(static_cast<size_t>(senders));
    // With a rate: each sender's documents are scheduled every senders/rate
    // seconds, staggered across senders; a sender still busy with the
    // previous one starts late, and latency counts from the scheduled start
    // (no coordinated omission), so the delay shows.
    const absl::Duration every =
        rate > 0 ? absl::Seconds(1) * senders / rate : absl::ZeroDuration();
    auto begin = [&](Sender* x) {
      x->start = rate > 0 ? x->next : absl::Now();
      x->next += every;
      x->writer.reset();  // it lives in the call's arena: before its context goes
      x->ctx = std::make_unique<grpc::ClientContext>();
      x->ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      x->resp.Clear();
      x->writer = stub->PrepareAsyncSend(x->ctx.get(), &x->resp, &cq);
      x->step = Sender::kStarting;
      x->writer->StartCall(x);
    };
    // schedule starts x's next document, at once or when its time comes;
    // false when the run is over.
    auto schedule = [&](Sender* x) {
      absl::Time now = absl::Now();
      if (now >= end) {
        return false;
      }
      if (rate > 0 && x->next > now) {
        x->step = Sender::kWaiting;
        x->alarm = std::make_unique<grpc::Alarm>();
        x->alarm->Set(&cq, absl::ToChronoTime(x->next), x);
      } else {
        begin(x);
      }
      return true;
    };
    int active = 0;
    for (int t = 0; t < senders; ++t) {
      Sender* x = &slots[static_cast<size_t>(t)];
      x->next = t0 + every * t / senders;
      active += schedule(x) ? 1 : 0;
    }
    void* tag;
    bool ok;
    while (active > 0 && cq.Next(&tag, &ok)) {
      Sender* x = static_cast<Sender*>(tag);
      switch (x->step) {
        case Sender::kWaiting:
          begin(x);
          continue;
        case Sender::kStarting:
          if (ok) {
            // The header waits for the payload, and the payload goes with
            // the end of the stream: one HTTP/2 write for a small document.
            x->step = Sender::kHeader;
            x->writer->Write(Header("bench"), grpc::WriteOptions().set_buffer_hint(), x);
            continue;
          }
          break;
        case Sender::kHeader:
          if (ok) {
            SendRequest c;
            c.set_chunk(doc);
            if (unique) {
              // A distinct payload per document (16 random bytes up front).
              RAND_bytes(reinterpret_cast<unsigned char*>(c.mutable_chunk()->data()), 16);
            }
            x->step = Sender::kPayload;
            x->writer->WriteLast(c, grpc::WriteOptions(), x);
            continue;
          }
          break;
        case Sender::kPayload:
          break;
        case Sender::kFinishing:
          if (x->status.ok()) {
            absl::MutexLock l(&mu);
            started[x->resp.message_id()] = x->start;
            accept_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - x->start));
            sent.fetch_add(1);
          } else {
            std::fprintf(stderr, "send: %s\n", x->status.error_message().c_str());
          }
          if (!schedule(x)) {
            --active;
          }
          continue;
      }
      // The payload is written, or a step failed: the status tells.
      x->step = Sender::kFinishing;
      x->writer->Finish(&x->status, x);
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  absl::Time send_end = absl::Now();
  absl::Time drain_deadline = absl::Now() + absl::Seconds(60);
  while (received.load() < sent.load() && absl::Now() < drain_deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::Time all_received = absl::Now();
  stop.store(true);
  receiver.join();
  EXPECT_EQ(received.load(), sent.load());
  {
    absl::MutexLock l(&mu);
    std::printf("10 KB %s documents, %d senders (rate %d/s; 0: unpaced), %d s: accepted %d "
                "(%.0f docs/s), delivered to the DMS %d (%.0f docs/s end to end)\n",
                unique ? "distinct" : "identical", senders, rate, seconds, sent.load(),
                sent.load() / absl::ToDoubleSeconds(send_end - t0), received.load(),
                received.load() / absl::ToDoubleSeconds(all_received - t0));
    double cpu_from = CpuSeconds(agencies_[from_].process->pid()) - cpu0_from;
    double cpu_to = CpuSeconds(agencies_[to_].process->pid()) - cpu0_to;
    std::printf("  CPU: sender's server %.1f s, recipient's server %.1f s over %.1f s wall "
                "(%.2f ms per document for both)\n",
                cpu_from, cpu_to, absl::ToDoubleSeconds(all_received - t0),
                received.load() > 0 ? 1000 * (cpu_from + cpu_to) / received.load() : 0.0);
    std::printf("  accept latency p50 %.1f ms p99 %.1f ms; end-to-end p50 %.1f ms p99 %.1f ms\n",
                Percentile(accept_ms, 0.5), Percentile(accept_ms, 0.99), Percentile(e2e_ms, 0.5),
                Percentile(e2e_ms, 0.99));
  }
  {
    // Batch signatures over the run (the largest batch since start).
    ServerStatusResponse::Signing f = Signing(from_);
    ServerStatusResponse::Signing t = Signing(to_);
    uint64_t es = f.envelope_signatures() - sign0_from.envelope_signatures();
    uint64_t el = f.envelope_leaves() - sign0_from.envelope_leaves();
    uint64_t rs = t.receipt_signatures() - sign0_to.receipt_signatures();
    uint64_t rl = t.receipt_leaves() - sign0_to.receipt_leaves();
    std::printf("  batch signatures: %llu envelope signatures over %llu headers (mean %.1f, "
                "largest %llu); %llu receipt signatures over %llu bodies (mean %.1f, largest "
                "%llu)\n",
                static_cast<unsigned long long>(es), static_cast<unsigned long long>(el),
                es > 0 ? static_cast<double>(el) / static_cast<double>(es) : 0.0,
                static_cast<unsigned long long>(f.envelope_largest_batch()),
                static_cast<unsigned long long>(rs), static_cast<unsigned long long>(rl),
                rs > 0 ? static_cast<double>(rl) / static_cast<double>(rs) : 0.0,
                static_cast<unsigned long long>(t.receipt_largest_batch()));
  }

  const pid_t from_pid = agencies_[from_].process->pid();
  const pid_t to_pid = agencies_[to_].process->pid();
  std::printf(
      "  peak RSS (start and 10 KB phase): sender's server %ld KB, recipient's server "
      "%ld KB\n",
      PeakRssKb(from_pid), PeakRssKb(to_pid));

  const int big_mb = EnvInt("SS_BENCH_BIG_MB", 1024);
  if (big_mb > 0) {
    ResetPeakRss(from_pid);
    ResetPeakRss(to_pid);
    // One big document, streamed from a file in 1 MB chunks.
    std::string path = dir_ + "/big.bin";
    {
      std::ofstream out(path, std::ios::binary);
      std::string block(1 << 20, '\0');
      RAND_bytes(reinterpret_cast<unsigned char*>(block.data()), static_cast<int>(block.size()));
      for (int i = 0; i < big_mb; ++i) {
        block[0] = static_cast<char>(i);
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
      }
    }
    auto stub = Gateway(from_);
    absl::Time s = absl::Now();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(900));
    SendResponse resp;
    auto w = stub->Send(&ctx, &resp);
    bool ok = w->Write(Header("big"));
    std::ifstream in(path, std::ios::binary);
    // One message, its buffer reused for every chunk (as the servers do): a
    // fresh 1 MB buffer per chunk cost the client page faults on this VM.
    SendRequest c;
    std::string* buf = c.mutable_chunk();
    buf->resize(1 << 20);
    while (ok && in) {
      in.read(buf->data(), static_cast<std::streamsize>(buf->size()));
      if (in.gcount() == 0) {
        break;
      }
      buf->resize(static_cast<size_t>(in.gcount()));  // the last chunk may be short
      ok = w->Write(c);
    }
    if (ok) {
      w->WritesDone();
    }
    grpc::Status st = w->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    absl::Time accepted = absl::Now();
    // The recipient DMS reads it (and discards the bytes).
    auto dms = Gateway(to_);
    uint64_t got = 0;
    absl::Time first_byte_at = absl::InfinitePast();
    absl::Time deadline = absl::Now() + absl::Seconds(900);
    while (got == 0 && absl::Now() < deadline) {
      grpc::ClientContext rctx;
      rctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(900));
      ReceiveRequest req;
      *req.mutable_subsystem() = *ParseSubsystemId(agencies_[to_].subsystem);
      req.set_wait(true);
      req.set_wait_seconds(5);
      auto r = dms->Receive(&rctx, req);
      ReceiveResponse rr;
      while (r->Read(&rr)) {
        if (got == 0) {
          first_byte_at = absl::Now();  // the relay is done: stored at the recipient
        }
        got += rr.chunk().size();
      }
      (void)r->Finish();
    }
    absl::Time received_at = absl::Now();
    double mb = big_mb;
    // Three hops, one after the other: DMS -> sender's server (accepted,
    // durable), sender's -> recipient's server (relayed, durable, checked),
    // recipient's server -> DMS (Receive).
    const double send_s = absl::ToDoubleSeconds(accepted - s);
    const double relay_s = absl::ToDoubleSeconds(first_byte_at - accepted);
    const double receive_s = absl::ToDoubleSeconds(received_at - first_byte_at);
    std::printf("%d MB document: accepted in %.1f s (%.0f MB/s), at the recipient DMS after %.1f s "
                "(%.0f MB/s end to end); received %llu bytes\n",
                big_mb, send_s, mb / send_s, absl::ToDoubleSeconds(received_at - s),
                mb / absl::ToDoubleSeconds(received_at - s), static_cast<unsigned long long>(got));
    std::printf("  per hop: Send %.0f MB/s, relay (incl. the Receive call's wait) %.0f MB/s, "
                "Receive %.0f MB/s\n",
                mb / send_s, mb / relay_s, mb / receive_s);
    std::printf(
        "  peak RSS during this document: sender's server %ld KB, recipient's server "
        "%ld KB\n",
        PeakRssKb(from_pid), PeakRssKb(to_pid));
    EXPECT_EQ(got, static_cast<uint64_t>(big_mb) << 20);
  }
  TearDown();  // the directory goes at exit, unless AXIS_KEEP_TEST_DIRS is set
}

}  // namespace
}  // namespace axis::ss::testing_util
