#pragma once
// The two backends' constructors, for create_seal_engine() (seal_engine.cc)
// and for tests and benchmarks that want one backend without the fallback.

#include "dataplane/seal/seal_engine.h"

namespace skycast::dataplane::seal {

// crypto::packet_cipher per session; no EAL needed. `fallback_reason`: why
// this stands in for a cryptodev engine (seal_engine::fallback_reason()).
seal_result<std::unique_ptr<seal_engine>>
create_openssl_engine(const seal_options& options, seal_error fallback_reason = seal_error::ok);

// A cryptodev queue pair; EAL must be initialised. With options.openssl_fallback,
// CBC sessions are served by packet_cipher inside this engine; a device that
// cannot be found or set up is still an error here (create_seal_engine falls back).
seal_result<std::unique_ptr<seal_engine>> create_cryptodev_engine(const seal_options& options);

} // namespace skycast::dataplane::seal
