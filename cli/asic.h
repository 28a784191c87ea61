// asic.h: ASiC-E containers (ETSI EN 319 162-1) for evidence export.
//
// An ASiC-E container is a ZIP whose first entry is `mimetype` (stored, not
// compressed) holding "application/vnd.etsi.asic-e+zip", with
// META-INF/manifest.xml (the OpenDocument manifest) listing every other
// entry and its media type. axis's evidence package puts the signed document
// (it carries its own enveloped XAdES signatures) and the transport evidence
// (envelope headers and signatures, receipts, message-log records with their
// Merkle proofs and time-stamp tokens) in one such container.
#ifndef AXIS_CLI_ASIC_H_
#define AXIS_CLI_ASIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace axis::cli {

inline constexpr char kAsicEMimeType[] = "application/vnd.etsi.asic-e+zip";

struct AsicEntry {
  std::string name;       // path inside the container, e.g. "evidence/receipt-1.pb"
  std::string mime_type;  // e.g. "text/xml", "application/octet-stream"
  std::string data;
};

// AsicLimits bounds what ReadAsicE accepts from an untrusted container.
struct AsicLimits {
  size_t max_entries = 10000;
  uint64_t max_entry_bytes = uint64_t{1} << 30;  // 1 GiB
  uint64_t max_total_bytes = uint64_t{2} << 30;  // 2 GiB, after decompression
};

// WriteAsicE writes `entries` (names must be unique, relative, without "..")
// as an ASiC-E container at `path`, atomically (temporary file, fsync,
// rename). INVALID_ARGUMENT names a bad entry name.
absl::Status WriteAsicE(const std::string& path, const std::vector<AsicEntry>& entries);

// ReadAsicE reads a container written by WriteAsicE or another ASiC-E
// producer: the `mimetype` entry must come first, be stored and say ASiC-E;
// META-INF/manifest.xml must list exactly the other entries (except META-INF
// files); names must be relative without ".."; sizes stay under `limits`
// (counted while decompressing, not taken from the ZIP's claims). Returns the
// entries other than `mimetype` and META-INF/*, with the manifest's media
// types. INVALID_ARGUMENT names the problem; RESOURCE_EXHAUSTED for limits.
absl::StatusOr<std::vector<AsicEntry>> ReadAsicE(const std::string& path,
                                                 const AsicLimits& limits = AsicLimits());

}  // namespace axis::cli

#endif  // AXIS_CLI_ASIC_H_
