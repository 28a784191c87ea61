// paths.h: where tests find the build's programs and the committed test data.
#ifndef AXIS_TESTS_TESTING_PATHS_H_
#define AXIS_TESTS_TESTING_PATHS_H_

#include <string>

namespace axis::testing {

// PkiDir is pki-testdata/ in the source tree.
inline std::string PkiDir() { return AXIS_PKI_DIR; }
// PkiPath joins a path below pki-testdata/.
inline std::string PkiPath(const std::string& rel) { return PkiDir() + "/" + rel; }
// BinDir is build/bin, where axis and the servers are.
inline std::string BinDir() { return AXIS_BIN_DIR; }
// InteropDir is the shared XML-DSig test vectors (../shared/interop).
inline std::string InteropDir() { return AXIS_INTEROP_DIR; }
// SourceDir is the checkout's top.
inline std::string SourceDir() { return AXIS_SOURCE_DIR; }

}  // namespace axis::testing

#endif  // AXIS_TESTS_TESTING_PATHS_H_
