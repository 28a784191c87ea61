// axis edxml: build, show, validate and unpack edXML messages, and answer
// them with status messages (../shared/CLI.md).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "edxml/agency_code.h"
#include "edxml/json.h"
#include "edxml/message.h"
#include "edxml/reader.h"
#include "edxml/status.h"
#include "edxml/validate.h"
#include "edxml/writer.h"

namespace axis::cli {
namespace {

using edxml::Message;

using edxml::VietnamTime;

std::string Json(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Progress prints "reading N MB" on a terminal for large inputs.
edxml::ReadOptions ReadOptionsFor(const std::string& path) {
  edxml::ReadOptions options;
  struct stat st;
  if (::isatty(STDERR_FILENO) && ::stat(path.c_str(), &st) == 0 && st.st_size > (64 << 20)) {
    const double total = static_cast<double>(st.st_size) / (1 << 20);
    options.progress = [total, last = uint64_t{0}](uint64_t bytes) mutable {
      if (bytes - last >= (16u << 20)) {
        last = bytes;
        std::cerr << absl::StrFormat("\rreading %.0f / %.0f MB", static_cast<double>(bytes) / (1 << 20), total)
                  << std::flush;
      }
    };
  }
  return options;
}

void EndProgress(const edxml::ReadOptions& options) {
  if (options.progress) {
    std::cerr << "\r\033[K" << std::flush;
  }
}

std::string ContentTypeFor(absl::string_view name) {
  static constexpr std::pair<const char*, const char*> kTypes[] = {
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".xml", "application/xml"},
      {".doc", "application/msword"},
      {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {".xls", "application/vnd.ms-excel"},
      {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {".odt", "application/vnd.oasis.opendocument.text"},
      {".txt", "text/plain"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
  };
  std::string lower = absl::AsciiStrToLower(name);
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWith(lower, ext)) {
      return type;
    }
  }
  return "application/octet-stream";
}

std::string BaseName(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

// PrintProblems lists problems, one a line, on stdout; returns whether any
// is an error.
bool PrintProblems(const std::vector<edxml::Problem>& problems, std::ostream& out) {
  for (const edxml::Problem& p : problems) {
    out << p.ToString() << "\n";
  }
  return edxml::HasErrors(problems);
}

// ---- new ----

struct NewFlags {
  std::string from;
  std::vector<std::string> to;
  std::string code;
  std::string subject;
  std::string date;
  std::string place;
  std::string type_name;
  std::vector<std::string> attach;
  std::string out;
};

int RunNew(const NewFlags& f) {
  for (const std::string& c : std::vector<std::string>{f.from}) {
    if (absl::StatusOr<edxml::AgencyCode> a = edxml::ParseAgencyCode(c); !a.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat("--from: ", a.status().message())));
    }
  }
  for (const std::string& c : f.to) {
    if (absl::StatusOr<edxml::AgencyCode> a = edxml::ParseAgencyCode(c); !a.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat("--to: ", a.status().message())));
    }
  }
  size_t slash = f.code.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == f.code.size()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--code \"", f.code, "\" is not NUMBER/NOTATION, e.g. 123/QĐ-TTg")));
  }
  const absl::Time now = absl::Now();
  std::string date = f.date.empty() ? absl::FormatTime("%Y/%m/%d", now, VietnamTime()) : f.date;
  if (!edxml::IsDate(date)) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--date \"", date, "\" is not yyyy/MM/dd")));
  }
  Message m;
  edxml::MessageHeader& h = m.header;
  h.from.emplace().organ_id = f.from;
  for (const std::string& t : f.to) {
    h.to.emplace_back().organ_id = t;
  }
  h.document_id = absl::StrCat(f.from, ",", date, ",", f.code);
  h.code.emplace();
  h.code->code_number = f.code.substr(0, slash);
  h.code->code_notation = f.code.substr(slash + 1);
  h.promulgation_info.emplace().promulgation_date = date;
  if (!f.place.empty()) {
    h.promulgation_info->place = f.place;
  }
  if (!f.type_name.empty()) {
    h.document_type.emplace().type_name = f.type_name;
  }
  h.subject = f.subject;
  m.trace_header_list.emplace();
  edxml::TraceHeader& hop = m.trace_header_list->trace_header.emplace_back();
  hop.organ_id = f.from;
  hop.timestamp = absl::FormatTime("%Y/%m/%d %H:%M:%S", now, VietnamTime());
  edxml::Bussiness& b = m.trace_header_list->bussiness.emplace();
  b.document_id = h.document_id;
  b.bussiness_doc_type = "0";
  b.paper = "0";
  m.manifest.emplace().version = "1.0";
  for (size_t i = 0; i < f.attach.size(); ++i) {
    struct stat st;
    if (::stat(f.attach[i].c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Fail(absl::NotFoundError(absl::StrCat(
          f.attach[i], ": ", errno != 0 ? std::strerror(errno) : "not a regular file")));
    }
    std::string cid = absl::StrCat("cid:", i + 1);
    std::string name = BaseName(f.attach[i]);
    edxml::Reference& r = m.manifest->reference.emplace_back();
    r.content_id = cid;
    r.content_type = ContentTypeFor(name);
    r.attachment_name = name;
    edxml::Attachment& a = m.attachments.emplace_back();
    a.content_id = cid;
    a.attachment_name = name;
    a.content_type = r.content_type;
    a.content.emplace().path = f.attach[i];
  }
  std::vector<edxml::Problem> problems = edxml::Validate(m);
  if (edxml::HasErrors(problems)) {
    PrintProblems(problems, std::cerr);
    std::cerr << "axis: the message would not be valid; nothing written\n";
    return kExitUsage;
  }
  if (absl::Status s = edxml::WriteMessageFile(m, f.out); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "wrote " << f.out << " (" << f.attach.size() << " attachment"
            << (f.attach.size() == 1 ? "" : "s") << ", unsigned)\n";
  return kExitOk;
}

// ---- show ----

struct ShowFlags {
  bool json = false;
  std::string in;
};

std::string OrgText(const std::optional<edxml::Organization>& o) {
  if (!o.has_value()) {
    return "(none)";
  }
  std::string s = o->organ_id.value_or("(no OrganId)");
  if (o->organ_name.has_value() && !o->organ_name->empty()) {
    absl::StrAppend(&s, " ", *o->organ_name);
  }
  return s;
}

void PrintText(const Message& m, std::ostream& out) {
  auto line = [&out](absl::string_view label, absl::string_view value) {
    out << absl::StrFormat("%-13s %s\n", absl::StrCat(label, ":"), value);
  };
  if (m.kind == edxml::MessageKind::kStatus) {
    const edxml::StatusHeader& s = m.status;
    line("Kind", "status message");
    line("From", OrgText(s.from));
    std::string code = s.status_code.value_or("(none)");
    if (const edxml::StatusCodeInfo* info = edxml::FindStatusCode(code)) {
      absl::StrAppend(&code, " ", info->english, " (", info->vietnamese, ")");
    }
    line("StatusCode", code);
    if (s.response_for.has_value()) {
      line("ResponseFor", s.response_for->document_id.value_or("(no DocumentId)"));
    }
    line("Description", s.description.value_or(""));
    line("Timestamp", s.timestamp.value_or(""));
  } else {
    const edxml::MessageHeader& h = m.header;
    line("Kind", "document message");
    line("From", OrgText(h.from));
    for (const edxml::Organization& t : h.to) {
      line("To", OrgText(t));
    }
    line("DocumentId", h.document_id.value_or(""));
    if (h.code.has_value()) {
      line("Code", absl::StrCat(h.code->code_number.value_or(""), "/", h.code->code_notation.value_or("")));
    }
    if (h.promulgation_info.has_value()) {
      line("Date", h.promulgation_info->promulgation_date.value_or(""));
    }
    line("Subject", h.subject.value_or(""));
  }
  line("Attachments", absl::StrCat(m.attachments.size()));
  for (const edxml::Attachment& a : m.attachments) {
    out << "  " << a.content_id.value_or("(no ContentId)") << "  "
        << a.attachment_name.value_or("(no name)") << "  " << a.content_type.value_or("");
    if (a.content.has_value()) {
      if (a.content->base64_error.empty()) {
        out << "  " << a.content->size << " bytes  sha256:" << a.content->sha256;
      } else {
        out << "  INVALID BASE64: " << a.content->base64_error;
      }
    }
    out << "\n";
  }
  line("Signatures", absl::StrCat(m.signatures.size(), m.signatures.empty() ? " (unsigned)" : ""));
  for (const edxml::SignatureInfo& s : m.signatures) {
    std::string reason;
    bool weak = edxml::IsWeakSignature(s, &reason);
    out << "  " << s.path << "  " << (s.signature_method.empty() ? "(no method)" : s.signature_method)
        << (s.dsig_namespace ? "" : "  (no XML-DSig namespace)")
        << (weak ? absl::StrCat("  WEAK: ", reason) : "  (not verified here: use axis verify)")
        << "\n";
  }
  if (!m.unknown.empty()) {
    line("Unknown", absl::StrCat(m.unknown.size(), " element(s) kept as is"));
    for (const edxml::UnknownElement& u : m.unknown) {
      out << "  " << u.path << "\n";
    }
  }
}

int RunShow(const ShowFlags& f) {
  edxml::ReadOptions options = ReadOptionsFor(f.in);
  absl::StatusOr<Message> m = edxml::ReadMessageFile(f.in, options);
  EndProgress(options);
  if (!m.ok()) {
    return Fail(m.status());
  }
  if (f.json) {
    std::cout << Json(edxml::MessageToJson(*m)) << "\n";
  } else {
    PrintText(*m, std::cout);
  }
  return kExitOk;
}

// ---- validate ----

struct ValidateFlags {
  bool json = false;
  std::string in;
};

int RunValidate(const ValidateFlags& f) {
  edxml::ReadOptions options = ReadOptionsFor(f.in);
  absl::StatusOr<Message> m = edxml::ReadMessageFile(f.in, options);
  EndProgress(options);
  if (!m.ok()) {
    // Refused XML (malformed, DOCTYPE, over a limit) is a negative verdict;
    // a file that cannot be read is an I/O error.
    bool refused = m.status().code() == absl::StatusCode::kInvalidArgument ||
                   m.status().code() == absl::StatusCode::kResourceExhausted;
    if (!refused) {
      return Fail(m.status());
    }
    if (f.json) {
      std::cout << Json({{"file", f.in}, {"valid", false}, {"error", m.status().message()}}) << "\n";
    } else {
      std::cout << m.status().message() << "\n";
    }
    return kExitNegative;
  }
  std::vector<edxml::Problem> problems = edxml::Validate(*m);
  bool errors = edxml::HasErrors(problems);
  if (f.json) {
    std::cout << Json({{"file", f.in}, {"valid", !errors}, {"problems", edxml::ProblemsToJson(problems)}})
              << "\n";
  } else {
    PrintProblems(problems, std::cout);
    std::cerr << f.in << (errors ? ": invalid\n" : ": valid\n");
  }
  return errors ? kExitNegative : kExitOk;
}

// ---- extract ----

struct ExtractFlags {
  std::string dir;
  bool json = false;
  std::string in;
};

int RunExtract(const ExtractFlags& f) {
  if (::mkdir(f.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Fail(absl::InternalError(absl::StrCat(f.dir, ": mkdir: ", std::strerror(errno))));
  }
  edxml::ReadOptions options = ReadOptionsFor(f.in);
  options.attachment_dir = f.dir;
  absl::StatusOr<Message> m = edxml::ReadMessageFile(f.in, options);
  EndProgress(options);
  if (!m.ok()) {
    return Fail(m.status());
  }
  bool bad = false;
  nlohmann::json files = nlohmann::json::array();
  for (const edxml::Attachment& a : m->attachments) {
    if (!a.content.has_value()) {
      continue;
    }
    nlohmann::json j = {{"content_id", a.content_id.value_or("")},
                        {"name", a.attachment_name.value_or("")}};
    if (!a.content->base64_error.empty()) {
      bad = true;
      j["error"] = a.content->base64_error;
      if (!f.json) {
        std::cout << a.attachment_name.value_or("(no name)") << ": not extracted: invalid base64: "
                  << a.content->base64_error << "\n";
      }
    } else {
      j["path"] = a.content->path;
      j["size"] = a.content->size;
      j["sha256"] = a.content->sha256;
      if (!f.json) {
        std::cout << a.content->path << "  " << a.content->size << " bytes  sha256:" << a.content->sha256
                  << "\n";
      }
    }
    files.push_back(std::move(j));
  }
  if (f.json) {
    std::cout << Json({{"file", f.in}, {"attachments", files}}) << "\n";
  }
  return bad ? kExitNegative : kExitOk;
}

// ---- status ----

struct StatusFlags {
  std::string code;
  std::string for_message;
  std::string from;
  std::string description;
  std::string staff;
  std::string department;
  std::string out;
};

int RunStatus(const StatusFlags& f) {
  const edxml::StatusCodeInfo* info = edxml::FindStatusCode(f.code);
  if (info == nullptr) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--code \"", f.code, "\" is not a status code (01, 02, 03, 04, 05, 06, 13, 15, 16)")));
  }
  absl::StatusOr<Message> original = edxml::ReadMessageFile(f.for_message);
  if (!original.ok()) {
    return Fail(original.status());
  }
  if (original->kind != edxml::MessageKind::kDocument) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(f.for_message, ": is a status message; a status answers a document")));
  }
  const edxml::MessageHeader& h = original->header;
  std::string from = f.from;
  if (from.empty()) {
    if (h.to.empty() || !h.to.front().organ_id.has_value()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(f.for_message, ": has no To/OrganId; give --from")));
    }
    from = *h.to.front().organ_id;
  }
  edxml::StatusAnswer answer;
  answer.code = f.code;
  answer.from = from;
  answer.description = f.description;
  answer.staff = f.staff;
  answer.department = f.department;
  absl::StatusOr<Message> built = edxml::StatusFor(h, answer, absl::Now());
  if (!built.ok()) {
    return Fail(built.status());
  }
  const Message& m = *built;
  const edxml::ResponseFor& r = *m.status.response_for;
  std::vector<edxml::Problem> problems = edxml::Validate(m);
  if (edxml::HasErrors(problems)) {
    PrintProblems(problems, std::cerr);
    std::cerr << "axis: the status message would not be valid; nothing written\n";
    return kExitUsage;
  }
  if (absl::Status st = edxml::WriteMessageFile(m, f.out); !st.ok()) {
    return Fail(st);
  }
  std::cerr << "wrote " << f.out << ": status " << f.code << " (" << info->english << ") for "
            << r.document_id.value_or(f.for_message) << "\n";
  return kExitOk;
}

}  // namespace

void AddEdxmlCommand(CLI::App& app, Command* run) {
  CLI::App* edxml = app.add_subcommand("edxml", "Build, inspect and answer edXML messages (QCVN 102:2016)");
  edxml->require_subcommand(1);

  auto nf = std::make_shared<NewFlags>();
  CLI::App* n = edxml->add_subcommand("new", "Build an unsigned edXML document message");
  n->add_option("--from", nf->from, "sending agency's code, e.g. 000.00.00.G22 or G09.01")->required();
  n->add_option("--to", nf->to, "receiving agency's code (repeat for several)")->required();
  n->add_option("--code", nf->code, "number/notation, e.g. 123/QĐ-TTg")->required();
  n->add_option("--subject", nf->subject, "the document's abstract (trích yếu), at most 500 characters")
      ->required();
  n->add_option("--date", nf->date, "promulgation date yyyy/MM/dd (default: today, UTC+7)");
  n->add_option("--place", nf->place, "place of promulgation, e.g. Hà Nội");
  n->add_option("--type-name", nf->type_name, "document type, e.g. \"Quyết định\"");
  n->add_option("--attach", nf->attach, "a file to attach (repeat for several)");
  n->add_option("-o,--out", nf->out, "where to write the message")->required();
  n->callback([nf, run] { *run = [nf] { return RunNew(*nf); }; });

  auto sf = std::make_shared<ShowFlags>();
  CLI::App* s = edxml->add_subcommand("show", "Print a message's header, attachments and signatures");
  s->add_flag("--json", sf->json, "one JSON document on stdout");
  s->add_option("message", sf->in, "the edXML message")->required();
  s->callback([sf, run] { *run = [sf] { return RunShow(*sf); }; });

  auto vf = std::make_shared<ValidateFlags>();
  CLI::App* v = edxml->add_subcommand(
      "validate", "Check a message against EDXML.md: exit 0 valid, 1 invalid (each problem listed), 2 I/O");
  v->add_flag("--json", vf->json, "one JSON document on stdout");
  v->add_option("message", vf->in, "the edXML message")->required();
  v->callback([vf, run] { *run = [vf] { return RunValidate(*vf); }; });

  auto ef = std::make_shared<ExtractFlags>();
  CLI::App* e = edxml->add_subcommand("extract", "Decode a message's attachments into a directory");
  e->add_option("-o,--out", ef->dir, "directory (created if missing; files are never overwritten)")
      ->required();
  e->add_flag("--json", ef->json, "one JSON document on stdout");
  e->add_option("message", ef->in, "the edXML message")->required();
  e->callback([ef, run] { *run = [ef] { return RunExtract(*ef); }; });

  auto stf = std::make_shared<StatusFlags>();
  CLI::App* st = edxml->add_subcommand("status", "Build a status message answering a document");
  st->add_option("--code", stf->code, "01 arrived, 02 refused, 03 accepted, 04 assigned, 05 in progress, "
                                      "06 finished, 13 take back, 15 agree, 16 refuse")
      ->required();
  st->add_option("--for", stf->for_message, "the document message being answered")->required();
  st->add_option("--from", stf->from, "the answering agency (default: the document's first To)");
  st->add_option("--description", stf->description, "free text (default: the code's meaning)");
  st->add_option("--staff", stf->staff, "the clerk's name");
  st->add_option("--department", stf->department, "the clerk's department");
  st->add_option("-o,--out", stf->out, "where to write the status message")->required();
  st->callback([stf, run] { *run = [stf] { return RunStatus(*stf); }; });
}

}  // namespace axis::cli
