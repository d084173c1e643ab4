#pragma once
// What can go wrong while setting up a seal engine (the device, its queue
// pair, its pools, a session's keys on the device). Per-packet outcomes are
// crypto::crypto_error values, the same ones crypto::packet_cipher returns,
// so both backends report a bad datagram identically; this enum only covers
// what crypto/ cannot know about: DPDK devices and their resources (crypto/
// must not mention DPDK, docs/architecture.md, "Folders").

#include <cassert>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace skycast::dataplane::seal {

enum class seal_error : std::uint8_t {
    ok,
    options_invalid,         // queue pair >= queue pairs, zero burst, zero sessions
    device_name_empty,       // backend cryptodev without dataplane.crypto.cryptodev_device
    device_not_found,        // no cryptodev of that name, and it cannot be created as a vdev
    device_configure_failed, // rte_cryptodev_configure refused (e.g. too many queue pairs)
    queue_pair_setup_failed, // rte_cryptodev_queue_pair_setup refused
    device_start_failed,     // rte_cryptodev_start failed
    queue_pair_out_of_range, // the device is already started with fewer queue pairs
    pool_create_failed,      // op, session or carrier mempool (memory, or a name clash)
    algorithm_not_supported, // the device has no capability for this AEAD and key size
    suite_not_aead,          // a CBC suite on the cryptodev backend without OpenSSL fallback
    session_create_failed,   // rte_cryptodev_sym_session_create failed
    session_table_full,      // more sessions than options.max_sessions
    key_setup_failed,        // the OpenSSL context for the session could not be made
    count                    // sentinel
};

// A stable snake_case name, and one sentence for logs and `skycast check`.
std::string_view name(seal_error e);
std::string_view describe(seal_error e);

// A value or a seal_error (set-up paths only; nothing here allocates).
template <class T>
class [[nodiscard]] seal_result {
public:
    seal_result(T value) : _value(std::move(value)) {}
    seal_result(seal_error error) : _error(error) { assert(error != seal_error::ok); }

    bool ok() const { return _error == seal_error::ok; }
    explicit operator bool() const { return ok(); }
    seal_error error() const { return _error; }

    T& value() & {
        assert(ok());
        return *_value;
    }
    T&& value() && {
        assert(ok());
        return std::move(*_value);
    }
    const T& value() const& {
        assert(ok());
        return *_value;
    }
    T* operator->() { return &value(); }
    T& operator*() & { return value(); }

private:
    std::optional<T> _value;
    seal_error _error = seal_error::ok;
};

} // namespace skycast::dataplane::seal
