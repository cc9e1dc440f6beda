//===- HostThreadsTest.cpp - kb-run's pool of host threads ----------------===//

#include "kb/Runtime/HostThreads.h"

#include "gtest/gtest.h"

#include <atomic>
#include <chrono>
#include <thread>

using namespace kb::runtime;

namespace {

std::vector<std::function<void()>> counting(std::atomic<int> &count, int n) {
  std::vector<std::function<void()>> work;
  for (int i = 0; i < n; ++i)
    work.push_back([&count] { ++count; });
  return work;
}

TEST(HostThreadsTest, OneThreadRunsABatchAtOnce) {
  std::atomic<int> count{0};
  HostBatch batch(counting(count, 5), /*threads=*/1);
  EXPECT_EQ(count, 5);
  batch.join();
  EXPECT_EQ(count, 5);
}

TEST(HostThreadsTest, ABatchRunsBesideTheCallerAndJoinWaitsForAllOfIt) {
  // The first item holds a pool thread until another thread lets it go,
  // 50 ms on: the batch must return to the caller before that, and join
  // must wait for it.
  std::atomic<bool> release{false};
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
  });
  std::atomic<int> count{0};
  std::vector<std::function<void()>> work;
  work.push_back([&] {
    while (!release)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    ++count;
  });
  for (int i = 0; i < 63; ++i)
    work.push_back([&count] { ++count; });
  HostBatch batch(std::move(work), /*threads=*/2);
  bool returnedBeforeRelease = !release;
  batch.join();
  EXPECT_TRUE(returnedBeforeRelease);
  EXPECT_TRUE(release);
  EXPECT_EQ(count, 64);
  releaser.join();
}

TEST(HostThreadsTest, ASingleItemRunsOnAPoolThreadAndDoneSaysWhenItHas) {
  // With two threads even one item leaves the caller free: it is not run
  // in the constructor, and done() is false until it has run.
  std::atomic<bool> release{false};
  std::thread::id ranOn;
  std::vector<std::function<void()>> work;
  work.push_back([&] {
    while (!release)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    ranOn = std::this_thread::get_id();
  });
  HostBatch batch(std::move(work), /*threads=*/2);
  EXPECT_FALSE(batch.done());
  release = true;
  while (!batch.done())
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  batch.join();
  EXPECT_NE(ranOn, std::this_thread::get_id());
}

TEST(HostThreadsTest, AnEmptyOrOneThreadBatchIsDoneAtOnce) {
  std::atomic<int> count{0};
  HostBatch empty({}, /*threads=*/2);
  EXPECT_TRUE(empty.done());
  HostBatch inline_(counting(count, 3), /*threads=*/1);
  EXPECT_TRUE(inline_.done());
  EXPECT_EQ(count, 3);
}

TEST(HostThreadsTest, BackgroundWorkRunsOffTheCaller) {
  // One thread: at once, on the caller.
  std::thread::id ranOn;
  runInBackground([&] { ranOn = std::this_thread::get_id(); }, 1);
  EXPECT_EQ(ranOn, std::this_thread::get_id());
  // Two: on a pool thread, and the caller does not wait for it.
  std::atomic<bool> release{false}, finished{false};
  std::thread::id backgroundOn;
  runInBackground(
      [&] {
        while (!release)
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        backgroundOn = std::this_thread::get_id();
        finished = true;
      },
      2);
  EXPECT_FALSE(finished);
  release = true;
  for (int i = 0; i < 100000 && !finished; ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  EXPECT_TRUE(finished);
  EXPECT_NE(backgroundOn, std::this_thread::get_id());
}

TEST(HostThreadsTest, AJoinRunsOtherBatchesItemsWhileItsOwnAreUnderWay) {
  // Batch `first`'s one item holds a pool thread until all of `second`'s
  // eight 5 ms items have run (or a watchdog lets it go after 2 s). Joining
  // `first`, the caller has nothing of it left to take: it runs `second`'s
  // items meanwhile, beside the one pool task `second` has.
  std::atomic<bool> release{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 2000 && !release; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    release = true;
  });
  std::atomic<bool> taken{false};
  std::vector<std::function<void()>> a;
  a.push_back([&] {
    taken = true;
    while (!release)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  });
  HostBatch first(std::move(a), /*threads=*/2);
  // The pool thread has it before anything else happens.
  while (!taken)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> ran{0}, onCaller{0};
  std::vector<std::function<void()>> b;
  for (int i = 0; i < 8; ++i)
    b.push_back([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (std::this_thread::get_id() == caller)
        ++onCaller;
      if (++ran == 8)
        release = true;
    });
  HostBatch second(std::move(b), /*threads=*/2);
  auto start = std::chrono::steady_clock::now();
  first.join();
  EXPECT_EQ(ran, 8);
  EXPECT_GE(onCaller, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  second.join();
  watchdog.join();
}

TEST(HostThreadsTest, ADestroyedBatchHasRunEveryItem) {
  std::atomic<int> count{0};
  { HostBatch batch(counting(count, 100), /*threads=*/3); }
  EXPECT_EQ(count, 100);
}

} // namespace
