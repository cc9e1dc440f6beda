//===- InputFiles.h - reading what users hand kb's tools --------*- C++ -*-===//
//
// Every file a kb tool reads (a program, a .npy, a device description) comes
// from a user and is read through these helpers: the size is bounded before
// anything is read, endless inputs such as /dev/zero or a FIFO are refused,
// and text is checked for nesting deeper than a recursive parser can take
// before that parser runs.
//
//===----------------------------------------------------------------------===//

#ifndef KB_SUPPORT_INPUTFILES_H
#define KB_SUPPORT_INPUTFILES_H

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>

namespace kb {

/// The largest program text kb-opt and kb-run read (256 MiB): a whole model's
/// lowered program is a few MiB; beyond this the parser's memory, not the
/// text, would be the problem.
constexpr uint64_t kMaxProgramBytes = uint64_t(256) << 20;

/// The deepest nesting of brackets ({, [, (, <) accepted in a program. kb's
/// programs nest a dozen deep; MLIR's recursive-descent parser overflows the
/// stack some thousands deep (fewer under AddressSanitizer).
constexpr unsigned kMaxProgramNesting = 256;

/// Reads all of `path` ("-" is stdin) if it is a regular file of at most
/// `maxBytes` bytes. A directory, device, FIFO or socket is refused (they may
/// never end), as is a file longer than the bound; the error names `path`.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readInputFile(llvm::StringRef path, uint64_t maxBytes);

/// An open regular file whose size is known: for readers that check a header
/// before reading the rest (.npy).
class InputFile {
public:
  static llvm::Expected<InputFile> open(llvm::StringRef path);
  InputFile(InputFile &&other);
  InputFile &operator=(InputFile &&) = delete;
  ~InputFile();

  uint64_t size() const { return fileSize; }
  /// Reads exactly `count` bytes at `offset`; fewer is an error (the file
  /// shrank while being read).
  llvm::Error read(uint64_t offset, uint64_t count, char *into) const;
  /// The `count` bytes at `offset`, mapped privately (copy-on-write: writes
  /// stay in this process, the file never changes) and readable and writable;
  /// nullptr when they cannot be mapped (the caller reads them instead). The
  /// mapping starts at the page holding `offset`: release it with
  /// unmapPrivate(p, count). Pages come from the page cache as they are
  /// first touched, so nothing is cleared or copied up front. Like any
  /// mapped file, a file truncated by another process while mapped makes
  /// the lost pages unreadable (SIGBUS): kb's inputs are files users write
  /// before the run.
  void *mapPrivate(uint64_t offset, uint64_t count) const;

private:
  InputFile(std::string path, int fd, uint64_t size)
      : path(std::move(path)), fd(fd), fileSize(size) {}
  std::string path;
  int fd;
  uint64_t fileSize;
};

/// Releases a mapping made by InputFile::mapPrivate(offset, count) that
/// returned `p`.
void unmapPrivate(void *p, uint64_t count);

/// Returns an error located at the first bracket (`{`, `[`, `(` or `<`, outside
/// strings and `//` comments) that opens more than `limit` levels, e.g.
/// "in.mlir:3:4001: nesting deeper than 256 levels". `name` labels the
/// location.
llvm::Error checkNesting(llvm::StringRef text, llvm::StringRef name,
                         unsigned limit);

} // namespace kb

#endif // KB_SUPPORT_INPUTFILES_H
