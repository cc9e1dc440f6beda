//===- InputFiles.cpp - reading what users hand kb's tools ----------------===//

#include "kb/Support/InputFiles.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kb;

static llvm::Error fail(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

static std::string errnoText() { return std::strerror(errno); }

/// What a file that is not a regular one is, for the message.
static const char *kindOf(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

/// Reads from `fd` until end of file, refusing more than `maxBytes`.
static llvm::Expected<std::string> readBounded(int fd, llvm::StringRef path,
                                               uint64_t maxBytes) {
  std::string text;
  char chunk[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(path, "cannot read: " + errnoText());
    if (n == 0)
      return text;
    if (text.size() + n > maxBytes)
      return fail(path, "is longer than the " + llvm::Twine(maxBytes) +
                            " bytes kb reads");
    text.append(chunk, n);
  }
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
kb::readInputFile(llvm::StringRef path, uint64_t maxBytes) {
  std::string name = path == "-" ? "<stdin>" : path.str();
  if (path == "-") {
    llvm::Expected<std::string> text = readBounded(0, name, maxBytes);
    if (!text)
      return text.takeError();
    return llvm::MemoryBuffer::getMemBufferCopy(*text, name);
  }
  llvm::Expected<InputFile> file = InputFile::open(path);
  if (!file)
    return file.takeError();
  if (file->size() > maxBytes)
    return fail(path, "is " + llvm::Twine(file->size()) +
                          " bytes, more than the " + llvm::Twine(maxBytes) +
                          " bytes kb reads");
  std::unique_ptr<llvm::WritableMemoryBuffer> buffer =
      llvm::WritableMemoryBuffer::getNewUninitMemBuffer(file->size(), name);
  if (!buffer)
    return fail(path, "cannot allocate " + llvm::Twine(file->size()) +
                          " bytes to read it");
  if (llvm::Error e = file->read(0, file->size(), buffer->getBufferStart()))
    return std::move(e);
  return std::unique_ptr<llvm::MemoryBuffer>(std::move(buffer));
}

llvm::Expected<InputFile> InputFile::open(llvm::StringRef path) {
  std::string name = path.str();
  int fd;
  do
    fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return fail(path, "cannot read: " + errnoText());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string message = errnoText();
    ::close(fd);
    return fail(path, "cannot read: " + message);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(path, llvm::Twine("cannot read: it is ") + kindOf(st.st_mode) +
                          ", not a regular file");
  }
  return InputFile(std::move(name), fd, static_cast<uint64_t>(st.st_size));
}

InputFile::InputFile(InputFile &&other)
    : path(std::move(other.path)), fd(other.fd), fileSize(other.fileSize) {
  other.fd = -1;
}

InputFile::~InputFile() {
  if (fd >= 0)
    ::close(fd);
}

llvm::Error InputFile::read(uint64_t offset, uint64_t count, char *into) const {
  while (count > 0) {
    size_t want = std::min<uint64_t>(count, uint64_t(1) << 30);
    ssize_t n = ::pread(fd, into, want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(path, "cannot read: " + errnoText());
    if (n == 0)
      return fail(path, "cannot read: the file ended early (it changed while "
                        "being read)");
    into += n;
    offset += n;
    count -= n;
  }
  return llvm::Error::success();
}

static uint64_t pageSize() {
  static const uint64_t size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

void *InputFile::mapPrivate(uint64_t offset, uint64_t count) const {
  if (count == 0 || offset > fileSize || count > fileSize - offset)
    return nullptr;
  uint64_t start = offset / pageSize() * pageSize();
  uint64_t length = offset - start + count;
  if (length > SIZE_MAX)
    return nullptr;
  void *mapped = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                        fd, static_cast<off_t>(start));
  if (mapped == MAP_FAILED)
    return nullptr;
  return static_cast<char *>(mapped) + (offset - start);
}

void kb::unmapPrivate(void *p, uint64_t count) {
  auto at = reinterpret_cast<uintptr_t>(p);
  uintptr_t start = at / pageSize() * pageSize();
  ::munmap(reinterpret_cast<void *>(start), at - start + count);
}

llvm::Error kb::checkNesting(llvm::StringRef text, llvm::StringRef name,
                             unsigned limit) {
  // Open brackets, innermost last. A closer pops through unmatched `<`s (an
  // affine `<=` opens nothing), and a `>` closes only a `<` (`->` and `>=`
  // close nothing), so no text can make the count fall below the real depth.
  llvm::SmallVector<char, 64> open;
  unsigned line = 1;
  size_t lineStart = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    switch (c) {
    case '\n':
      ++line;
      lineStart = i + 1;
      break;
    case '"':
      // A string: skip to its closing quote, over escapes.
      for (++i; i < e && text[i] != '"'; ++i) {
        if (text[i] == '\\')
          ++i;
        else if (text[i] == '\n') {
          ++line;
          lineStart = i + 1;
        }
      }
      break;
    case '/':
      if (i + 1 < e && text[i + 1] == '/') {
        size_t end = text.find('\n', i);
        i = (end == llvm::StringRef::npos ? e : end) - 1;
      }
      break;
    case '{':
    case '[':
    case '(':
    case '<':
      open.push_back(c);
      if (open.size() > limit)
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            name + ":" + llvm::Twine(line) + ":" +
                llvm::Twine(i - lineStart + 1) + ": nesting deeper than " +
                llvm::Twine(limit) +
                " levels (brackets, regions, attributes); kb refuses it "
                "rather than exhaust the stack");
      break;
    case '>':
      if (!open.empty() && open.back() == '<')
        open.pop_back();
      break;
    case '}':
    case ']':
    case ')': {
      char opener = c == '}' ? '{' : c == ']' ? '[' : '(';
      size_t k = open.size();
      while (k > 0 && open[k - 1] == '<')
        --k;
      if (k > 0 && open[k - 1] == opener)
        open.truncate(k - 1);
      break;
    }
    default:
      break;
    }
  }
  return llvm::Error::success();
}
