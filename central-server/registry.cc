#include "central-server/registry.h"

#include <sqlite3.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "central-server/requests.h"
#include "common/status_macros.h"
#include "edxml/agency_code.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"

namespace axis::central {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS members (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS member_codes (code TEXT PRIMARY KEY, member TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subsystems (id TEXT PRIMARY KEY, member TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS servers (owner TEXT NOT NULL, code TEXT NOT NULL, address TEXT NOT NULL,
  PRIMARY KEY (owner, code));
CREATE TABLE IF NOT EXISTS server_auth_certs (owner TEXT NOT NULL, code TEXT NOT NULL,
  sha256 BLOB NOT NULL UNIQUE, cert_der BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS server_auth_certs_server ON server_auth_certs (owner, code);
CREATE INDEX IF NOT EXISTS subsystems_member ON subsystems (member);
CREATE TABLE IF NOT EXISTS cas (name TEXT PRIMARY KEY, cert_der BLOB NOT NULL UNIQUE,
  is_root INTEGER NOT NULL, ocsp_urls TEXT NOT NULL, crl_der BLOB);
CREATE TABLE IF NOT EXISTS tsas (name TEXT PRIMARY KEY, url TEXT NOT NULL, cert_der BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS groups (code TEXT PRIMARY KEY, description TEXT NOT NULL,
  members TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY AUTOINCREMENT, member TEXT NOT NULL,
  kind TEXT NOT NULL, summary TEXT NOT NULL, signed BLOB NOT NULL, sha256 BLOB NOT NULL UNIQUE,
  status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', received_at INTEGER NOT NULL,
  decided_at INTEGER);
CREATE TABLE IF NOT EXISTS conf_versions (version INTEGER PRIMARY KEY, bytes BLOB NOT NULL,
  sha256 BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys (id INTEGER PRIMARY KEY AUTOINCREMENT,
  cert_der BLOB NOT NULL UNIQUE, key_pem BLOB NOT NULL, state TEXT NOT NULL,
  activate_at INTEGER NOT NULL);  -- Unix milliseconds
)sql";

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("registry database: ", what, ": ", sqlite3_errmsg(db)));
}

// Stmt is one prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, absl::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Text(absl::string_view v) {
    sqlite3_bind_text(stmt_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Blob(absl::string_view v) {
    sqlite3_bind_blob(stmt_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Int(int64_t v) {
    sqlite3_bind_int64(stmt_, ++n_, v);
    return *this;
  }
  // Step returns true for a row, false when done.
  absl::StatusOr<bool> Step() {
    if (rc_ != SQLITE_OK) {
      return SqlError(db_, "prepare");
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return absl::AlreadyExistsError(sqlite3_errmsg(db_));
    }
    return SqlError(db_, "step");
  }
  absl::Status Run() {
    absl::StatusOr<bool> r = Step();
    return r.ok() ? absl::OkStatus() : r.status();
  }
  std::string Col(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
  int n_ = 0;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("registry database: ", message));
  }
  return absl::OkStatus();
}

bool ValidServerCode(absl::string_view code) {
  if (code.empty() || code.size() > 64) {
    return false;
  }
  for (char c : code) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status CheckAddress(absl::string_view address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 || port > 65535 ||
      address.find_first_of(" \t\r\n/") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", address, "\" is not HOST:PORT with a port from 1 to 65535"));
  }
  return absl::OkStatus();
}

absl::Status CheckUrl(absl::string_view url, absl::string_view what) {
  if (!(absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://")) ||
      url.size() > 2048 || url.find_first_of(" \t\r\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " \"", url, "\" is not an http(s) URL"));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniquePtr<X509>> ParseCert(absl::string_view der, absl::string_view what) {
  absl::StatusOr<UniquePtr<X509>> cert = signer::ParseDerCertificate(der);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", cert.status().message()));
  }
  return cert;
}

}  // namespace

// Tx is one BEGIN IMMEDIATE ... COMMIT; rolled back unless committed.
class Registry::Tx {
 public:
  explicit Tx(sqlite3* db) : db_(db) {}
  absl::Status Begin() {
    AXIS_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    AXIS_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    open_ = false;
    return absl::OkStatus();
  }
  ~Tx() {
    if (open_) {
      (void)Exec(db_, "ROLLBACK");
    }
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

Registry::Registry(sqlite3* db, std::string instance, std::string central_address,
                   const Clock* clock)
    : db_(db),
      instance_(std::move(instance)),
      central_address_(std::move(central_address)),
      clock_(clock) {}

Registry::~Registry() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(const std::string& path,
                                                         const std::string& instance,
                                                         const std::string& central_address,
                                                         const std::string& signing_cert_der,
                                                         const Clock* clock) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open database: ", message));
  }
  std::unique_ptr<Registry> r(new Registry(db, instance, central_address, clock));
  absl::MutexLock lock(&r->mu_);
  sqlite3_busy_timeout(db, 5000);
  AXIS_RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL"));
  AXIS_RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous=FULL"));
  AXIS_RETURN_IF_ERROR(Exec(db, kSchema));
  Tx tx(db);
  AXIS_RETURN_IF_ERROR(tx.Begin());
  {
    Stmt s(db, "SELECT COUNT(*) FROM signing_keys WHERE state = 'active'");
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row || s.ColInt(0) == 0) {
      Stmt ins(db,
               "INSERT INTO signing_keys (cert_der, key_pem, state, activate_at) "
               "VALUES (?, '', 'active', 0)");
      AXIS_RETURN_IF_ERROR(ins.Blob(signing_cert_der).Run());
    }
  }
  {
    Stmt s(db, "SELECT version, bytes FROM conf_versions ORDER BY version DESC LIMIT 1");
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      r->latest_.version = static_cast<uint64_t>(s.ColInt(0));
      r->latest_.bytes = s.Col(1);
    }
  }
  AXIS_RETURN_IF_ERROR(r->PublishIfChanged());
  AXIS_RETURN_IF_ERROR(tx.Commit());
  return r;
}

ConfVersion Registry::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

absl::StatusOr<std::vector<ConfVersion>> Registry::History(uint64_t from) const {
  absl::MutexLock lock(&mu_);
  Stmt s(db_, "SELECT version, bytes FROM conf_versions WHERE version >= ? ORDER BY version");
  s.Int(static_cast<int64_t>(from));
  std::vector<ConfVersion> out;
  while (true) {
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      break;
    }
    out.push_back({static_cast<uint64_t>(s.ColInt(0)), s.Col(1)});
  }
  return out;
}

template <typename F>
absl::StatusOr<uint64_t> Registry::Mutate(F change) {
  absl::MutexLock lock(&mu_);
  ConfVersion before = latest_;
  Tx tx(db_);
  AXIS_RETURN_IF_ERROR(tx.Begin());
  absl::Status s = change();
  if (s.ok()) {
    s = PublishIfChanged();
  }
  if (s.ok()) {
    s = tx.Commit();
  }
  if (!s.ok()) {
    latest_ = before;
    return s;
  }
  return latest_.version;
}

absl::StatusOr<GlobalConf> Registry::BuildContent() const {
  GlobalConf conf;
  conf.set_instance(instance_);
  conf.set_central_address(central_address_);
  {
    std::map<std::string, std::vector<std::string>> other_codes;
    Stmt c(db_, "SELECT member, code FROM member_codes ORDER BY member, code");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, c.Step());
      if (!row) {
        break;
      }
      other_codes[c.Col(0)].push_back(c.Col(1));
    }
    Stmt s(db_, "SELECT id, name FROM members ORDER BY id");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      Member* m = conf.add_members();
      AXIS_ASSIGN_OR_RETURN(*m->mutable_id(), ParseMemberId(s.Col(0)));
      m->set_name(s.Col(1));
      if (auto it = other_codes.find(s.Col(0)); it != other_codes.end()) {
        for (const std::string& code : it->second) {
          m->add_other_codes(code);
        }
      }
    }
  }
  {
    Stmt s(db_, "SELECT id, name FROM subsystems ORDER BY id");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      Subsystem* m = conf.add_subsystems();
      AXIS_ASSIGN_OR_RETURN(*m->mutable_id(), ParseSubsystemId(s.Col(0)));
      m->set_name(s.Col(1));
    }
  }
  {
    Stmt s(db_, "SELECT owner, code, address FROM servers ORDER BY owner, code");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      SecurityServer* m = conf.add_security_servers();
      AXIS_ASSIGN_OR_RETURN(*m->mutable_owner(), ParseMemberId(s.Col(0)));
      m->set_server_code(s.Col(1));
      m->set_address(s.Col(2));
      Stmt c(db_,
             "SELECT sha256 FROM server_auth_certs WHERE owner = ? AND code = ? ORDER BY sha256");
      c.Text(s.Col(0)).Text(s.Col(1));
      while (true) {
        AXIS_ASSIGN_OR_RETURN(bool crow, c.Step());
        if (!crow) {
          break;
        }
        m->add_auth_cert_sha256(c.Col(0));
      }
    }
  }
  {
    Stmt s(db_, "SELECT name, cert_der, is_root, ocsp_urls, crl_der FROM cas ORDER BY name");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      TrustedCa* m = conf.add_cas();
      m->set_name(s.Col(0));
      m->set_cert_der(s.Col(1));
      m->set_is_root(s.ColInt(2) != 0);
      for (absl::string_view u : absl::StrSplit(s.Col(3), '\n', absl::SkipEmpty())) {
        m->add_ocsp_urls(std::string(u));
      }
      m->set_crl_der(s.Col(4));
    }
  }
  {
    Stmt s(db_, "SELECT name, url, cert_der FROM tsas ORDER BY name");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      TimestampingAuthority* m = conf.add_tsas();
      m->set_name(s.Col(0));
      m->set_url(s.Col(1));
      m->set_cert_der(s.Col(2));
    }
  }
  {
    Stmt s(db_, "SELECT code, description, members FROM groups ORDER BY code");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      AccessGroup* m = conf.add_groups();
      m->set_code(s.Col(0));
      m->set_description(s.Col(1));
      for (absl::string_view u : absl::StrSplit(s.Col(2), '\n', absl::SkipEmpty())) {
        AXIS_ASSIGN_OR_RETURN(*m->add_members(), ParseIdentifier(u));
      }
    }
  }
  {
    Stmt s(db_, "SELECT cert_der FROM signing_keys WHERE state IN ('active', 'next') ORDER BY id");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      conf.add_signing_certs_der(s.Col(0));
    }
  }
  return conf;
}

absl::Status Registry::PublishIfChanged() {
  AXIS_ASSIGN_OR_RETURN(GlobalConf content, BuildContent());
  if (latest_.version != 0) {
    GlobalConf previous;
    if (!previous.ParseFromString(latest_.bytes)) {
      return absl::DataLossError(
          absl::StrCat("registry database: version ", latest_.version, " is unreadable"));
    }
    previous.clear_version();
    previous.clear_created_at();
    previous.clear_previous_sha256();
    std::string a;
    std::string b;
    {
      google::protobuf::io::StringOutputStream sa(&a);
      google::protobuf::io::CodedOutputStream ca(&sa);
      ca.SetSerializationDeterministic(true);
      previous.SerializeToCodedStream(&ca);
    }
    {
      google::protobuf::io::StringOutputStream sb(&b);
      google::protobuf::io::CodedOutputStream cb(&sb);
      cb.SetSerializationDeterministic(true);
      content.SerializeToCodedStream(&cb);
    }
    if (a == b) {
      return absl::OkStatus();
    }
    content.set_previous_sha256(signer::Sha256(latest_.bytes));
  }
  absl::Time now = clock_->Now();
  content.set_version(latest_.version + 1);
  content.mutable_created_at()->set_seconds(absl::ToUnixSeconds(now));
  std::string bytes = content.SerializeAsString();
  Stmt ins(db_,
           "INSERT INTO conf_versions (version, bytes, sha256, created_at) VALUES (?, ?, ?, ?)");
  AXIS_RETURN_IF_ERROR(ins.Int(static_cast<int64_t>(content.version()))
                           .Blob(bytes)
                           .Blob(signer::Sha256(bytes))
                           .Int(absl::ToUnixSeconds(now))
                           .Run());
  latest_.version = content.version();
  latest_.bytes = std::move(bytes);
  return absl::OkStatus();
}

absl::Status Registry::CheckMemberId(const Identifier& id) const {
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(id));
  if (!id.subsystem().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", FormatIdentifier(id), "\" is a subsystem, not a member"));
  }
  if (id.instance() != instance_) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", FormatIdentifier(id), "\" is not of instance ", instance_));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Registry::Exists(absl::string_view sql, absl::string_view key) const {
  Stmt s(db_, sql);
  s.Text(key);
  return s.Step();
}

absl::Status Registry::CheckNotInGroup(const std::string& key) const {
  // Group members are stored one per line.
  Stmt s(db_, "SELECT code FROM groups WHERE instr(char(10) || members || char(10), ?) > 0");
  AXIS_ASSIGN_OR_RETURN(bool row, s.Text(absl::StrCat("\n", key, "\n")).Step());
  if (row) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, " is a member of access group ", s.Col(0), "; remove it there first"));
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckChainsToTrustedCa(const std::string& cert_der,
                                              absl::string_view what) const {
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, ParseCert(cert_der, what));
  signer::TrustStore trust;
  Stmt s(db_, "SELECT cert_der, is_root, crl_der FROM cas");
  while (true) {
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      break;
    }
    AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> ca, ParseCert(s.Col(0), "trusted CA"));
    if (s.ColInt(1) != 0) {
      trust.AddRoot(std::move(ca));
    } else {
      trust.AddIntermediate(std::move(ca));
    }
    std::string crl_der = s.Col(2);
    if (!crl_der.empty()) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(crl_der.data());
      UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der.size())));
      if (crl != nullptr) {
        trust.AddCrl(std::move(crl));
      }
    }
  }
  if (trust.roots().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " does not chain to a trusted CA: no root CA is registered"));
  }
  signer::ChainResult result =
      signer::ValidateChain(cert.get(), {}, trust, clock_->Now(), !trust.crls().empty());
  if (!result.valid) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " does not chain to a trusted CA: ", result.error));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Registry::AddMember(const Identifier& id, const std::string& name,
                                             const std::vector<std::string>& other_codes) {
  AXIS_RETURN_IF_ERROR(CheckMemberId(id));
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("member ", FormatIdentifier(id), ": a name is required"));
  }
  std::set<std::string> codes;
  for (const std::string& code : other_codes) {
    absl::StatusOr<edxml::AgencyCode> parsed = edxml::ParseAgencyCode(code);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("member ", FormatIdentifier(id),
                                                     ": other code: ", parsed.status().message()));
    }
    if (code == id.member_code() || !codes.insert(code).second) {
      return absl::InvalidArgumentError(absl::StrCat("member ", FormatIdentifier(id),
                                                     ": other code ", code, " given twice"));
    }
  }
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    std::string key = FormatIdentifier(id);
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM members WHERE id = ?", key));
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat("member ", key, " already exists"));
    }
    // A code names one member: not another's member code nor another's other code.
    AXIS_ASSIGN_OR_RETURN(bool taken, Exists("SELECT 1 FROM member_codes WHERE code = ?",
                                             id.member_code()));
    if (taken) {
      return absl::AlreadyExistsError(
          absl::StrCat("code ", id.member_code(), " is another member's other code"));
    }
    for (const std::string& code : codes) {
      // Agency codes hold only letters, digits and dots: no LIKE wildcards.
      AXIS_ASSIGN_OR_RETURN(bool used, Exists("SELECT 1 FROM members WHERE id LIKE ?",
                                              absl::StrCat("%/", code)));
      AXIS_ASSIGN_OR_RETURN(bool aliased,
                            Exists("SELECT 1 FROM member_codes WHERE code = ?", code));
      if (used || aliased) {
        return absl::AlreadyExistsError(
            absl::StrCat("member ", key, ": code ", code, " already names another member"));
      }
      Stmt c(db_, "INSERT INTO member_codes (code, member) VALUES (?, ?)");
      AXIS_RETURN_IF_ERROR(c.Text(code).Text(key).Run());
    }
    Stmt s(db_, "INSERT INTO members (id, name) VALUES (?, ?)");
    return s.Text(key).Text(name).Run();
  });
}

absl::StatusOr<uint64_t> Registry::RemoveMember(const Identifier& id) {
  AXIS_RETURN_IF_ERROR(CheckMemberId(id));
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    std::string key = FormatIdentifier(id);
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM members WHERE id = ?", key));
    if (!exists) {
      return absl::NotFoundError(absl::StrCat("unknown member ", key));
    }
    AXIS_ASSIGN_OR_RETURN(bool subs, Exists("SELECT 1 FROM subsystems WHERE member = ?", key));
    AXIS_ASSIGN_OR_RETURN(bool servers, Exists("SELECT 1 FROM servers WHERE owner = ?", key));
    if (subs || servers) {
      return absl::FailedPreconditionError(absl::StrCat(
          "member ", key, " still has subsystems or security servers; remove them first"));
    }
    AXIS_RETURN_IF_ERROR(CheckNotInGroup(key));
    Stmt c(db_, "DELETE FROM member_codes WHERE member = ?");
    AXIS_RETURN_IF_ERROR(c.Text(key).Run());
    Stmt s(db_, "DELETE FROM members WHERE id = ?");
    return s.Text(key).Run();
  });
}

absl::StatusOr<uint64_t> Registry::AddSubsystem(const Identifier& id, const std::string& name) {
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(id));
  if (id.subsystem().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", FormatIdentifier(id), "\" is a member, not a subsystem"));
  }
  AXIS_RETURN_IF_ERROR(CheckMemberId(MemberOf(id)));
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    std::string key = FormatIdentifier(id);
    std::string member = FormatIdentifier(MemberOf(id));
    AXIS_ASSIGN_OR_RETURN(bool member_exists, Exists("SELECT 1 FROM members WHERE id = ?", member));
    if (!member_exists) {
      return absl::NotFoundError(absl::StrCat("unknown member ", member));
    }
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM subsystems WHERE id = ?", key));
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat("subsystem ", key, " already exists"));
    }
    Stmt s(db_, "INSERT INTO subsystems (id, member, name) VALUES (?, ?, ?)");
    return s.Text(key).Text(member).Text(name).Run();
  });
}

absl::StatusOr<uint64_t> Registry::RemoveSubsystem(const Identifier& id) {
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(id));
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    std::string key = FormatIdentifier(id);
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM subsystems WHERE id = ?", key));
    if (!exists) {
      return absl::NotFoundError(absl::StrCat("unknown subsystem ", key));
    }
    AXIS_RETURN_IF_ERROR(CheckNotInGroup(key));
    Stmt s(db_, "DELETE FROM subsystems WHERE id = ?");
    return s.Text(key).Run();
  });
}

absl::Status Registry::AddServerLocked(const Identifier& owner, const std::string& server_code,
                                       const std::string& address, const std::string& auth_cert_der,
                                       bool allow_existing) {
  AXIS_RETURN_IF_ERROR(CheckMemberId(owner));
  if (!ValidServerCode(server_code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("server code \"", server_code, "\" must be 1-64 of [A-Za-z0-9._-]"));
  }
  AXIS_RETURN_IF_ERROR(CheckAddress(address));
  std::string key = FormatIdentifier(owner);
  AXIS_ASSIGN_OR_RETURN(bool member_exists, Exists("SELECT 1 FROM members WHERE id = ?", key));
  if (!member_exists) {
    return absl::NotFoundError(absl::StrCat("unknown member ", key));
  }
  AXIS_RETURN_IF_ERROR(CheckChainsToTrustedCa(auth_cert_der, "authentication certificate"));
  Stmt find(db_, "SELECT 1 FROM servers WHERE owner = ? AND code = ?");
  AXIS_ASSIGN_OR_RETURN(bool exists, find.Text(key).Text(server_code).Step());
  if (exists && !allow_existing) {
    return absl::AlreadyExistsError(
        absl::StrCat("security server ", key, "/", server_code, " already exists"));
  }
  std::string sha = signer::Sha256(auth_cert_der);
  Stmt dup(db_, "SELECT owner, code FROM server_auth_certs WHERE sha256 = ?");
  AXIS_ASSIGN_OR_RETURN(bool dup_row, dup.Blob(sha).Step());
  if (dup_row) {
    return absl::AlreadyExistsError(
        absl::StrCat("authentication certificate is already registered for security server ",
                     dup.Col(0), "/", dup.Col(1)));
  }
  if (!exists) {
    Stmt s(db_, "INSERT INTO servers (owner, code, address) VALUES (?, ?, ?)");
    AXIS_RETURN_IF_ERROR(s.Text(key).Text(server_code).Text(address).Run());
  } else {
    Stmt s(db_, "UPDATE servers SET address = ? WHERE owner = ? AND code = ?");
    AXIS_RETURN_IF_ERROR(s.Text(address).Text(key).Text(server_code).Run());
  }
  Stmt c(db_, "INSERT INTO server_auth_certs (owner, code, sha256, cert_der) VALUES (?, ?, ?, ?)");
  return c.Text(key).Text(server_code).Blob(sha).Blob(auth_cert_der).Run();
}

absl::StatusOr<uint64_t> Registry::AddServer(const Identifier& owner,
                                             const std::string& server_code,
                                             const std::string& address,
                                             const std::string& auth_cert_der) {
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return AddServerLocked(owner, server_code, address, auth_cert_der, false);
  });
}

absl::StatusOr<uint64_t> Registry::RemoveServer(const Identifier& owner,
                                                const std::string& server_code) {
  AXIS_RETURN_IF_ERROR(CheckMemberId(owner));
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    std::string key = FormatIdentifier(owner);
    Stmt find(db_, "SELECT 1 FROM servers WHERE owner = ? AND code = ?");
    AXIS_ASSIGN_OR_RETURN(bool exists, find.Text(key).Text(server_code).Step());
    if (!exists) {
      return absl::NotFoundError(absl::StrCat("unknown security server ", key, "/", server_code));
    }
    Stmt c(db_, "DELETE FROM server_auth_certs WHERE owner = ? AND code = ?");
    AXIS_RETURN_IF_ERROR(c.Text(key).Text(server_code).Run());
    Stmt s(db_, "DELETE FROM servers WHERE owner = ? AND code = ?");
    return s.Text(key).Text(server_code).Run();
  });
}

absl::StatusOr<uint64_t> Registry::AddCa(const std::string& name_in, const std::string& cert_der,
                                         const std::vector<std::string>& ocsp_urls,
                                         const std::string& crl_der) {
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, ParseCert(cert_der, "CA certificate"));
  if (X509_check_ca(cert.get()) == 0) {
    return absl::InvalidArgumentError("CA certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  for (const std::string& url : ocsp_urls) {
    AXIS_RETURN_IF_ERROR(CheckUrl(url, "OCSP URL"));
  }
  if (!crl_der.empty()) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(crl_der.data());
    UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der.size())));
    if (crl == nullptr ||
        p != reinterpret_cast<const unsigned char*>(crl_der.data()) + crl_der.size()) {
      return absl::InvalidArgumentError("CRL is not a DER X.509 CRL");
    }
    UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert.get()));
    if (X509_CRL_verify(crl.get(), key.get()) != 1) {
      return absl::InvalidArgumentError("CRL is not signed by this CA");
    }
  }
  bool self_signed = X509_check_issued(cert.get(), cert.get()) == X509_V_OK;
  std::string name = name_in;
  if (name.empty()) {
    name = signer::DescribeCertificate(cert.get()).subject;
  }
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    if (!self_signed) {
      AXIS_RETURN_IF_ERROR(CheckChainsToTrustedCa(cert_der, "intermediate CA certificate"));
    }
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM cas WHERE name = ?", name));
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat("CA \"", name, "\" already exists"));
    }
    Stmt s(db_,
           "INSERT INTO cas (name, cert_der, is_root, ocsp_urls, crl_der) VALUES (?, ?, ?, ?, ?)");
    absl::Status st = s.Text(name)
                          .Blob(cert_der)
                          .Int(self_signed ? 1 : 0)
                          .Text(absl::StrJoin(ocsp_urls, "\n"))
                          .Blob(crl_der)
                          .Run();
    if (absl::IsAlreadyExists(st)) {
      return absl::AlreadyExistsError(absl::StrCat("CA certificate is already registered"));
    }
    return st;
  });
}

absl::StatusOr<uint64_t> Registry::RemoveCa(const std::string& name) {
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM cas WHERE name = ?", name));
    if (!exists) {
      return absl::NotFoundError(absl::StrCat("unknown CA \"", name, "\""));
    }
    Stmt s(db_, "DELETE FROM cas WHERE name = ?");
    return s.Text(name).Run();
  });
}

absl::StatusOr<uint64_t> Registry::AddTsa(const std::string& name_in, const std::string& url,
                                          const std::string& cert_der) {
  AXIS_RETURN_IF_ERROR(CheckUrl(url, "TSA URL"));
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, ParseCert(cert_der, "TSA certificate"));
  std::string name = name_in.empty() ? signer::DescribeCertificate(cert.get()).subject : name_in;
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    AXIS_RETURN_IF_ERROR(CheckChainsToTrustedCa(cert_der, "TSA certificate"));
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM tsas WHERE name = ?", name));
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat("TSA \"", name, "\" already exists"));
    }
    Stmt s(db_, "INSERT INTO tsas (name, url, cert_der) VALUES (?, ?, ?)");
    return s.Text(name).Text(url).Blob(cert_der).Run();
  });
}

absl::StatusOr<uint64_t> Registry::RemoveTsa(const std::string& name) {
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM tsas WHERE name = ?", name));
    if (!exists) {
      return absl::NotFoundError(absl::StrCat("unknown TSA \"", name, "\""));
    }
    Stmt s(db_, "DELETE FROM tsas WHERE name = ?");
    return s.Text(name).Run();
  });
}

absl::StatusOr<uint64_t> Registry::AddGroup(const std::string& code, const std::string& description,
                                            const std::vector<Identifier>& members) {
  if (!ValidServerCode(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("group code \"", code, "\" must be 1-64 of [A-Za-z0-9._-]"));
  }
  for (const Identifier& id : members) {
    AXIS_RETURN_IF_ERROR(ValidateIdentifier(id));
  }
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    std::vector<std::string> keys;
    for (const Identifier& id : members) {
      std::string key = FormatIdentifier(id);
      AXIS_ASSIGN_OR_RETURN(bool exists,
                            Exists(id.subsystem().empty() ? "SELECT 1 FROM members WHERE id = ?"
                                                          : "SELECT 1 FROM subsystems WHERE id = ?",
                                   key));
      if (!exists) {
        return absl::NotFoundError(
            absl::StrCat("unknown ", id.subsystem().empty() ? "member " : "subsystem ", key));
      }
      keys.push_back(key);
    }
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM groups WHERE code = ?", code));
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat("group ", code, " already exists"));
    }
    std::sort(keys.begin(), keys.end());
    Stmt s(db_, "INSERT INTO groups (code, description, members) VALUES (?, ?, ?)");
    return s.Text(code).Text(description).Text(absl::StrJoin(keys, "\n")).Run();
  });
}

absl::StatusOr<uint64_t> Registry::RemoveGroup(const std::string& code) {
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM groups WHERE code = ?", code));
    if (!exists) {
      return absl::NotFoundError(absl::StrCat("unknown group ", code));
    }
    Stmt s(db_, "DELETE FROM groups WHERE code = ?");
    return s.Text(code).Run();
  });
}

absl::StatusOr<uint64_t> Registry::FileRequest(const SignedManagementRequest& signed_request,
                                               const ManagementRequest& request) {
  absl::MutexLock lock(&mu_);
  std::string bytes = signed_request.SerializeAsString();
  Stmt s(db_,
         "INSERT INTO requests (member, kind, summary, signed, sha256, status, received_at) "
         "VALUES (?, ?, ?, ?, ?, 'pending', ?)");
  absl::Status st = s.Text(FormatIdentifier(request.member()))
                        .Text(RequestKind(request))
                        .Text(RequestSummary(request))
                        .Blob(bytes)
                        .Blob(signer::Sha256(signed_request.request()))
                        .Int(absl::ToUnixSeconds(clock_->Now()))
                        .Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError("this management request was already submitted");
  }
  AXIS_RETURN_IF_ERROR(st);
  return static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
}

absl::Status Registry::ApplyAction(const ManagementRequest& request) {
  const Identifier& member = request.member();
  std::string key = FormatIdentifier(member);
  switch (request.action_case()) {
    case ManagementRequest::kRegisterServer: {
      const RegisterServerAction& a = request.register_server();
      return AddServerLocked(member, a.server_code(), a.address(), a.auth_cert_der(), true);
    }
    case ManagementRequest::kDeleteAuthCert: {
      const DeleteAuthCertAction& a = request.delete_auth_cert();
      Stmt s(db_, "DELETE FROM server_auth_certs WHERE owner = ? AND code = ? AND sha256 = ?");
      AXIS_RETURN_IF_ERROR(s.Text(key).Text(a.server_code()).Blob(a.auth_cert_sha256()).Run());
      if (sqlite3_changes(db_) == 0) {
        return absl::NotFoundError(absl::StrCat("security server ", key, "/", a.server_code(),
                                                " has no such authentication certificate"));
      }
      return absl::OkStatus();
    }
    case ManagementRequest::kAddSubsystem:
    case ManagementRequest::kDeleteSubsystem: {
      const SubsystemAction& a = request.action_case() == ManagementRequest::kAddSubsystem
                                     ? request.add_subsystem()
                                     : request.delete_subsystem();
      AXIS_RETURN_IF_ERROR(ValidateIdentifier(a.subsystem()));
      if (a.subsystem().subsystem().empty() || !SameIdentifier(MemberOf(a.subsystem()), member)) {
        return absl::PermissionDeniedError(absl::StrCat(
            "subsystem ", FormatIdentifier(a.subsystem()), " does not belong to member ", key));
      }
      std::string sub = FormatIdentifier(a.subsystem());
      AXIS_ASSIGN_OR_RETURN(bool exists, Exists("SELECT 1 FROM subsystems WHERE id = ?", sub));
      if (request.action_case() == ManagementRequest::kAddSubsystem) {
        if (exists) {
          return absl::AlreadyExistsError(absl::StrCat("subsystem ", sub, " already exists"));
        }
        Stmt s(db_, "INSERT INTO subsystems (id, member, name) VALUES (?, ?, ?)");
        return s.Text(sub).Text(key).Text(a.name()).Run();
      }
      if (!exists) {
        return absl::NotFoundError(absl::StrCat("unknown subsystem ", sub));
      }
      AXIS_RETURN_IF_ERROR(CheckNotInGroup(sub));
      Stmt s(db_, "DELETE FROM subsystems WHERE id = ?");
      return s.Text(sub).Run();
    }
    case ManagementRequest::kChangeAddress: {
      const ChangeAddressAction& a = request.change_address();
      AXIS_RETURN_IF_ERROR(CheckAddress(a.address()));
      Stmt s(db_, "UPDATE servers SET address = ? WHERE owner = ? AND code = ?");
      AXIS_RETURN_IF_ERROR(s.Text(a.address()).Text(key).Text(a.server_code()).Run());
      if (sqlite3_changes(db_) == 0) {
        return absl::NotFoundError(
            absl::StrCat("unknown security server ", key, "/", a.server_code()));
      }
      return absl::OkStatus();
    }
    case ManagementRequest::ACTION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("management request has no action");
}

absl::StatusOr<uint64_t> Registry::ApproveRequest(uint64_t id) {
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Stmt s(db_, "SELECT signed, status FROM requests WHERE id = ?");
    AXIS_ASSIGN_OR_RETURN(bool row, s.Int(static_cast<int64_t>(id)).Step());
    if (!row) {
      return absl::NotFoundError(absl::StrCat("unknown request ", id));
    }
    if (s.Col(1) != "pending") {
      return absl::FailedPreconditionError(absl::StrCat("request ", id, " is already ", s.Col(1)));
    }
    SignedManagementRequest signed_request;
    ManagementRequest request;
    if (!signed_request.ParseFromString(s.Col(0)) ||
        !request.ParseFromString(signed_request.request())) {
      return absl::DataLossError(absl::StrCat("request ", id, " is unreadable in the database"));
    }
    AXIS_RETURN_IF_ERROR(ApplyAction(request));
    Stmt u(db_, "UPDATE requests SET status = 'approved', decided_at = ? WHERE id = ?");
    return u.Int(absl::ToUnixSeconds(clock_->Now())).Int(static_cast<int64_t>(id)).Run();
  });
}

absl::Status Registry::RejectRequest(uint64_t id, const std::string& reason) {
  if (reason.empty()) {
    return absl::InvalidArgumentError("a reason is required to reject a request");
  }
  absl::StatusOr<uint64_t> r = Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Stmt s(db_, "SELECT status FROM requests WHERE id = ?");
    AXIS_ASSIGN_OR_RETURN(bool row, s.Int(static_cast<int64_t>(id)).Step());
    if (!row) {
      return absl::NotFoundError(absl::StrCat("unknown request ", id));
    }
    if (s.Col(0) != "pending") {
      return absl::FailedPreconditionError(absl::StrCat("request ", id, " is already ", s.Col(0)));
    }
    Stmt u(db_, "UPDATE requests SET status = 'rejected', reason = ?, decided_at = ? WHERE id = ?");
    return u.Text(reason)
        .Int(absl::ToUnixSeconds(clock_->Now()))
        .Int(static_cast<int64_t>(id))
        .Run();
  });
  return r.status();
}

absl::StatusOr<std::vector<RequestInfo>> Registry::ListRequests(bool pending_only) const {
  absl::MutexLock lock(&mu_);
  Stmt s(db_, pending_only ? "SELECT id, member, kind, summary, status, reason, received_at "
                             "FROM requests WHERE status = 'pending' ORDER BY id"
                           : "SELECT id, member, kind, summary, status, reason, received_at "
                             "FROM requests ORDER BY id");
  std::vector<RequestInfo> out;
  while (true) {
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      break;
    }
    RequestInfo info;
    info.set_id(static_cast<uint64_t>(s.ColInt(0)));
    AXIS_ASSIGN_OR_RETURN(*info.mutable_member(), ParseMemberId(s.Col(1)));
    info.set_kind(s.Col(2));
    info.set_summary(s.Col(3));
    info.set_status(s.Col(4));
    info.set_reason(s.Col(5));
    info.mutable_received_at()->set_seconds(s.ColInt(6));
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<uint64_t> Registry::AnnounceSigningKey(const std::string& cert_der,
                                                      const std::string& key_pem,
                                                      absl::Time activate_at) {
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, ParseCert(cert_der, "new signing certificate"));
  if (key_pem.empty()) {
    return absl::InvalidArgumentError("new signing key is empty");
  }
  return Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    AXIS_ASSIGN_OR_RETURN(bool pending,
                          Exists("SELECT 1 FROM signing_keys WHERE state = ?", "next"));
    if (pending) {
      return absl::FailedPreconditionError(
          "a key rotation is already in progress; wait until the new key is active");
    }
    Stmt s(db_,
           "INSERT INTO signing_keys (cert_der, key_pem, state, activate_at) "
           "VALUES (?, ?, 'next', ?)");
    absl::Status st = s.Blob(cert_der).Blob(key_pem).Int(absl::ToUnixMillis(activate_at)).Run();
    if (absl::IsAlreadyExists(st)) {
      return absl::AlreadyExistsError("this signing certificate was already used");
    }
    return st;
  });
}

absl::StatusOr<bool> Registry::ActivateDueKeys(absl::Time now) {
  bool activated = false;
  absl::StatusOr<uint64_t> r = Mutate([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Stmt s(db_, "SELECT id FROM signing_keys WHERE state = 'next' AND activate_at <= ?");
    AXIS_ASSIGN_OR_RETURN(bool row, s.Int(absl::ToUnixMillis(now)).Step());
    if (!row) {
      return absl::OkStatus();
    }
    int64_t id = s.ColInt(0);
    AXIS_RETURN_IF_ERROR(
        Exec(db_, "UPDATE signing_keys SET state = 'retired' WHERE state = 'active'"));
    Stmt u(db_, "UPDATE signing_keys SET state = 'active' WHERE id = ?");
    AXIS_RETURN_IF_ERROR(u.Int(id).Run());
    activated = true;
    return absl::OkStatus();
  });
  if (!r.ok()) {
    return r.status();
  }
  return activated;
}

absl::StatusOr<SigningKeyRecord> Registry::ActiveSigningKey() const {
  absl::MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT id, cert_der, key_pem, state, activate_at FROM signing_keys "
         "WHERE state = 'active' ORDER BY id DESC LIMIT 1");
  AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::InternalError("registry database: no active signing key");
  }
  SigningKeyRecord out;
  out.id = s.ColInt(0);
  out.cert_der = s.Col(1);
  out.key_pem = s.Col(2);
  out.state = s.Col(3);
  out.activate_at = absl::FromUnixMillis(s.ColInt(4));
  return out;
}

}  // namespace axis::central
