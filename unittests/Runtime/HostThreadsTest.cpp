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

TEST(HostThreadsTest, BackgroundWorkRunsOffTheCallerAndIsDoneBeforeThePoolGrows) {
  // One thread: at once, on the caller.
  std::thread::id ranOn;
  runInBackground([&] { ranOn = std::this_thread::get_id(); }, 1);
  EXPECT_EQ(ranOn, std::this_thread::get_id());
  // Two: on a pool thread, and the caller does not wait for it. A pool
  // made larger afterwards first waits for the background work.
  std::atomic<bool> release{false}, finished{false};
  runInBackground(
      [&] {
        while (!release)
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        finished = true;
      },
      2);
  EXPECT_FALSE(finished);
  release = true;
  std::atomic<int> count{0};
  // (More threads than any other test asks for, so that the pool grows.)
  { HostBatch grown(counting(count, 8), /*threads=*/16); }
  EXPECT_TRUE(finished);
  EXPECT_EQ(count, 8);
}

TEST(HostThreadsTest, ADestroyedBatchHasRunEveryItem) {
  std::atomic<int> count{0};
  { HostBatch batch(counting(count, 100), /*threads=*/3); }
  EXPECT_EQ(count, 100);
}

} // namespace
