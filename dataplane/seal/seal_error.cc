#include "dataplane/seal/seal_error.h"

#include <array>

namespace skycast::dataplane::seal {
namespace {

struct error_text {
    std::string_view name;
    std::string_view description;
};

constexpr std::array<error_text, static_cast<std::size_t>(seal_error::count)> texts{{
    {"ok", "no error"},
    {"options_invalid",
     "the seal options are inconsistent (queue pair not below the queue pair count, or a zero "
     "burst size or session count)"},
    {"device_name_empty",
     "backend cryptodev needs dataplane.crypto.cryptodev_device (e.g. crypto_aesni_gcm0)"},
    {"device_not_found",
     "no crypto device of that name exists and none could be created as a virtual device "
     "(check the name: crypto_aesni_gcm<N>, crypto_aesni_mb<N>, or a probed hardware device)"},
    {"device_configure_failed", "the crypto device refused its configuration"},
    {"queue_pair_setup_failed", "the crypto device refused to set up a queue pair"},
    {"device_start_failed", "the crypto device could not be started"},
    {"queue_pair_out_of_range",
     "the crypto device is already running with fewer queue pairs than this lcore needs"},
    {"pool_create_failed",
     "a DPDK mempool for crypto operations, sessions or buffers could not be created"},
    {"algorithm_not_supported",
     "the crypto device does not offer this AEAD algorithm with this key size (GCM: "
     "crypto_aesni_gcm or crypto_aesni_mb; CCM: crypto_aesni_mb)"},
    {"suite_not_aead",
     "CBC+HMAC and CBC+KEYEX suites are sealed by OpenSSL only; allow the OpenSSL fallback"},
    {"session_create_failed", "the crypto device could not create a session for this key"},
    {"session_table_full", "more sessions than the engine was sized for (max_sessions)"},
    {"key_setup_failed", "the OpenSSL context for this session's keys could not be prepared"},
}};

} // namespace

std::string_view name(seal_error e) {
    const auto i = static_cast<std::size_t>(e);
    return i < texts.size() ? texts[i].name : "unknown";
}

std::string_view describe(seal_error e) {
    const auto i = static_cast<std::size_t>(e);
    return i < texts.size() ? texts[i].description : "unknown seal error";
}

} // namespace skycast::dataplane::seal
