//===- Npy.cpp - reading and writing NumPy .npy files ---------------------===//
//
// The reader trusts nothing in the file: the header is parsed with a small
// grammar of its own (a Python dict literal with three keys), and the data
// length is checked against the shape before any allocation.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Npy.h"
#include "kb/Runtime/HostThreads.h"
#include "kb/Support/InputFiles.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

using namespace kb::runtime;
using kb::InputFile;

namespace {

/// A cursor over the header's dict literal.
class HeaderParser {
public:
  explicit HeaderParser(llvm::StringRef text) : text(text) {}

  void skipSpace() { text = text.ltrim(" \t\n"); }
  bool consume(llvm::StringRef token) {
    skipSpace();
    return text.consume_front(token);
  }
  std::optional<std::string> string() {
    skipSpace();
    if (text.empty() || (text.front() != '\'' && text.front() != '"'))
      return std::nullopt;
    char quote = text.front();
    size_t end = text.find(quote, 1);
    if (end == llvm::StringRef::npos)
      return std::nullopt;
    std::string value = text.slice(1, end).str();
    text = text.drop_front(end + 1);
    return value;
  }
  std::optional<int64_t> integer() {
    skipSpace();
    size_t digits = 0;
    while (digits < text.size() && digits < 19 &&
           std::isdigit(static_cast<unsigned char>(text[digits])))
      ++digits;
    if (digits == 0 || (digits < text.size() &&
                        std::isdigit(static_cast<unsigned char>(text[digits]))))
      return std::nullopt; // no digits, or more than fit in int64
    int64_t value = 0;
    text.take_front(digits).getAsInteger(10, value);
    text = text.drop_front(digits);
    // Python may write 3L in old files.
    text.consume_front("L");
    return value;
  }
  bool atEnd() {
    skipSpace();
    return text.empty();
  }

private:
  llvm::StringRef text;
};

llvm::Error fail(llvm::StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + message);
}

} // namespace

namespace {
/// What a .npy header says: the element type, the shape, and where the data
/// lies.
struct NpyHeader {
  DType dtype;
  size_t elementSize;
  llvm::SmallVector<int64_t, 4> shape;
  int64_t count;
  size_t dataStart, dataBytes;
};
} // namespace

/// Parses the header at the start of `bytes`, which must hold all of it.
static llvm::Expected<NpyHeader> parseHeader(llvm::StringRef bytes,
                                             llvm::StringRef name,
                                             std::optional<DType> expected) {
  if (!bytes.starts_with("\x93NUMPY"))
    return fail(name, "not a .npy file (wrong magic)");
  if (bytes.size() < 10)
    return fail(name, "truncated .npy header");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = static_cast<unsigned char>(bytes[8]) |
                   static_cast<unsigned char>(bytes[9]) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail(name, "truncated .npy header");
    headerLength = 0;
    for (int i = 3; i >= 0; --i)
      headerLength =
          headerLength << 8 | static_cast<unsigned char>(bytes[8 + i]);
    headerStart = 12;
  } else {
    return fail(name, "unsupported .npy format version " + llvm::Twine(major));
  }
  if (headerLength > bytes.size() - headerStart)
    return fail(name, "truncated .npy header (" + llvm::Twine(headerLength) +
                          " bytes announced, " +
                          llvm::Twine(bytes.size() - headerStart) +
                          " present)");

  HeaderParser p(bytes.substr(headerStart, headerLength));
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<llvm::SmallVector<int64_t, 4>> shape;
  if (!p.consume("{"))
    return fail(name, "malformed .npy header: expected a dict");
  while (!p.consume("}")) {
    std::optional<std::string> key = p.string();
    if (!key || !p.consume(":"))
      return fail(name, "malformed .npy header: expected 'key': value");
    if (*key == "descr") {
      descr = p.string();
      if (!descr)
        return fail(name, "malformed .npy header: 'descr' is not a string");
    } else if (*key == "fortran_order") {
      if (p.consume("True"))
        fortran = true;
      else if (p.consume("False"))
        fortran = false;
      else
        return fail(name,
                    "malformed .npy header: 'fortran_order' is not a bool");
    } else if (*key == "shape") {
      if (!p.consume("("))
        return fail(name, "malformed .npy header: 'shape' is not a tuple");
      shape.emplace();
      while (!p.consume(")")) {
        std::optional<int64_t> dim = p.integer();
        if (!dim)
          return fail(name, "malformed .npy header: bad dimension in 'shape'");
        shape->push_back(*dim);
        if (shape->size() > 32)
          return fail(name, "'shape' has more than 32 dimensions");
        if (p.consume(","))
          continue;
        if (!p.consume(")"))
          return fail(name, "malformed .npy header: bad 'shape' tuple");
        break;
      }
    } else {
      return fail(name, "unexpected key '" + *key + "' in .npy header");
    }
    if (!p.consume(",")) {
      if (!p.consume("}"))
        return fail(name, "malformed .npy header: expected ',' or '}'");
      break;
    }
  }
  if (!descr || !fortran || !shape)
    return fail(name,
                "the .npy header lacks 'descr', 'fortran_order' or 'shape'");
  if (*fortran)
    return fail(name, "Fortran-order arrays are not supported; save it with "
                      "numpy.ascontiguousarray");

  DType dtype;
  size_t elementSize;
  if (*descr == "<f2") {
    dtype = DType::F16;
    elementSize = 2;
  } else if (*descr == "<f4") {
    dtype = expected == DType::BF16 ? DType::BF16 : DType::F32;
    elementSize = 4;
  } else if (*descr == "<i4") {
    dtype = DType::I32;
    elementSize = 4;
  } else if (*descr == "<i8") {
    dtype = DType::I64;
    elementSize = 8;
  } else {
    return fail(name, "unsupported dtype '" + *descr +
                          "' (kb reads little-endian float16 '<f2', "
                          "float32 '<f4', int32 '<i4' and int64 '<i8')");
  }
  int64_t count = checkedNumElements(*shape);
  if (count < 0 || count > kMaxNpyElements)
    return fail(name, "shape " + shapeString(*shape) +
                          " is too large (at most 2^31 elements)");
  size_t dataStart = headerStart + headerLength;
  size_t dataBytes = static_cast<size_t>(count) * elementSize;
  return NpyHeader{dtype, elementSize, *shape, count, dataStart, dataBytes};
}

/// Refuses a file whose length is not what its header says.
static llvm::Error checkDataLength(const NpyHeader &h, uint64_t fileSize,
                                   llvm::StringRef name) {
  const llvm::SmallVector<int64_t, 4> &shape = h.shape;
  size_t dataStart = h.dataStart, dataBytes = h.dataBytes;
  if (fileSize - dataStart < dataBytes)
    return fail(name, "truncated data: shape " + shapeString(shape) +
                          " needs " + llvm::Twine(dataBytes) + " bytes, " +
                          llvm::Twine(fileSize - dataStart) + " present");
  if (fileSize - dataStart > dataBytes)
    return fail(name, llvm::Twine(fileSize - dataStart - dataBytes) +
                          " unexpected bytes after the data");
  return llvm::Error::success();
}

/// Converts `n` little-endian integers of `width` bytes (4 or 8) at `data`,
/// elements `first` to `first + n - 1` of the tensor, to the exact f32 values
/// kb holds; a value beyond kMaxExactInteger is refused with its position.
static llvm::Error integersToFloats(const char *data, size_t width, int64_t n,
                                    int64_t first, float *out,
                                    llvm::StringRef name) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t v;
    if (width == 4) {
      int32_t v32;
      std::memcpy(&v32, data + 4 * i, 4);
      v = v32;
    } else {
      std::memcpy(&v, data + 8 * i, 8);
    }
    if (v > kMaxExactInteger || v < -kMaxExactInteger)
      return fail(name, "element " + llvm::Twine(first + i) + " is " +
                            llvm::Twine(v) +
                            ", beyond the integers kb holds (magnitude at "
                            "most 2^24 = " +
                            llvm::Twine(kMaxExactInteger) + ")");
    out[i] = static_cast<float>(v);
  }
  return llvm::Error::success();
}

llvm::Expected<HostTensor>
kb::runtime::parseNpy(llvm::StringRef bytes, llvm::StringRef name,
                      std::optional<DType> expected) {
  llvm::Expected<NpyHeader> header = parseHeader(bytes, name, expected);
  if (!header)
    return header.takeError();
  if (llvm::Error e = checkDataLength(*header, bytes.size(), name))
    return std::move(e);
  DType dtype = header->dtype;
  int64_t count = header->count;
  size_t dataStart = header->dataStart, dataBytes = header->dataBytes;

  HostTensor t;
  t.dtype = dtype;
  t.shape = header->shape;
  t.data.resize(count);
  const char *data = bytes.data() + dataStart;
  if (dtype == DType::F16) {
    // In blocks through an aligned buffer: the data need not be 2-aligned.
    uint16_t block[4096];
    for (int64_t i = 0; i < count; i += 4096) {
      int64_t n = std::min<int64_t>(4096, count - i);
      std::memcpy(block, data + 2 * i, 2 * n);
      halvesToFloats(block, t.data.data() + i, n);
    }
  } else if (isIntegerDType(dtype)) {
    if (llvm::Error e = integersToFloats(data, header->elementSize, count, 0,
                                         t.data.data(), name))
      return std::move(e);
  } else if (dataBytes != 0) { // a shape with a 0 has no data to copy
    std::memcpy(t.data.data(), data, dataBytes);
    if (dtype == DType::BF16)
      roundBufferToDType(t.data.data(), t.data.size(), DType::BF16);
  }
  return t;
}

/// Reads `count` bytes at `offset` of `file` into `into`, in pieces of a few
/// MiB shared by `threads` host threads: the copy from the page cache and
/// the kernel's clearing of the fresh pages it lands in run in parallel.
static llvm::Error readInPieces(const InputFile &file, uint64_t offset,
                                uint64_t count, char *into, int threads) {
  constexpr uint64_t kPiece = uint64_t(4) << 20;
  if (threads <= 1 || count <= kPiece)
    return file.read(offset, count, into);
  std::vector<std::function<void()>> work;
  std::vector<llvm::Error> errors;
  uint64_t pieces = (count + kPiece - 1) / kPiece;
  errors.reserve(pieces);
  for (uint64_t i = 0; i < pieces; ++i)
    errors.push_back(llvm::Error::success());
  for (uint64_t i = 0; i < pieces; ++i)
    work.push_back([&, i] {
      uint64_t at = i * kPiece, n = std::min(kPiece, count - at);
      errors[i] = file.read(offset + at, n, into + at);
    });
  runOnHostThreads(work, threads);
  llvm::Error first = llvm::Error::success();
  for (llvm::Error &e : errors)
    if (e && !first)
      first = std::move(e);
    else
      llvm::consumeError(std::move(e));
  return first;
}

/// Makes `v` hold the `count` elements at byte `offset` of `file` as a
/// private mapping of the file (adoptMappedStorage) rather than a copy, and
/// faults its pages in from the page cache in pieces on up to `threads`
/// host threads: no fresh page is cleared and nothing is copied until
/// someone writes. False when the block is too small to own a mapping or
/// the file cannot be mapped: the caller reads it instead. An error when
/// the file shrank since it was opened.
template <typename T>
static llvm::Expected<bool> mapData(const InputFile &file, llvm::StringRef path,
                                    uint64_t offset, size_t count,
                                    std::vector<T, TensorAllocator<T>> &v,
                                    int threads) {
  uint64_t bytes = uint64_t(count) * sizeof(T);
  if (bytes < minimumAdoptedBytes())
    return false;
  void *mapped = file.mapPrivate(offset, bytes);
  if (!mapped)
    return false;
  if (!adoptMappedStorage(v, static_cast<T *>(mapped), count)) {
    kb::unmapPrivate(mapped, bytes);
    return false;
  }
  constexpr uint64_t kPiece = uint64_t(4) << 20;
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto start = reinterpret_cast<uintptr_t>(mapped) / page * page;
  uint64_t length = reinterpret_cast<uintptr_t>(mapped) - start + bytes;
  uint64_t pieces = (length + kPiece - 1) / kPiece;
  std::vector<int> errors(pieces, 0);
  std::vector<std::function<void()>> work;
  for (uint64_t i = 0; i < pieces; ++i)
    work.push_back([&, i] {
      uint64_t at = i * kPiece, n = std::min(kPiece, length - at);
      // EINVAL: a kernel without MADV_POPULATE_READ (before Linux 5.14);
      // the pages then come in at first touch.
      if (::madvise(reinterpret_cast<void *>(start + at), n,
                    MADV_POPULATE_READ) != 0 &&
          errno != EINVAL)
        errors[i] = errno;
    });
  runOnHostThreads(work, std::max(1, threads));
  for (int error : errors)
    if (error) {
      std::vector<T, TensorAllocator<T>>().swap(v);
      std::string why = error == EFAULT ? "the file ended early (it changed "
                                          "while being read)"
                                        : std::strerror(error);
      return fail(path, "cannot read: " + why);
    }
  return true;
}

llvm::Expected<HostTensor> kb::runtime::readNpy(llvm::StringRef path,
                                                std::optional<DType> expected,
                                                bool keepHalf, int threads) {
  // What is read is bounded by what the header says: the header first (at
  // most kMaxNpyHeaderBytes), then the data only if the file's length is
  // exactly what the header announces.
  llvm::Expected<InputFile> file = InputFile::open(path);
  if (!file)
    return file.takeError();
  std::string prefix(std::min<uint64_t>(file->size(), 12), '\0');
  if (llvm::Error e = file->read(0, prefix.size(), prefix.data()))
    return std::move(e);
  if (prefix.size() >= 10 && llvm::StringRef(prefix).starts_with("\x93NUMPY")) {
    uint64_t headerLength =
        prefix[6] == 1 ? uint64_t(static_cast<unsigned char>(prefix[8]) |
                                  static_cast<unsigned char>(prefix[9]) << 8)
        : prefix.size() == 12
            ? uint64_t(static_cast<unsigned char>(prefix[8])) |
                  uint64_t(static_cast<unsigned char>(prefix[9])) << 8 |
                  uint64_t(static_cast<unsigned char>(prefix[10])) << 16 |
                  uint64_t(static_cast<unsigned char>(prefix[11])) << 24
            : 0;
    if (headerLength > kMaxNpyHeaderBytes)
      return fail(path, "the .npy header announces " +
                            llvm::Twine(headerLength) +
                            " bytes, more than the " +
                            llvm::Twine(kMaxNpyHeaderBytes) + " kb reads");
    prefix.resize(std::min<uint64_t>(file->size(), 12 + headerLength));
    if (llvm::Error e = file->read(0, prefix.size(), prefix.data()))
      return std::move(e);
  }
  llvm::Expected<NpyHeader> header = parseHeader(prefix, path, expected);
  if (!header)
    return header.takeError();
  if (llvm::Error e = checkDataLength(*header, file->size(), path))
    return std::move(e);
  // The data is read straight into the tensor (f32) or in blocks converted
  // as they come (f16): never a second whole copy of the file in memory.
  HostTensor t;
  t.dtype = header->dtype;
  t.shape = header->shape;
  if (keepHalf && header->dtype == DType::F16 && header->count > 0) {
    // Little-endian f16 bits are the tensor's own: mapped, or read as they
    // are.
    llvm::Expected<bool> mapped = mapData(*file, path, header->dataStart,
                                          header->count, t.halves, threads);
    if (!mapped)
      return mapped.takeError();
    if (*mapped)
      return t;
    t.halves.resize(header->count);
    if (llvm::Error e = readInPieces(
            *file, header->dataStart, 2 * header->count,
            reinterpret_cast<char *>(t.halves.data()), threads))
      return std::move(e);
    return t;
  }
  if (header->dtype == DType::F32) {
    llvm::Expected<bool> mapped = mapData(*file, path, header->dataStart,
                                          header->count, t.data, threads);
    if (!mapped)
      return mapped.takeError();
    if (*mapped)
      return t;
  }
  t.data.resize(header->count);
  if (header->dtype == DType::F16) {
    constexpr int64_t kBlock = int64_t(1) << 20;
    std::vector<uint16_t> block(std::min<int64_t>(kBlock, header->count));
    for (int64_t i = 0; i < header->count; i += kBlock) {
      int64_t n = std::min<int64_t>(kBlock, header->count - i);
      if (llvm::Error e =
              file->read(header->dataStart + 2 * i, 2 * n,
                         reinterpret_cast<char *>(block.data())))
        return std::move(e);
      halvesToFloats(block.data(), t.data.data() + i, n);
    }
  } else if (isIntegerDType(header->dtype)) {
    constexpr int64_t kBlock = int64_t(1) << 16;
    size_t width = header->elementSize;
    std::vector<char> block(width * std::min<int64_t>(kBlock, header->count));
    for (int64_t i = 0; i < header->count; i += kBlock) {
      int64_t n = std::min<int64_t>(kBlock, header->count - i);
      if (llvm::Error e =
              file->read(header->dataStart + width * i, width * n, block.data()))
        return std::move(e);
      if (llvm::Error e = integersToFloats(block.data(), width, n, i,
                                           t.data.data() + i, path))
        return std::move(e);
    }
  } else if (header->dataBytes != 0) {
    if (llvm::Error e =
            readInPieces(*file, header->dataStart, header->dataBytes,
                         reinterpret_cast<char *>(t.data.data()), threads))
      return std::move(e);
    if (t.dtype == DType::BF16)
      roundBufferToDType(t.data.data(), t.data.size(), DType::BF16);
  }
  return t;
}

kb::runtime::NpyBytes kb::runtime::npyBytes(const HostTensor &t) {
  NpyBytes bytes;
  std::string header = "{'descr': '";
  header += t.dtype == DType::F16   ? "<f2"
            : t.dtype == DType::I32 ? "<i4"
            : t.dtype == DType::I64 ? "<i8"
                                    : "<f4";
  header += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape.size(); ++i)
    header += (i ? ", " : "") + std::to_string(t.shape[i]);
  header += t.shape.size() == 1 ? ",), }" : "), }"; // Python's (3,) tuple
  // numpy pads the header with spaces so the data starts 64-byte aligned.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string &out = bytes.header;
  out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  // f32 and kept-f16 storage is the file's data as it is: a view, not a copy.
  if (t.isHalf()) {
    bytes.storage = llvm::StringRef(
        reinterpret_cast<const char *>(t.halves.data()), 2 * t.halves.size());
    return bytes;
  }
  // Converted into a string sized once (an append per element was most of
  // writing a 2048 x 4096 f16 result).
  std::string &converted = bytes.converted;
  size_t n = t.data.size();
  if (t.dtype == DType::F16) {
    converted.resize(2 * n);
    std::vector<uint16_t> halves(std::min<size_t>(n, size_t{1} << 16));
    for (size_t at = 0; at < n; at += halves.size()) {
      size_t count = std::min(halves.size(), n - at);
      floatsToHalves(t.data.data() + at, halves.data(), count);
      std::memcpy(&converted[2 * at], halves.data(), 2 * count);
    }
  } else if (t.dtype == DType::I32) {
    converted.resize(4 * n);
    for (size_t i = 0; i < n; ++i) {
      int32_t v = static_cast<int32_t>(t.data[i]);
      std::memcpy(&converted[4 * i], &v, 4);
    }
  } else if (t.dtype == DType::I64) {
    converted.resize(8 * n);
    for (size_t i = 0; i < n; ++i) {
      int64_t v = static_cast<int64_t>(t.data[i]);
      std::memcpy(&converted[8 * i], &v, 8);
    }
  } else {
    bytes.storage = llvm::StringRef(
        reinterpret_cast<const char *>(t.data.data()), 4 * t.data.size());
  }
  return bytes;
}

std::string kb::runtime::serializeNpy(const HostTensor &t) {
  NpyBytes bytes = npyBytes(t);
  return bytes.header + bytes.data().str();
}

llvm::Error kb::runtime::writeNpyAtomic(llvm::StringRef path,
                                        const HostTensor &tensor) {
  return writeFileAtomic(path, serializeNpy(tensor));
}
