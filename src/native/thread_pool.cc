#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace gantry {

// How long a thread spins for the next job (or a job's last tasks) before it sleeps.
// Longer spins (1-2 ms) measured slower on 2 cores: the spinning thread takes the core V8's concurrent
// marking needs.
static constexpr auto kSpin = std::chrono::microseconds(300);

// Spins until done() or kSpin has passed; returns done().
template <typename Done>
static bool spin_until(Done done) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#elif defined(__aarch64__)
      asm volatile("yield");
#endif
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
}

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; i++) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain() {
  for (int t; (t = next_.fetch_add(1)) < tasks_;) (*job_)(t);
}

void ThreadPool::worker_loop() {
  unsigned seen = 0;
  for (;;) {
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      busy_++;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int t = 0; t < tasks; t++) fn(t);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    tasks_ = tasks;
    next_.store(0);
    generation_++;
  }
  wake_.notify_all();
  drain();
  spin_until([&] { return busy_.load(std::memory_order_acquire) == 0; });
  std::unique_lock<std::mutex> lock(mu_);
  // Workers that woke have incremented busy_ under the lock; wait for them to finish their tasks.
  done_.wait(lock, [&] { return busy_ == 0 && next_.load() >= tasks_; });
  job_ = nullptr;
}

static int default_threads() {
  if (const char* env = std::getenv("GANTRY_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

ThreadPool& pool() {
  static ThreadPool instance(default_threads());
  return instance;
}

void parallel_for(long n, const std::function<void(long, long)>& fn, long grain) {
  if (n <= 0) return;
  int threads = pool().size();
  long chunks = std::min<long>(threads, std::max<long>(1, n / std::max<long>(grain, 1)));
  long per = (n + chunks - 1) / chunks;
  pool().run(static_cast<int>(chunks), [&](int c) {
    long begin = c * per, end = std::min(n, begin + per);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace gantry
