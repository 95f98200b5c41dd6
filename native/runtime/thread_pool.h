// ThreadPool: a fixed set of worker threads and a blocking parallel_for, the CPU backend's only
// source of parallelism. Subtle: parallel_for is called from one engine thread at a time (the
// Policy serialises native calls), the calling thread takes part in the work, and a pool of size 1
// runs everything inline, so single-threaded runs are exactly deterministic.
#pragma once
#include <atomic>
#include <condition_variable>
#include <exception>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace glam {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : n_(threads < 1 ? 1 : threads) {
    try {
      for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { loop(i); });
    } catch (...) {  // e.g. a pids limit: join what started, then report
      shutdown();
      throw;
    }
  }
  ~ThreadPool() { shutdown(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }

  // Runs fn(task) for task in [0, tasks), spread over the pool; returns when all are done.
  void run(int64_t tasks, const std::function<void(int64_t)>& fn) {
    if (tasks <= 0) return;
    if (n_ == 1 || tasks == 1) {
      for (int64_t t = 0; t < tasks; ++t) fn(t);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      tasks_ = tasks;
      next_.store(0);
      active_ = n_ - 1;
      ++gen_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return active_ == 0; });
    fn_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  // Splits [0, n) into contiguous chunks of at least `grain` and calls fn(begin, end) on each.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t chunks = (n + grain - 1) / grain;
    if (chunks > int64_t(n_) * 4) chunks = int64_t(n_) * 4;
    if (chunks < 1) chunks = 1;
    const int64_t step = (n + chunks - 1) / chunks;
    run(chunks, [&](int64_t c) {
      int64_t b = c * step, e = b + step < n ? b + step : n;
      if (b < e) fn(b, e);
    });
  }

 private:
  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  void work() {
    for (;;) {
      int64_t t = next_.fetch_add(1);
      if (t >= tasks_) break;
      try {
        (*fn_)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lk(err_mu_);
        if (!error_) error_ = std::current_exception();
        next_.store(tasks_);  // skip the remaining tasks
      }
    }
  }
  void loop(int) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (--active_ == 0) done_cv_.notify_all();
      }
    }
  }

  int n_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  uint64_t gen_ = 0;
  bool stop_ = false;
  std::mutex err_mu_;
  std::exception_ptr error_;
};

}  // namespace glam
