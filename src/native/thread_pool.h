// A fixed pool of worker threads for data-parallel loops. The calling thread takes part, so a pool
// of size 1 runs everything inline. Size: GANTRY_THREADS, else the hardware's thread count.
// A training step issues ~1,000 parallel loops tens of microseconds apart: workers spin for a while
// after a job (and the caller for the workers' last tasks) before sleeping, as OpenMP runtimes do, so
// a loop does not wait for a sleeping thread to be woken.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gantry {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(task) for task in [0, tasks), spread over the pool; returns when all are done.
  void run(int tasks, const std::function<void(int)>& fn);

 private:
  void worker_loop();
  void drain();
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_{0};
  // Changed under mu_, read without it by threads spinning for the next job or the last task.
  std::atomic<int> busy_{0};
  std::atomic<unsigned> generation_{0};
  bool stop_ = false;
};

ThreadPool& pool();
// parallel_for over [0, n) in contiguous chunks, at most one chunk per thread (or `grain` items a chunk).
void parallel_for(long n, const std::function<void(long, long)>& fn, long grain = 1);

}  // namespace gantry
