//===- OutputFiles.cpp - writing a run's files all or none ----------------===//

#include "kb/Support/OutputFiles.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kb;
namespace fs = llvm::sys::fs;

static llvm::Error fail(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

static std::string errnoText() { return std::strerror(errno); }

void kb::ignoreFileSizeLimitSignal() { ::signal(SIGXFSZ, SIG_IGN); }

namespace {
/// How a destination is written.
enum class Destination { Replace, WriteThrough };
} // namespace

/// Checks `path` and says how to write it; `refuse` builds the error.
static llvm::Expected<Destination>
classify(llvm::StringRef path, bool createParent,
         llvm::function_ref<llvm::Error(const llvm::Twine &)> refuse) {
  std::string name = path.str();
  struct stat st;
  bool exists = ::lstat(name.c_str(), &st) == 0;
  std::string target = name;
  if (exists && S_ISLNK(st.st_mode)) {
    if (::stat(name.c_str(), &st) != 0)
      return refuse("it is a dangling symbolic link");
    // A link to a device or FIFO (/dev/stdout) is written through by its
    // name; a link to a file has that file replaced, beside it.
    llvm::SmallString<256> real;
    if (S_ISREG(st.st_mode)) {
      if (fs::real_path(path, real))
        return refuse("cannot resolve the symbolic link");
      target = real.str().str();
    }
  }
  if (exists) {
    if (S_ISDIR(st.st_mode))
      return refuse("it is a directory");
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::access(name.c_str(), W_OK) != 0)
        return refuse(errnoText());
      return Destination::WriteThrough;
    }
    if (!S_ISREG(st.st_mode))
      return refuse(llvm::Twine("it is ") +
                    (S_ISBLK(st.st_mode)    ? "a block device"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "not a regular file") +
                    ", which kb neither replaces nor writes through");
  }
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(target));
  if (dir.empty())
    dir = ".";
  // A missing directory that will be created: its nearest ancestor decides.
  while (createParent && !fs::exists(dir)) {
    std::string parent = llvm::sys::path::parent_path(dir).str();
    dir = parent.empty() ? std::string(".") : parent;
  }
  if (!fs::exists(dir))
    return refuse("directory " + dir + " does not exist");
  if (!fs::is_directory(dir))
    return refuse(dir + " is not a directory");
  if (fs::access(dir, fs::AccessMode::Write))
    return refuse("directory " + dir + " is not writable");
  return Destination::Replace;
}

llvm::Error kb::checkOutputPath(llvm::StringRef path, llvm::StringRef flag,
                                bool createParent) {
  auto refuse = [&](const llvm::Twine &why) {
    return fail(flag.empty() ? path.str() : (flag + " " + path).str(),
                "cannot write: " + why);
  };
  llvm::Expected<Destination> kind = classify(path, createParent, refuse);
  return kind ? llvm::Error::success() : kind.takeError();
}

std::string kb::outputIdentity(llvm::StringRef path) {
  llvm::SmallString<256> real;
  if (!fs::real_path(path, real))
    return real.str().str();
  llvm::StringRef parent = llvm::sys::path::parent_path(path);
  if (!fs::real_path(parent.empty() ? "." : parent, real)) {
    llvm::sys::path::append(real, llvm::sys::path::filename(path));
    return real.str().str();
  }
  real = path;
  fs::make_absolute(real);
  llvm::sys::path::remove_dots(real, /*remove_dot_dot=*/true);
  return real.str().str();
}

llvm::Error OutputFileSet::add(llvm::StringRef path, llvm::StringRef contents) {
  return add(path, llvm::ArrayRef<llvm::StringRef>(contents));
}

llvm::Error OutputFileSet::add(llvm::StringRef path,
                               llvm::ArrayRef<llvm::StringRef> parts) {
  auto refuse = [&](const llvm::Twine &why) {
    return fail(path, "cannot write: " + why);
  };
  llvm::Expected<Destination> kind = classify(path, false, refuse);
  if (!kind)
    return kind.takeError();
  Pending p;
  p.path = path.str();
  p.target = outputIdentity(path);
  for (const Pending &other : pending)
    if (other.target == p.target)
      return refuse("it is also the destination of " + other.path);
  if (*kind == Destination::WriteThrough) {
    p.target = path.str(); // a device is written by the name given
    for (llvm::StringRef part : parts)
      p.contents += part;
    pending.push_back(std::move(p));
    return llvm::Error::success();
  }
  // Beside the destination, so that commit() renames within one directory.
  llvm::SmallString<256> temp;
  int fd;
  if (std::error_code ec =
          fs::createUniqueFile(p.target + ".tmp-%%%%%%", fd, temp))
    return refuse(ec.message());
  // An interrupted run must not leave its temporaries either.
  llvm::sys::RemoveFileOnSignal(temp);
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  for (llvm::StringRef part : parts)
    os << part;
  os.close();
  if (os.has_error()) {
    std::string message = os.error().message();
    os.clear_error();
    fs::remove(temp);
    llvm::sys::DontRemoveFileOnSignal(temp);
    return refuse(message);
  }
  p.temp = temp.str().str();
  pending.push_back(std::move(p));
  return llvm::Error::success();
}

/// Writes all of `contents` to the existing device or FIFO at `path`.
static llvm::Error writeThrough(llvm::StringRef path,
                                llvm::StringRef contents) {
  std::string name = path.str();
  // Non-blocking open: a FIFO with no reader is an error, not a hang.
  int fd = ::open(name.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return fail(path, "cannot write: " + (errno == ENXIO
                                              ? std::string("no process reads "
                                                            "from the FIFO")
                                              : errnoText()));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const char *data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      std::string message = errnoText();
      ::close(fd);
      return fail(path, "cannot write: " + message);
    }
    data += n;
    left -= n;
  }
  if (::close(fd) != 0)
    return fail(path, "cannot write: " + errnoText());
  return llvm::Error::success();
}

namespace {
/// Exclusive locks on directories, released on destruction.
class DirectoryLocks {
public:
  explicit DirectoryLocks(const std::set<std::string> &dirs) {
    // In sorted order, so that two sets sharing directories cannot deadlock.
    for (const std::string &dir : dirs) {
      int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        continue; // the renames into it will fail and say why
      while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
      }
      fds.push_back(fd);
    }
  }
  ~DirectoryLocks() {
    for (int fd : fds)
      ::close(fd); // releases the lock
  }

private:
  std::vector<int> fds;
};

/// Holds back the signals that would end the process during a commit; they
/// are delivered when it is over, with the set whole either way.
class HeldSignals {
public:
  HeldSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ, SIGALRM,
                  SIGUSR1, SIGUSR2, SIGTSTP, SIGVTALRM, SIGPROF})
      sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, &old);
  }
  ~HeldSignals() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }

private:
  sigset_t old;
};
} // namespace

llvm::Error OutputFileSet::commit() {
  if (pending.empty())
    return llvm::Error::success();
  std::set<std::string> dirs;
  for (const Pending &p : pending)
    if (!p.temp.empty())
      dirs.insert(llvm::sys::path::parent_path(p.target).str());
  DirectoryLocks locks(dirs);
  HeldSignals held;

  // What has been done, so that a failure can undo it.
  struct Replaced {
    std::string target, backup; // backup empty: nothing was there
  };
  std::vector<Replaced> replaced;
  auto undo = [&]() {
    for (auto it = replaced.rbegin(); it != replaced.rend(); ++it) {
      if (it->backup.empty())
        fs::remove(it->target);
      else
        fs::rename(it->backup, it->target);
    }
    discard();
  };

  for (const Pending &p : pending) {
    if (p.temp.empty())
      continue;
    Replaced r{p.target, ""};
    // What is there now: add() checked it, but it may have changed since.
    fs::file_status status;
    bool exists = !fs::status(p.target, status, /*Follow=*/false);
    if (exists && status.type() != fs::file_type::regular_file) {
      llvm::Error error = fail(
          p.path, "cannot write: it is no longer a regular file (" +
                      llvm::Twine(status.type() == fs::file_type::directory_file
                                      ? "a directory"
                                      : "not a regular file") +
                      " appeared there)");
      undo();
      return error;
    }
    if (exists) {
      // A second name for the old file keeps it until the set is complete.
      llvm::SmallString<256> backup;
      fs::createUniquePath(p.target + ".old-%%%%%%", backup, false);
      if (std::error_code ec = fs::create_hard_link(p.target, backup)) {
        if ((ec = fs::rename(p.target, backup))) {
          llvm::Error error = fail(p.path, "cannot write: cannot keep the "
                                           "file it replaces: " +
                                               ec.message());
          undo();
          return error;
        }
      }
      r.backup = backup.str().str();
    }
    if (std::error_code ec = fs::rename(p.temp, p.target)) {
      if (!r.backup.empty() && !fs::exists(p.target))
        fs::rename(r.backup, p.target);
      else if (!r.backup.empty())
        fs::remove(r.backup);
      llvm::Error error = fail(p.path, "cannot write: " + ec.message());
      undo();
      return error;
    }
    llvm::sys::DontRemoveFileOnSignal(p.temp);
    replaced.push_back(std::move(r));
  }
  for (const Pending &p : pending) {
    if (!p.temp.empty())
      continue;
    if (llvm::Error error = writeThrough(p.target, p.contents)) {
      undo();
      return error;
    }
  }
  for (const Replaced &r : replaced)
    if (!r.backup.empty())
      fs::remove(r.backup);
  pending.clear();
  return llvm::Error::success();
}

void OutputFileSet::discard() {
  for (const Pending &p : pending) {
    if (p.temp.empty())
      continue;
    fs::remove(p.temp);
    llvm::sys::DontRemoveFileOnSignal(p.temp);
  }
  pending.clear();
}

llvm::Error kb::writeFileAtomic(llvm::StringRef path,
                                llvm::StringRef contents) {
  OutputFileSet file;
  if (llvm::Error e = file.add(path, contents))
    return e;
  return file.commit();
}
