#include "dataplane/seal/seal_engine.h"

#include "dataplane/seal/backends.h"

namespace skycast::dataplane::seal {

std::string_view name(backend_kind b) {
    switch (b) {
    case backend_kind::openssl:
        return "openssl";
    case backend_kind::cryptodev:
        return "cryptodev";
    case backend_kind::count:
        break;
    }
    return "unknown";
}

seal_result<std::unique_ptr<seal_engine>> create_seal_engine(const seal_options& options) {
    switch (options.backend) {
    case backend_kind::openssl:
        return create_openssl_engine(options);
    case backend_kind::cryptodev: {
        auto engine = create_cryptodev_engine(options);
        if (engine || !options.openssl_fallback || engine.error() == seal_error::options_invalid) {
            return engine;
        }
        // Asked for: the device is missing or unusable, so OpenSSL serves,
        // and the engine says why (the dataplane logs it at start).
        return create_openssl_engine(options, engine.error());
    }
    case backend_kind::count:
        break;
    }
    return seal_error::options_invalid;
}

} // namespace skycast::dataplane::seal
