// store.h: the security server's durable state: messages it accepted, one
// outbox row per recipient, its inbox, receipts and business statuses, and
// the payload spool.
//
// Store is the interface (SQLite today; a PostgreSQL implementation would
// claim outbox rows with FOR UPDATE SKIP LOCKED). Every mutating call is
// durable when it returns OK: SqliteStore runs the database in WAL mode with
// synchronous=FULL and commits concurrent writers together (group commit),
// each caller's work in its own savepoint, so one caller's failure never
// undoes another's. Message-log records (message_log.h) are appended in the
// same transaction as the change they describe.
#ifndef AXIS_SECURITY_SERVER_STORE_H_
#define AXIS_SECURITY_SERVER_STORE_H_

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace axis::ss {

// OutboxState is the per-recipient state of a sent message.
enum class OutboxState { kAccepted = 1, kRelayed = 2, kDelivered = 3, kFailed = 4 };

// LogItem is one message-log event to append with a change (see
// message_log.h for the event numbers).
struct LogItem {
  int event = 0;
  std::string message_id;
  std::string peer;
  std::string data;
};

struct MessageRow {
  std::string id;
  std::string sender;  // subsystem identifier, printed
  std::string document_type;
  std::string content_type;
  std::string dms_reference;
  std::string in_reply_to;
  std::string status_code;
  std::string status_text;
  std::string payload_sha256;  // 32 bytes
  uint64_t payload_size = 0;
  absl::Time created_at;
  // A small payload (Spool::Writer::inlined) stored in the database, in the
  // same transaction, instead of a spool file.
  std::optional<std::string> inline_payload;
};

// DuePosition is a place in the order in which due outbox rows are read
// (Store::DueOutbox): by next attempt, then by the row's position in the
// table. The default is before every row.
struct DuePosition {
  int64_t next_attempt_us = INT64_MIN;
  int64_t rowid = INT64_MIN;
};

struct OutboxRow {
  std::string message_id;
  std::string recipient;  // subsystem identifier, printed
  std::string envelope;   // serialized Envelope (without OCSP response)
  OutboxState state = OutboxState::kAccepted;
  int attempts = 0;
  absl::Time next_attempt;
  std::string reason;
  std::string receipt;  // serialized Receipt once delivered
  // The DER OCSP response stapled to the envelope that was delivered (the
  // evidence that the seal was good then); set with the receipt, kept once
  // per distinct response.
  std::string ocsp_response;
  absl::Time updated_at;
  std::string payload_sha256;  // joined from messages
  uint64_t payload_size = 0;
  // Set by DueOutbox: where the row stands in the due order.
  DuePosition due;
  // Not stored: a small payload handed along with a row Send queues for the
  // relay workers, so they need not read it back.
  std::shared_ptr<const std::string> payload;
};

struct InboxRow {
  std::string message_id;
  std::string recipient;
  std::string sender;
  std::string envelope_header;  // the signed EnvelopeHeader bytes
  std::string payload_sha256;
  uint64_t payload_size = 0;
  std::string document_type;
  std::string content_type;
  std::string dms_reference;
  std::string in_reply_to;
  std::string status_code;
  std::string status_text;
  absl::Time received_at;
  std::string report_json;
  std::string receipt;  // serialized Receipt we returned
  bool acked = false;
  // As MessageRow::inline_payload (written by InsertInbox, not read back).
  std::optional<std::string> inline_payload;
};

struct StatusRow {
  std::string message_id;  // the original message
  std::string recipient;   // who sent the status (the original recipient)
  std::string code;
  std::string text;
  std::string status_message_id;
  absl::Time at;
};

// Answer is a message the server sends by itself, stored with what it
// answers (an edXML status 01 with the document that arrived).
struct Answer {
  MessageRow message;
  std::vector<OutboxRow> rows;
};

// QueueCounts counts outbox rows by state and inbox rows by
// acknowledgement (Store::Counts).
struct QueueCounts {
  int64_t outbox_accepted = 0;
  int64_t outbox_relayed = 0;
  int64_t outbox_delivered = 0;
  int64_t outbox_failed = 0;
  int64_t inbox_pending = 0;  // not yet acknowledged
  int64_t inbox_acknowledged = 0;
};

// Store is the durable state of one security server. Thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // AcceptMessage stores a new message with one outbox row per recipient
  // and the log records, atomically. ALREADY_EXISTS when the id is taken.
  // A row's next attempt is stored as no earlier than the commit, so that a
  // row committed after a DueOutbox read never sorts before the rows that
  // read returned (its `after` would skip it).
  virtual absl::Status AcceptMessage(const MessageRow& message, const std::vector<OutboxRow>& rows,
                                     const std::vector<LogItem>& log) = 0;
  // AcceptMessage with `complete`: the rows are made by `complete`, called
  // by the group commit that writes them, just before it begins (gateway.cc
  // waits there for its envelopes' batch signature, so that the Sends of one
  // group commit share one signature); its failure fails the write. `*rows`
  // is set to the rows as written.
  virtual absl::Status AcceptMessage(
      const MessageRow& message, std::vector<OutboxRow>* rows, const std::vector<LogItem>& log,
      const std::function<absl::StatusOr<std::vector<OutboxRow>>()>& complete) = 0;

  // DueOutbox returns up to `limit` rows in state accepted or relayed whose
  // next attempt is at or before `now`, in due order (next attempt, then
  // position), starting after `after` (the `due` of the last row of the
  // previous call; DuePosition() for the first).
  virtual absl::StatusOr<std::vector<OutboxRow>> DueOutbox(absl::Time now, int limit,
                                                           const DuePosition& after) = 0;

  // NextDue is the earliest next attempt after `after` of a row waiting for
  // a retry (pending, with a reason), if any. A row never tried is not one:
  // committed after the caller's `after` was taken, it would look like a
  // retry falling due at once.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDue(absl::Time after) = 0;

  // OutboxUpdate is one row's new state with its log records.
  struct OutboxUpdate {
    OutboxRow row;
    std::vector<LogItem> log;
  };
  // UpdateOutboxes sets state, attempts, next attempt, reason and (when not
  // empty) the receipt and stapled OCSP response of each row, with its log
  // records, in one transaction.
  virtual absl::Status UpdateOutboxes(const std::vector<OutboxUpdate>& updates) = 0;
  // UpdateOutbox is UpdateOutboxes of one row.
  absl::Status UpdateOutbox(const OutboxRow& row, const std::vector<LogItem>& log) {
    return UpdateOutboxes({{row, log}});
  }

  // FindInbox returns the inbox row, or nullopt.
  virtual absl::StatusOr<std::optional<InboxRow>> FindInbox(const std::string& message_id,
                                                            const std::string& recipient) = 0;

  // InboxInsert is a received message (and, for a business status about
  // one of our messages, the status row; and `answer`, when given, as
  // AcceptMessage would) with its log records.
  struct InboxInsert {
    const InboxRow* row = nullptr;
    const std::optional<StatusRow>* status = nullptr;  // nullptr: none
    const std::vector<LogItem>* log = nullptr;
    const Answer* answer = nullptr;
  };
  // InsertInboxes stores each insert atomically, all in one commit, and
  // returns a status per insert: ALREADY_EXISTS when its (message_id,
  // recipient) is there already (then nothing of it is stored; the others
  // are).
  virtual std::vector<absl::Status> InsertInboxes(const std::vector<InboxInsert>& inserts) = 0;
  // InsertInbox is InsertInboxes of one.
  absl::Status InsertInbox(const InboxRow& row, const std::optional<StatusRow>& status,
                           const std::vector<LogItem>& log, const Answer* answer = nullptr) {
    return InsertInboxes({{&row, &status, &log, answer}})[0];
  }

  // PendingInbox lists unacknowledged messages for `recipient`, oldest first.
  virtual absl::StatusOr<std::vector<InboxRow>> PendingInbox(const std::string& recipient,
                                                             int limit) = 0;

  // InboxKey names one inbox row.
  struct InboxKey {
    std::string message_id;
    std::string recipient;
  };
  // AckInbox marks messages acknowledged and appends `log`, in one
  // transaction: NOT_FOUND naming the first message not in its recipient's
  // inbox, and then nothing changes.
  virtual absl::Status AckInbox(const std::vector<InboxKey>& keys,
                                const std::vector<LogItem>& log) = 0;

  // InboxById lists inbox rows of a message id (any recipient).
  virtual absl::StatusOr<std::vector<InboxRow>> InboxById(const std::string& message_id) = 0;

  // GetMessage returns a message we accepted, or nullopt.
  virtual absl::StatusOr<std::optional<MessageRow>> GetMessage(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<OutboxRow>> OutboxOf(const std::string& message_id) = 0;
  virtual absl::StatusOr<std::vector<StatusRow>> StatusesOf(const std::string& message_id) = 0;
  // SentBy lists message ids sent by `sender`, newest first.
  virtual absl::StatusOr<std::vector<std::string>> SentBy(const std::string& sender, int limit) = 0;

  // GetPayload returns a payload kept in the database (see
  // MessageRow::inline_payload) by its SHA-256, or nullopt (then it is a
  // spool file, Spool::PathOf).
  virtual absl::StatusOr<std::optional<std::string>> GetPayload(const std::string& sha256) = 0;
  // GetPayloads is GetPayload of each digest, in order, in one go (readers
  // wait for the store's lock once, not once per payload).
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> GetPayloads(
      const std::vector<std::string>& sha256s) = 0;

  // AppendLogOnly appends log records (refusals) in their own transaction.
  virtual absl::Status AppendLogOnly(const std::vector<LogItem>& log) = 0;

  // Counts reads the number of outbox and inbox rows in each state (for
  // status reports). Read-only.
  virtual absl::StatusOr<QueueCounts> Counts() = 0;

  // HasStatusFor says whether `sender` already sent a status `code` about
  // message `in_reply_to`.
  virtual absl::StatusOr<bool> HasStatusFor(const std::string& in_reply_to,
                                            const std::string& sender,
                                            const std::string& code) = 0;
};

// SqliteStore opens (creating when needed) the database at `db_path`.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& db_path);

// Spool keeps payloads in `dir`, one file per SHA-256 (hex). Writers stream
// into a temporary file while hashing; Finish fsyncs it, renames it to its
// digest (keeping an existing identical file) and fsyncs the directory.
// Concurrent writers share directory fsyncs (SyncDir). Payloads of at most
// kInlineMax bytes never reach a file: the writer keeps them in memory and
// its caller stores them in the database row's transaction (one fsync, the
// commit's, shared by the group commit, instead of two per payload and an
// inode). Thread-safe.
class Spool {
 public:
  explicit Spool(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Init();

  // Payload files are written and read with O_DIRECT where the file system
  // allows it, through one aligned block of kBlock bytes; elsewhere (tmpfs,
  // or a write the kernel refuses) through the page cache as before. Why:
  // on this machine filling fresh page-cache pages is the dearest part of a
  // large payload (measured with dd: buffered write + fsync 469 MB/s,
  // O_DIRECT 2.3 GB/s; cold buffered read 1.0 GB/s, O_DIRECT 1.5 GB/s), and
  // a payload is read back once per recipient, so the cache gains nothing.
  static constexpr size_t kBlock = 1 << 20;

  // Writer is one payload being written. Not thread-safe; the destructor
  // removes an uncommitted temporary file.
  class Writer {
   public:
    ~Writer();
    absl::Status Append(absl::string_view data);
    uint64_t size() const { return size_; }
    // Finish fsyncs and names the file by its digest; returns the digest.
    // An inlined payload is not durable after Finish: the caller stores
    // data() with its rows.
    absl::StatusOr<std::string> Finish();
    // inlined says the payload (at most kInlineMax bytes) is in data(), not
    // in a file.
    bool inlined() const { return may_inline_ && fd_ < 0 && tmp_path_.empty(); }
    const std::string& data() const { return buffer_; }

   private:
    friend class Spool;
    Writer() = default;
    absl::Status StartFile();  // creates the temporary file, writes buffer_
    absl::Status WriteFile(absl::string_view data);  // to the file, through block_ when direct
    absl::Status FlushBlock();  // hands a full block_ to a background write
    absl::Status FlushLast();   // writes what block_ holds at the end, then waits
    absl::Status AwaitWrite();  // waits for the background write
    // Settle finishes a direct write of `size` bytes that wrote `n` (or
    // failed: -errno): what it did not write goes through the page cache.
    absl::Status Settle(const char* data, size_t size, ssize_t n);
    Spool* spool_ = nullptr;
    std::string dir_;
    std::string tmp_path_;
    int fd_ = -1;
    void* sha_ = nullptr;  // EVP_MD_CTX
    uint64_t size_ = 0;
    uint64_t writeback_from_ = 0;  // bytes before this were handed to sync_file_range
    bool finished_ = false;
    bool may_inline_ = false;
    std::string buffer_;  // the payload while it is at most kInlineMax bytes
    // Direct writes: block_ fills while the full one before it (spare_) is
    // written by a background thread, so disk and network overlap as
    // page-cache writeback made them before.
    bool direct_ = false;  // fd_ is O_DIRECT; writes go through block_
    std::unique_ptr<char, void (*)(void*)> block_{nullptr, &::free};  // kBlock, aligned
    std::unique_ptr<char, void (*)(void*)> spare_{nullptr, &::free};  // kBlock, aligned
    size_t block_used_ = 0;
    std::future<ssize_t> writing_;  // of spare_: bytes written or -errno
  };

  // Reader reads one payload file from its start. Not thread-safe.
  class Reader {
   public:
    // Read copies up to `n` bytes into `dst`; 0 means the end of the file.
    absl::StatusOr<size_t> Read(char* dst, size_t n);
    ~Reader();

   private:
    friend class Spool;
    Reader() = default;
    std::string path_;
    int fd_ = -1;
    absl::Status Refill();  // the next block into block_ (direct reads)
    // Direct reads: while block_ is copied out, the next block is read into
    // next_ by a background thread.
    bool direct_ = false;
    std::unique_ptr<char, void (*)(void*)> block_{nullptr, &::free};  // kBlock, aligned
    std::unique_ptr<char, void (*)(void*)> next_{nullptr, &::free};   // kBlock, aligned
    size_t block_at_ = 0;    // next unread byte in block_
    size_t block_size_ = 0;  // bytes in block_
    bool eof_ = false;       // a direct read returned nothing
    std::future<ssize_t> reading_;  // into next_: bytes read or -errno
  };
  // RefuseDirectIoForTesting makes every direct read and write fail with
  // EINVAL, as on a file system that accepts O_DIRECT but no direct I/O:
  // the only way to reach the fall-back paths on the file systems tests run
  // on.
  static void RefuseDirectIoForTesting(bool refuse);

  // OpenPayload opens the file of the payload with this digest (32 bytes).
  absl::StatusOr<std::unique_ptr<Reader>> OpenPayload(absl::string_view sha256) const;
  // kInlineMax is the largest payload kept in the database.
  static constexpr uint64_t kInlineMax = 64 * 1024;
  // NewWriter starts a payload; only with `may_inline` is a small one kept
  // in memory (inlined) for its caller to store in the database.
  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(bool may_inline = false);

  // PathOf is the file holding the payload with this digest (32 bytes).
  std::string PathOf(absl::string_view sha256) const;

  // SyncDir returns once an fsync of the directory that started after this
  // call has succeeded: callers arriving while one runs share the next one.
  absl::Status SyncDir();

 private:
  std::string dir_;
  absl::Mutex sync_mu_;
  uint64_t sync_requested_ ABSL_GUARDED_BY(sync_mu_) = 0;  // requests numbered from 1
  uint64_t sync_done_ ABSL_GUARDED_BY(sync_mu_) = 0;       // all requests <= this are synced
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
};

// HexOf renders bytes as lower-case hex.
std::string HexOf(absl::string_view bytes);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_STORE_H_
