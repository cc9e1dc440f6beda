//===- NpyTest.cpp - .npy reading and writing -----------------------------===//

#include "kb/Runtime/Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <tuple>

#include <sys/wait.h>
#include <unistd.h>

using namespace kb::runtime;

namespace {

std::string errorOf(llvm::Expected<HostTensor> t) {
  if (t)
    return "";
  return llvm::toString(t.takeError());
}

/// A hand-made .npy: magic, version 1.0, the header padded with spaces.
std::string npy(const std::string &dict, const std::string &data) {
  std::string header = dict;
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

TEST(NpyTest, RoundTripsEveryDTypeAndRank) {
  for (DType dtype : {DType::F16, DType::BF16, DType::F32}) {
    for (llvm::SmallVector<int64_t, 4> shape :
         {llvm::SmallVector<int64_t, 4>{}, {5}, {3, 4}, {2, 3, 4}}) {
      HostTensor t = randomTensor(dtype, shape, 11);
      llvm::Expected<HostTensor> back =
          parseNpy(serializeNpy(t), "t.npy", dtype);
      ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
      EXPECT_EQ(back->dtype, dtype);
      EXPECT_EQ(back->shape, t.shape);
      EXPECT_EQ(back->data, t.data);
    }
  }
}

TEST(NpyTest, WritesF32AndKeptF16DataFromTheTensorsOwnStorage) {
  HostTensor f32 = randomTensor(DType::F32, {3, 5}, 3);
  NpyBytes bytes = npyBytes(f32);
  // A view of the tensor's elements, not a copy of them.
  EXPECT_EQ(bytes.data().data(), reinterpret_cast<const char *>(f32.data.data()));
  EXPECT_EQ(bytes.header.size() % 64, 0u);
  EXPECT_EQ(bytes.header + bytes.data().str(), serializeNpy(f32));

  HostTensor half = randomTensor(DType::F16, {4, 2}, 5);
  half.narrow();
  ASSERT_TRUE(half.isHalf());
  bytes = npyBytes(half);
  EXPECT_EQ(bytes.data().data(),
            reinterpret_cast<const char *>(half.halves.data()));
  llvm::Expected<HostTensor> back =
      parseNpy(bytes.header + bytes.data().str(), "h.npy", DType::F16);
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  half.widen();
  EXPECT_EQ(back->data, half.data);

  // An f16 tensor held as floats is converted: two bytes an element.
  HostTensor wide = randomTensor(DType::F16, {7}, 9);
  bytes = npyBytes(wide);
  EXPECT_EQ(bytes.data().size(), 14u);
  EXPECT_EQ(bytes.data().data(), bytes.converted.data());
}

TEST(NpyTest, ReadsNumpysOwnLayout) {
  float values[] = {1.5f, -2.0f};
  std::string data(reinterpret_cast<const char *>(values), sizeof values);
  llvm::Expected<HostTensor> t = parseNpy(
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data),
      "x.npy");
  ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->shape.size(), 1u);
  EXPECT_EQ(t->data[1], -2.0f);
}

TEST(NpyTest, ReadsArraysWithoutElements) {
  // numpy writes shapes with a 0 and no data; there is nothing to copy.
  for (const char *descr : {"<f2", "<f4"}) {
    llvm::Expected<HostTensor> t =
        parseNpy(npy(std::string("{'descr': '") + descr +
                         "', 'fortran_order': False, 'shape': (0, 3), }",
                     ""),
                 "empty.npy");
    ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
    EXPECT_EQ(t->shape, (llvm::SmallVector<int64_t, 4>{0, 3}));
    EXPECT_TRUE(t->data.empty());
  }
}

TEST(NpyTest, RejectsEveryMalformedInputWithItsName) {
  std::string four(16, '\0');
  struct Bad {
    std::string bytes, message;
  } cases[] = {
      {"garbage", "wrong magic"},
      {"\x93NUMPY\x01", "truncated .npy header"},
      {std::string("\x93NUMPY\x09\x00\x10\x00{}", 12),
       "unsupported .npy format version 9"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,2), }", "x"),
       "truncated data"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four),
       "unexpected bytes after the data"},
      {npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", four),
       "unsupported dtype '>f4'"},
      {npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", four),
       "unsupported dtype '<f8'"},
      {npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,2), }", four),
       "Fortran-order"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
           "(99999999999,99999999999), }",
           ""),
       "too large"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""),
       "bad dimension"},
      {npy("{'descr': '<f4', 'shape': (1,), }", four), "lacks"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
           four),
       "unexpected key 'x'"},
      {npy("[1, 2]", ""), "expected a dict"},
  };
  for (const Bad &bad : cases) {
    std::string message = errorOf(parseNpy(bad.bytes, "in.npy"));
    EXPECT_NE(message.find("in.npy: "), std::string::npos) << message;
    EXPECT_NE(message.find(bad.message), std::string::npos)
        << "expected '" << bad.message << "' in '" << message << "'";
  }
}

/// The little-endian bytes of `values` as `T`.
template <typename T> std::string bytesOf(std::initializer_list<int64_t> values) {
  std::string out;
  for (int64_t v : values) {
    T t = static_cast<T>(v);
    out.append(reinterpret_cast<const char *>(&t), sizeof t);
  }
  return out;
}

TEST(NpyTest, ReadsInt32AndInt64Ids) {
  for (auto [descr, data, dtype] :
       {std::tuple{"<i4", bytesOf<int32_t>({0, 7, 50256, -2}), DType::I32},
        std::tuple{"<i8", bytesOf<int64_t>({0, 7, 50256, -2}), DType::I64}}) {
    std::string file = npy(std::string("{'descr': '") + descr +
                               "', 'fortran_order': False, 'shape': (4,), }",
                           data);
    llvm::Expected<HostTensor> t = parseNpy(file, "ids.npy");
    ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
    EXPECT_EQ(t->dtype, dtype);
    EXPECT_EQ(t->shape, (llvm::SmallVector<int64_t, 4>{4}));
    EXPECT_EQ(t->data, (TensorData{0.0f, 7.0f, 50256.0f, -2.0f}));
    // Written back as the same integers.
    llvm::Expected<HostTensor> back =
        parseNpy(serializeNpy(*t), "back.npy");
    ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
    EXPECT_EQ(back->dtype, dtype);
    EXPECT_EQ(back->data, t->data);
    EXPECT_NE(serializeNpy(*t).find(descr), std::string::npos);
  }
}

TEST(NpyTest, RefusesIntegersBeyondWhatIsHeldExactly) {
  // 2^24 + 1 is the first integer an f32 cannot hold: refused with its
  // position and value, in both widths and from a file as from memory.
  int64_t big = kMaxExactInteger + 1;
  for (auto [descr, data] :
       {std::pair{"<i4", bytesOf<int32_t>({3, big})},
        std::pair{"<i8", bytesOf<int64_t>({3, big})},
        std::pair{"<i8", bytesOf<int64_t>({3, -(int64_t(1) << 40)})}}) {
    std::string file = npy(std::string("{'descr': '") + descr +
                               "', 'fortran_order': False, 'shape': (2,), }",
                           data);
    std::string message = errorOf(parseNpy(file, "ids.npy"));
    EXPECT_NE(message.find("ids.npy: element 1 is "), std::string::npos)
        << message;
    EXPECT_NE(message.find("beyond the integers kb holds"), std::string::npos)
        << message;
    llvm::SmallString<128> path;
    ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("ids", "npy", path));
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      ASSERT_FALSE(ec);
      os << file;
    }
    message = errorOf(readNpy(path));
    llvm::sys::fs::remove(path);
    EXPECT_NE(message.find(": element 1 is "), std::string::npos) << message;
  }
  // Exactly 2^24 is held.
  std::string file =
      npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }",
          bytesOf<int32_t>({kMaxExactInteger}));
  llvm::Expected<HostTensor> t = parseNpy(file, "ids.npy");
  ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->data[0], 16777216.0f);
}

TEST(NpyTest, RejectsMalformedIntegerFiles) {
  std::string three = bytesOf<int32_t>({1, 2, 3});
  struct Bad {
    std::string bytes, message;
  } cases[] = {
      {npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", three),
       "truncated data: shape 4 needs 16 bytes, 12 present"},
      {npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", three),
       "truncated data: shape 2 needs 16 bytes, 12 present"},
      {npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", three),
       "4 unexpected bytes after the data"},
      {npy("{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }", three),
       "unsupported dtype '>i4'"},
      {npy("{'descr': '<i2', 'fortran_order': False, 'shape': (6,), }", three),
       "unsupported dtype '<i2'"},
      {npy("{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }", three),
       "unsupported dtype '<u4'"},
  };
  for (const Bad &bad : cases) {
    std::string message = errorOf(parseNpy(bad.bytes, "in.npy"));
    EXPECT_NE(message.find("in.npy: "), std::string::npos) << message;
    EXPECT_NE(message.find(bad.message), std::string::npos)
        << "expected '" << bad.message << "' in '" << message << "'";
  }
}

TEST(NpyTest, AtomicWriteLeavesNothingOnFailure) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("kb-npy", dir));
  llvm::SmallString<128> good(dir), bad(dir);
  llvm::sys::path::append(good, "t.npy");
  llvm::sys::path::append(bad, "missing", "t.npy");
  HostTensor t = randomTensor(DType::F32, {4, 4}, 1);
  EXPECT_FALSE(static_cast<bool>(writeNpyAtomic(good, t)));
  llvm::Expected<HostTensor> back = readNpy(good);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_EQ(back->data, t.data);
  llvm::Error error = writeNpyAtomic(bad, t);
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("cannot write"),
            std::string::npos);
  EXPECT_FALSE(llvm::sys::fs::exists(bad));
  EXPECT_NE(errorOf(readNpy(bad)).find("cannot read"), std::string::npos);
  // Only the good file is in the directory: no temporary left behind.
  std::error_code ec;
  int entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    ++entries;
  EXPECT_EQ(entries, 1);
  llvm::sys::fs::remove_directories(dir);
}

/// The names in `dir`, sorted.
std::vector<std::string> listDir(llvm::StringRef dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  llvm::sort(names);
  return names;
}

std::string contentsOf(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path);
  return buffer ? (*buffer)->getBuffer().str() : "<unreadable>";
}

/// The path of the file mapped at `address` in this process
/// (/proc/self/maps), "" when the address is anonymous memory or unmapped.
std::string fileMappedAt(const void *address) {
  auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, path;
    fields >> range >> perms >> offset >> device >> inode >> path;
    size_t dash = range.find('-');
    uintptr_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
    uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (at >= begin && at < end)
      return path;
  }
  return "";
}

TEST(NpyTest, LargeInputsAreMappedNotCopiedAndNeverWrittenBack) {
  if (minimumAdoptedBytes() == SIZE_MAX)
    GTEST_SKIP() << "tensors come from malloc in this build (sanitizers)";
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("kb-npy-map", dir));
  // Just over the size a tensor can adopt, with a tail that is not a whole
  // page: f32 as data, f16 (kept half) as halves.
  int64_t rows = static_cast<int64_t>(minimumAdoptedBytes() / 4 / 1000) + 3;
  for (DType dtype : {DType::F32, DType::F16}) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, dtype == DType::F32 ? "w32.npy" : "w16.npy");
    int64_t columns = dtype == DType::F32 ? 1000 : 2000;
    HostTensor written = randomTensor(dtype, {rows, columns}, 5);
    ASSERT_FALSE(static_cast<bool>(writeNpyAtomic(path, written)));
    std::string fileBefore = contentsOf(path);
    {
      llvm::Expected<HostTensor> t =
          readNpy(path, dtype, /*keepHalf=*/true, /*threads=*/2);
      ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
      const void *storage = dtype == DType::F32
                                ? static_cast<const void *>(t->data.data())
                                : static_cast<const void *>(t->halves.data());
      // The tensor's elements are the file's pages, not a copy of them.
      EXPECT_EQ(fileMappedAt(storage), path.str().str());
      EXPECT_EQ(widened(*t).data, written.data);
      // Writes stay in this process: the mapping is copy-on-write.
      if (dtype == DType::F32) {
        t->data.front() = 1234.0f;
        t->data.back() = -1.0f;
        EXPECT_EQ(t->data.front(), 1234.0f);
      } else {
        t->halves.front() = 0x3c00;
        t->halves.back() = 0xbc00;
      }
      EXPECT_EQ(contentsOf(path), fileBefore);
    }
    // Freed with the tensor: no mapping of the file is left.
    std::ifstream maps("/proc/self/maps");
    std::string all((std::istreambuf_iterator<char>(maps)),
                    std::istreambuf_iterator<char>());
    EXPECT_EQ(all.find(path.str().str()), std::string::npos);
  }
  // Below the size a tensor can adopt, the data is read into fresh memory.
  llvm::SmallString<128> small(dir);
  llvm::sys::path::append(small, "small.npy");
  ASSERT_FALSE(static_cast<bool>(
      writeNpyAtomic(small, randomTensor(DType::F32, {64, 64}, 2))));
  llvm::Expected<HostTensor> t = readNpy(small);
  ASSERT_TRUE(static_cast<bool>(t));
  EXPECT_NE(fileMappedAt(t->data.data()), small.str().str());
  llvm::sys::fs::remove_directories(dir);
}

/// A fresh directory, removed with everything in it at the end of the test.
class OutputFileSetTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("kb-outputs", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string in(llvm::StringRef name) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return path.str().str();
  }
  llvm::SmallString<128> dir;
};

TEST_F(OutputFileSetTest, CommitPutsExactlyTheSetInPlace) {
  {
    OutputFileSet set;
    ASSERT_FALSE(static_cast<bool>(set.add(in("result0.npy"), "zero")));
    ASSERT_FALSE(static_cast<bool>(set.add(in("r.json"), "{}")));
    ASSERT_FALSE(static_cast<bool>(set.add(in("empty"), "")));
    // Nothing is in place before the commit, only temporaries.
    EXPECT_FALSE(llvm::sys::fs::exists(in("result0.npy")));
    ASSERT_FALSE(static_cast<bool>(set.commit()));
  }
  EXPECT_EQ(listDir(dir),
            (std::vector<std::string>{"empty", "r.json", "result0.npy"}));
  EXPECT_EQ(contentsOf(in("result0.npy")), "zero");
  EXPECT_EQ(contentsOf(in("r.json")), "{}");
  EXPECT_EQ(contentsOf(in("empty")), "");
}

TEST_F(OutputFileSetTest, PartsAreWrittenInOrderAsOneFile) {
  {
    OutputFileSet set;
    llvm::StringRef parts[] = {"head", "", "er+", "data"};
    ASSERT_FALSE(static_cast<bool>(set.add(in("t.npy"), parts)));
    ASSERT_FALSE(static_cast<bool>(set.commit()));
  }
  EXPECT_EQ(contentsOf(in("t.npy")), "header+data");
}

TEST_F(OutputFileSetTest, AnUnwritableDestinationLeavesNoneOfTheOthers) {
  {
    OutputFileSet set;
    ASSERT_FALSE(static_cast<bool>(set.add(in("result0.npy"), "zero")));
    ASSERT_FALSE(static_cast<bool>(set.add(in("r.json"), "{}")));
    llvm::Error error = set.add(in("missing/t.json"), "[]");
    ASSERT_TRUE(static_cast<bool>(error));
    std::string message = llvm::toString(std::move(error));
    EXPECT_NE(message.find("missing/t.json: cannot write"), std::string::npos)
        << message;
    // The caller returns on the error; the set goes out of scope uncommitted.
  }
  EXPECT_EQ(listDir(dir), std::vector<std::string>{});
}

TEST_F(OutputFileSetTest, AFailedCommitRestoresWhatItReplaced) {
  ASSERT_FALSE(static_cast<bool>(writeFileAtomic(in("r.json"), "old")));
  OutputFileSet set;
  ASSERT_FALSE(static_cast<bool>(set.add(in("result0.npy"), "zero")));
  ASSERT_FALSE(static_cast<bool>(set.add(in("r.json"), "{}")));
  ASSERT_FALSE(static_cast<bool>(set.add(in("t.json"), "[]")));
  // A non-empty directory appears at the last destination after the checks:
  // its rename fails even for root, after the first two files are in place.
  ASSERT_FALSE(llvm::sys::fs::create_directories(in("t.json/inside")));
  llvm::Error error = set.commit();
  ASSERT_TRUE(static_cast<bool>(error));
  std::string message = llvm::toString(std::move(error));
  EXPECT_NE(message.find("t.json: cannot write"), std::string::npos) << message;
  // The replaced r.json is back as it was; the new result0.npy is gone; no
  // temporary or kept copy is left.
  EXPECT_EQ(listDir(dir), (std::vector<std::string>{"r.json", "t.json"}));
  EXPECT_EQ(contentsOf(in("r.json")), "old");
  // The set is empty: a second commit does nothing.
  EXPECT_FALSE(static_cast<bool>(set.commit()));
  EXPECT_EQ(listDir(dir), (std::vector<std::string>{"r.json", "t.json"}));
}

TEST_F(OutputFileSetTest, ADestinationThatIsADirectoryIsRefusedAtAdd) {
  ASSERT_FALSE(llvm::sys::fs::create_directories(in("t.json")));
  OutputFileSet set;
  llvm::Error error = set.add(in("t.json"), "[]");
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("it is a directory"),
            std::string::npos);
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"t.json"});
}

TEST_F(OutputFileSetTest, TwoOutputsAtOnePathAreRefused) {
  OutputFileSet set;
  ASSERT_FALSE(static_cast<bool>(set.add(in("r.json"), "{}")));
  llvm::Error error = set.add((dir + "/./r.json").str(), "[]");
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("also the destination of"),
            std::string::npos);
}

TEST_F(OutputFileSetTest, ASymbolicLinkIsFollowedAndKept) {
  ASSERT_FALSE(static_cast<bool>(writeFileAtomic(in("target"), "old")));
  ASSERT_FALSE(llvm::sys::fs::create_link("target", in("link")));
  ASSERT_FALSE(static_cast<bool>(writeFileAtomic(in("link"), "new")));
  llvm::sys::fs::file_status status;
  ASSERT_FALSE(llvm::sys::fs::status(in("link"), status, /*Follow=*/false));
  EXPECT_EQ(status.type(), llvm::sys::fs::file_type::symlink_file);
  EXPECT_EQ(contentsOf(in("target")), "new");
}

TEST_F(OutputFileSetTest, ACharacterDeviceIsWrittenThroughNotReplaced) {
  ASSERT_FALSE(static_cast<bool>(writeFileAtomic("/dev/null", "anything")));
  llvm::sys::fs::file_status status;
  ASSERT_FALSE(llvm::sys::fs::status("/dev/null", status, /*Follow=*/false));
  EXPECT_EQ(status.type(), llvm::sys::fs::file_type::character_file);
  // No temporary was made beside it.
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it("/dev", ec), end; it != end && !ec;
       it.increment(ec))
    EXPECT_FALSE(llvm::StringRef(it->path()).starts_with("/dev/null.tmp"))
        << it->path();
}

TEST_F(OutputFileSetTest, ConcurrentCommitsToOneDirectoryNeverMix) {
  // Two writers of the same set of names at once, as two kb-runs are: two
  // processes. Each commit is whole, so the directory ends up holding one
  // writer's set, never a mix.
  constexpr int kFiles = 24;
  for (int round = 0; round < 20; ++round) {
    auto writer = [&](const std::string &contents) -> pid_t {
      pid_t pid = fork();
      if (pid != 0)
        return pid;
      OutputFileSet set;
      for (int i = 0; i < kFiles; ++i)
        if (set.add(in("result" + std::to_string(i) + ".npy"), contents))
          _exit(2);
      _exit(set.commit() ? 3 : 0);
    };
    pid_t a = writer("A"), b = writer("B");
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    for (pid_t pid : {a, b}) {
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "round " << round << ": a writer failed (status " << status << ")";
    }
    std::string first = contentsOf(in("result0.npy"));
    for (int i = 1; i < kFiles; ++i)
      ASSERT_EQ(contentsOf(in("result" + std::to_string(i) + ".npy")), first)
          << "round " << round << ", file " << i;
    EXPECT_EQ(listDir(dir).size(), static_cast<size_t>(kFiles));
  }
}

TEST_F(OutputFileSetTest, DiscardRemovesTheTemporaries) {
  OutputFileSet set;
  ASSERT_FALSE(static_cast<bool>(set.add(in("result0.npy"), "zero")));
  EXPECT_EQ(listDir(dir).size(), 1u); // the temporary
  set.discard();
  EXPECT_EQ(listDir(dir), std::vector<std::string>{});
  EXPECT_FALSE(static_cast<bool>(set.commit()));
  EXPECT_EQ(listDir(dir), std::vector<std::string>{});
}

TEST(NpyTest, RandomTensorsAreDeterministicAndInRange) {
  HostTensor a = randomTensor(DType::F32, {100}, 5),
             b = randomTensor(DType::F32, {100}, 5),
             c = randomTensor(DType::F32, {100}, 6);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  for (float v : a.data) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LT(v, 1.0f);
  }
}

} // namespace
