//===- NpyIntegerFuzzer.cpp - libFuzzer target: .npy header integers ------===//
//
// Structure-aware: the input is decoded into the integers of a well-formed
// .npy header (format version, header length, element type, any number of
// dimensions of any int64 value, negative and huge included) and a data
// length, so that every run reaches the size arithmetic behind the header
// instead of failing at the magic string. Both the in-memory parser and the
// file reader (which reads the header first and bounds the rest by it) must
// return a consistent tensor or an error.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Npy.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

/// Takes integers from the front of the fuzzer's bytes; zeros when spent.
class Reader {
public:
  Reader(const uint8_t *data, size_t size) : data(data), size(size) {}
  uint64_t take(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && size; ++i, ++data, --size)
      v |= uint64_t(*data) << (8 * i);
    return v;
  }
  llvm::StringRef rest() const {
    return {reinterpret_cast<const char *>(data), size};
  }

private:
  const uint8_t *data;
  size_t size;
};

/// A dimension: mostly small, sometimes the edges of int64 and of the
/// element-count limit.
std::string dimension(Reader &in) {
  switch (in.take(1) % 8) {
  case 0:
    return std::to_string(static_cast<int64_t>(in.take(8)));
  case 1:
    return "9223372036854775807";
  case 2:
    return std::to_string((int64_t(1) << 31) + static_cast<int8_t>(in.take(1)));
  case 3:
    return "-" + std::to_string(in.take(2));
  case 4:
    return std::string(in.take(1) % 40 + 1, '9'); // longer than int64
  default:
    return std::to_string(in.take(1) % 17);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const kDescrs[] = {"<f2", "<f4", "<i4", "<i8", "|u1",
                                        ">f4", "<f8", "<i2", "|b1", "<u8"};
  Reader in(data, size);
  unsigned version = in.take(1) % 4; // 0 is unsupported
  std::string header = "{'descr': '";
  header += kDescrs[in.take(1) % std::size(kDescrs)];
  header += "', 'fortran_order': ";
  header += in.take(1) % 8 ? "False" : "True";
  header += ", 'shape': (";
  unsigned rank = in.take(1) % 36;
  for (unsigned d = 0; d < rank; ++d)
    header += dimension(in) + ", ";
  header += "), }";
  header.append(in.take(1) % 64, ' ');
  header += '\n';
  // The announced header length is off by a little, sometimes.
  int64_t announced =
      static_cast<int64_t>(header.size()) +
      (in.take(1) % 16 == 0 ? static_cast<int8_t>(in.take(1)) : 0);
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(version);
  bytes += '\0';
  unsigned lengthBytes = version >= 2 ? 4 : 2;
  for (unsigned i = 0; i < lengthBytes; ++i)
    bytes +=
        static_cast<char>((static_cast<uint64_t>(announced) >> (8 * i)) & 0xff);
  bytes += header;
  bytes += in.rest(); // the data

  // One scratch file per process, removed at exit.
  static const struct Scratch {
    std::string path =
        "/tmp/kb-npy-integer-fuzzer-" + std::to_string(::getpid()) + ".npy";
    ~Scratch() { ::unlink(path.c_str()); }
  } scratch;
  const std::string &path = scratch.path;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (!ec)
      os << bytes;
  }
  for (std::optional<kb::runtime::DType> expected :
       {std::optional<kb::runtime::DType>(),
        std::optional(kb::runtime::DType::BF16)}) {
    llvm::Expected<kb::runtime::HostTensor> parsed =
        kb::runtime::parseNpy(bytes, "fuzz.npy", expected);
    llvm::Expected<kb::runtime::HostTensor> read =
        kb::runtime::readNpy(path, expected);
    // The two readers agree on what is valid.
    if (static_cast<bool>(parsed) != static_cast<bool>(read))
      __builtin_trap();
    if (!parsed) {
      llvm::consumeError(parsed.takeError());
      llvm::consumeError(read.takeError());
      continue;
    }
    if (static_cast<int64_t>(parsed->data.size()) != parsed->numElements() ||
        parsed->shape != read->shape)
      __builtin_trap();
  }
  return 0;
}
