//===- Npy.cpp - reading and writing NumPy .npy files ---------------------===//
//
// The reader trusts nothing in the file: the header is parsed with a small
// grammar of its own (a Python dict literal with three keys), and the data
// length is checked against the shape before any allocation.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Npy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace kb::runtime;

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

llvm::Expected<HostTensor>
kb::runtime::parseNpy(llvm::StringRef bytes, llvm::StringRef name,
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
  } else {
    return fail(name, "unsupported dtype '" + *descr +
                          "' (kb reads little-endian float16 '<f2' and "
                          "float32 '<f4')");
  }
  int64_t count = checkedNumElements(*shape);
  if (count < 0 || count > kMaxNpyElements)
    return fail(name, "shape " + shapeString(*shape) +
                          " is too large (at most 2^31 elements)");
  size_t dataStart = headerStart + headerLength;
  size_t dataBytes = static_cast<size_t>(count) * elementSize;
  if (bytes.size() - dataStart < dataBytes)
    return fail(name, "truncated data: shape " + shapeString(*shape) +
                          " needs " + llvm::Twine(dataBytes) + " bytes, " +
                          llvm::Twine(bytes.size() - dataStart) + " present");
  if (bytes.size() - dataStart > dataBytes)
    return fail(name, llvm::Twine(bytes.size() - dataStart - dataBytes) +
                          " unexpected bytes after the data");

  HostTensor t;
  t.dtype = dtype;
  t.shape = *shape;
  t.data.resize(count);
  const char *data = bytes.data() + dataStart;
  if (dtype == DType::F16) {
    for (int64_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, data + 2 * i, 2);
      t.data[i] = halfToFloat(h);
    }
  } else if (dataBytes != 0) { // a shape with a 0 has no data to copy
    std::memcpy(t.data.data(), data, dataBytes);
    if (dtype == DType::BF16)
      roundBufferToDType(t.data.data(), t.data.size(), DType::BF16);
  }
  return t;
}

llvm::Expected<HostTensor> kb::runtime::readNpy(llvm::StringRef path,
                                                std::optional<DType> expected) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return parseNpy((*buffer)->getBuffer(), path, expected);
}

std::string kb::runtime::serializeNpy(const HostTensor &t) {
  std::string header = "{'descr': '";
  header += t.dtype == DType::F16 ? "<f2" : "<f4";
  header += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape.size(); ++i)
    header += (i ? ", " : "") + std::to_string(t.shape[i]);
  header += t.shape.size() == 1 ? ",), }" : "), }"; // Python's (3,) tuple
  // numpy pads the header with spaces so the data starts 64-byte aligned.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  if (t.dtype == DType::F16) {
    out.reserve(out.size() + 2 * t.data.size());
    for (float v : t.data) {
      uint16_t h = floatToHalf(v);
      out.append(reinterpret_cast<const char *>(&h), 2);
    }
  } else {
    out.append(reinterpret_cast<const char *>(t.data.data()),
               4 * t.data.size());
  }
  return out;
}

llvm::Error OutputFileSet::add(llvm::StringRef path, llvm::StringRef contents) {
  // Beside `path`, so that commit() renames within one directory.
  llvm::SmallString<256> temp;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temp))
    return fail(path, "cannot write: " + ec.message());
  // An interrupted run must not leave its temporaries either.
  llvm::sys::RemoveFileOnSignal(temp);
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << contents;
  os.close();
  if (os.has_error()) {
    std::string message = os.error().message();
    os.clear_error();
    llvm::sys::fs::remove(temp);
    llvm::sys::DontRemoveFileOnSignal(temp);
    return fail(path, "cannot write: " + message);
  }
  pending.push_back({path.str(), temp.str().str()});
  return llvm::Error::success();
}

llvm::Error OutputFileSet::commit() {
  for (size_t i = 0; i < pending.size(); ++i) {
    const Pending &p = pending[i];
    if (std::error_code ec = llvm::sys::fs::rename(p.temp, p.path)) {
      for (size_t j = 0; j < i; ++j) {
        llvm::sys::fs::remove(pending[j].path);
        llvm::sys::DontRemoveFileOnSignal(pending[j].path);
      }
      llvm::Error error = fail(p.path, "cannot write: " + ec.message());
      pending.erase(pending.begin(), pending.begin() + i);
      discard();
      return error;
    }
    // Until the whole set is in place, a signal takes back what is.
    llvm::sys::DontRemoveFileOnSignal(p.temp);
    llvm::sys::RemoveFileOnSignal(p.path);
  }
  for (const Pending &p : pending)
    llvm::sys::DontRemoveFileOnSignal(p.path);
  pending.clear();
  return llvm::Error::success();
}

void OutputFileSet::discard() {
  for (const Pending &p : pending) {
    llvm::sys::fs::remove(p.temp);
    llvm::sys::DontRemoveFileOnSignal(p.temp);
  }
  pending.clear();
}

llvm::Error kb::runtime::writeFileAtomic(llvm::StringRef path,
                                         llvm::StringRef contents) {
  OutputFileSet file;
  if (llvm::Error e = file.add(path, contents))
    return e;
  return file.commit();
}

llvm::Error kb::runtime::writeNpyAtomic(llvm::StringRef path,
                                        const HostTensor &tensor) {
  return writeFileAtomic(path, serializeNpy(tensor));
}
