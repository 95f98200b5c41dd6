// Coded errors across the N-API boundary: a JS Error whose message is "Code: text" and whose
// `code` property is Code. lib/errors.ts (fromNative) turns it into a GlamError.
// Subtle: every entry point catches std::exception so a C++ failure never terminates Node.
#pragma once
#include <napi.h>

#include <string>

#include "common/error.h"

namespace glam::napi {

inline Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, code + ": " + msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

// Splits a GlamError's what() ("Code: text") back into its parts; anything else is Internal.
inline void split_error(const std::exception& ex, std::string& code, std::string& msg) {
  if (auto* g = dynamic_cast<const GlamError*>(&ex)) {
    code = g->code;
    msg = std::string(g->what()).substr(g->code.size() + 2);
  } else if (dynamic_cast<const std::bad_alloc*>(&ex)) {
    code = "Internal";
    msg = "out of memory; score a smaller batch";
  } else {
    code = "Internal";
    msg = ex.what();
  }
}

#define GLAM_NAPI_TRY try {
#define GLAM_NAPI_CATCH(env)                                          \
  }                                                                   \
  catch (const Napi::Error&) {                                        \
    throw;                                                            \
  }                                                                   \
  catch (const std::exception& ex) {                                  \
    std::string code_, msg_;                                          \
    ::glam::napi::split_error(ex, code_, msg_);                       \
    throw ::glam::napi::coded_error(env, code_, msg_);                \
  }

// An AsyncWorker whose failures keep their code.
class CodedWorker : public Napi::AsyncWorker {
 public:
  explicit CodedWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  // Subclasses implement Run() instead of Execute(); exceptions are captured with their code.
  virtual void Run() = 0;
  void Execute() override {
    try {
      Run();
    } catch (const std::exception& ex) {
      split_error(ex, code_, msg_);
      SetError(msg_);
    }
  }
  void OnError(const Napi::Error&) override {
    Napi::HandleScope scope(Env());
    deferred_.Reject(coded_error(Env(), code_.empty() ? "Internal" : code_, msg_).Value());
  }
  Napi::Promise::Deferred deferred_;

 private:
  std::string code_, msg_;
};

}  // namespace glam::napi
