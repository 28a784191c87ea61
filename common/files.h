// files.h: whole-file reads and durable writes with errors that name the path.
#ifndef AXIS_COMMON_FILES_H_
#define AXIS_COMMON_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace axis {

// PosixError turns an errno from operation `op` on `path` into a status whose
// message names both: NOT_FOUND (ENOENT), PERMISSION_DENIED (EACCES, EPERM),
// RESOURCE_EXHAUSTED (ENOSPC, EDQUOT), ALREADY_EXISTS (EEXIST), else INTERNAL.
absl::Status PosixError(absl::string_view path, absl::string_view op, int err);

// ReadFile returns the contents of `path`. NOT_FOUND when it does not exist,
// RESOURCE_EXHAUSTED when it is larger than `max_bytes`, other errors naming
// the path and errno text.
absl::StatusOr<std::string> ReadFile(absl::string_view path,
                                     size_t max_bytes = size_t{1} << 30);

// WriteFileAtomic writes `data` to a temporary file beside `path`, fsyncs it,
// renames it over `path` and fsyncs the directory, so `path` holds either
// the old or the new contents after a crash. `mode` sets the permissions.
absl::Status WriteFileAtomic(absl::string_view path, absl::string_view data,
                             int mode = 0644);

}  // namespace axis

#endif  // AXIS_COMMON_FILES_H_
