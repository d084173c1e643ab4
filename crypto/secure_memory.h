#pragma once
// Key material lives in libsodium guarded memory: sodium_malloc places the
// bytes between guard pages, mlock()s them (so they never reach swap) and
// sodium_free zeroes them. Every premaster, master secret, key block and group
// master in crypto/ is a secure_bytes. Comparisons of tags and verify data go
// through constant_time_equal so that timing reveals nothing about where the
// first difference is.

#include "crypto/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

// Initialises libsodium and OpenSSL's secure heap once per process
// (thread-safe, idempotent). Every factory in crypto/ calls it; calling it
// early (at start-up) only moves the cost.
// It also makes OpenSSL clear every block it frees, which works only if it
// runs before OpenSSL's first allocation: call it first thing in main().
crypto_error initialize();
// Whether initialize() could install the clearing allocator (see above).
bool openssl_frees_are_zeroed();

// A fixed-size, move-only buffer in guarded memory.
class secure_bytes {
public:
    secure_bytes() = default;
    static result<secure_bytes> allocate(std::size_t size);
    static result<secure_bytes> copy_of(std::span<const std::uint8_t> bytes);
    ~secure_bytes();
    secure_bytes(secure_bytes&& other) noexcept;
    secure_bytes& operator=(secure_bytes&& other) noexcept;
    secure_bytes(const secure_bytes&) = delete;
    secure_bytes& operator=(const secure_bytes&) = delete;

    std::uint8_t* data() { return _data; }
    const std::uint8_t* data() const { return _data; }
    std::size_t size() const { return _size; }
    bool empty() const { return _size == 0; }
    std::span<std::uint8_t> span() { return {_data, _size}; }
    std::span<const std::uint8_t> span() const { return {_data, _size}; }
    std::uint8_t& operator[](std::size_t i) { return _data[i]; }
    std::uint8_t operator[](std::size_t i) const { return _data[i]; }

private:
    secure_bytes(std::uint8_t* data, std::size_t size) : _data(data), _size(size) {}
    std::uint8_t* _data = nullptr;
    std::size_t _size = 0;
};

// True when both spans have the same size and bytes; the time taken depends
// only on the size.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Zeroes memory in a way the compiler cannot optimise away.
void secure_zero(std::span<std::uint8_t> bytes);

} // namespace skycast::crypto
