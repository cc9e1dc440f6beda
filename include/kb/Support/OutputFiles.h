//===- OutputFiles.h - writing a run's files all or none --------*- C++ -*-===//
//
// kb's tools never leave a half-written output, never replace what is not a
// regular file, and never lose an older result to a run that fails.
//
//===----------------------------------------------------------------------===//

#ifndef KB_SUPPORT_OUTPUTFILES_H
#define KB_SUPPORT_OUTPUTFILES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kb {

/// Refuses an output destination that cannot be written the way
/// OutputFileSet writes: a directory, a block device or socket, a dangling
/// symbolic link, a directory that does not exist or is not writable. The
/// error names `path` (and `flag`, when given, before it). A missing parent
/// directory is accepted when `createParent` is set and its nearest existing
/// ancestor is a writable directory.
llvm::Error checkOutputPath(llvm::StringRef path, llvm::StringRef flag = "",
                            bool createParent = false);

/// `path` made absolute with its symbolic links resolved as far as it
/// exists: two spellings of one destination give the same string.
std::string outputIdentity(llvm::StringRef path);

/// Ignores SIGXFSZ, so that a write beyond `ulimit -f` fails with EFBIG (and
/// a message) instead of killing the process.
void ignoreFileSizeLimitSignal();

/// Files written all or none: a run's outputs, so that a run that fails part
/// way leaves none of them and loses none of the files they would replace.
///
/// add() checks the destination (checkOutputPath, and that no two outputs
/// share a path) and writes a regular destination to a temporary beside it (a
/// rename within one directory is atomic and does not copy). A destination
/// that is a character device or FIFO (/dev/null, a pipe) is written through
/// at commit(), never replaced; a symbolic link is followed and its target is
/// replaced, the link kept.
///
/// commit() takes an exclusive lock on each destination directory (two runs
/// writing the same directory commit one after the other, each set whole),
/// holds back SIGINT, SIGTERM and the like while it renames, and keeps a hard
/// link to every file it replaces until the whole set is in place: if any
/// rename or write-through fails, every replaced file is restored and every
/// new one removed. A set destroyed without a successful commit() removes its
/// temporaries.
///
/// \code
///   OutputFileSet outputs;
///   if (llvm::Error e = outputs.add("out/result0.npy", serializeNpy(t)))
///     return e; // the destructor removes what was written so far
///   if (llvm::Error e = outputs.add("out/report.json", json))
///     return e;
///   return outputs.commit();
/// \endcode
class OutputFileSet {
public:
  OutputFileSet() = default;
  OutputFileSet(const OutputFileSet &) = delete;
  OutputFileSet &operator=(const OutputFileSet &) = delete;
  ~OutputFileSet() { discard(); }

  /// Adds `contents` for `path`. The error names `path`; the files added
  /// before stay in the set.
  llvm::Error add(llvm::StringRef path, llvm::StringRef contents);
  /// Adds the concatenation of `parts` for `path`, without joining them
  /// first (a large tensor's data is written from where it is).
  llvm::Error add(llvm::StringRef path, llvm::ArrayRef<llvm::StringRef> parts);

  /// Puts every file in place, in the order they were added. On failure the
  /// destinations are as they were before and the error names the one that
  /// failed. The set is empty afterwards either way.
  llvm::Error commit();

  /// Removes every temporary, and the set is empty.
  void discard();

private:
  struct Pending {
    std::string path;     // as given, for messages
    std::string target;   // what is replaced or written through
    std::string temp;     // empty for a write-through
    std::string contents; // only for a write-through
  };
  std::vector<Pending> pending;
};

/// Writes `contents` to `path` as a one-file OutputFileSet, so a failure never
/// leaves a partial file at `path` nor loses the file that was there.
llvm::Error writeFileAtomic(llvm::StringRef path, llvm::StringRef contents);

} // namespace kb

#endif // KB_SUPPORT_OUTPUTFILES_H
