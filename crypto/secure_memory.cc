#include "crypto/secure_memory.h"

#include <cstring>
#include <mutex>
#include <openssl/crypto.h>
#include <sodium.h>

namespace skycast::crypto {
namespace {

// OpenSSL keeps the private parts of RSA and EC keys (and the temporaries of
// private-key operations) in its own "secure heap" when one exists: mlock()ed,
// guarded and cleared on free, which is OpenSSL's equivalent of sodium_malloc
// for memory it allocates itself. 1 MiB holds hundreds of 2048-bit keys; the
// minimum allocation size of 32 bytes keeps fragmentation low.
constexpr std::size_t openssl_secure_heap_size = std::size_t{1} << 20;
constexpr std::size_t openssl_secure_heap_min = 32;

crypto_error g_init_result = crypto_error::init_failed;
std::once_flag g_init_once;

} // namespace

crypto_error initialize() {
    std::call_once(g_init_once, [] {
        if (sodium_init() < 0) {
            return;
        }
        // Returns 2 when the heap works but could not be mlock()ed (low
        // RLIMIT_MEMLOCK): keys still get guard pages and clearing, so go on.
        if (CRYPTO_secure_malloc_initialized() == 0 &&
            CRYPTO_secure_malloc_init(openssl_secure_heap_size, openssl_secure_heap_min) == 0) {
            return;
        }
        g_init_result = crypto_error::ok;
    });
    return g_init_result;
}

result<secure_bytes> secure_bytes::allocate(std::size_t size) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return e;
    }
    // sodium_malloc(0) is valid but pointless; keep one byte so data() is never null.
    auto* p = static_cast<std::uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
    if (p == nullptr) {
        return crypto_error::secure_alloc_failed;
    }
    sodium_memzero(p, size == 0 ? 1 : size);
    return secure_bytes(p, size);
}

result<secure_bytes> secure_bytes::copy_of(std::span<const std::uint8_t> bytes) {
    auto out = allocate(bytes.size());
    if (out.ok() && !bytes.empty()) {
        std::memcpy(out->data(), bytes.data(), bytes.size());
    }
    return out;
}

secure_bytes::~secure_bytes() {
    if (_data != nullptr) {
        sodium_free(_data); // zeroes before unmapping
    }
}

secure_bytes::secure_bytes(secure_bytes&& other) noexcept : _data(other._data), _size(other._size) {
    other._data = nullptr;
    other._size = 0;
}

secure_bytes& secure_bytes::operator=(secure_bytes&& other) noexcept {
    if (this != &other) {
        if (_data != nullptr) {
            sodium_free(_data);
        }
        _data = other._data;
        _size = other._size;
        other._data = nullptr;
        other._size = 0;
    }
    return *this;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    // The sizes are public (wire lengths), so an early return on them leaks nothing.
    if (a.size() != b.size()) {
        return false;
    }
    if (a.empty()) {
        return true;
    }
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void secure_zero(std::span<std::uint8_t> bytes) {
    if (!bytes.empty()) {
        sodium_memzero(bytes.data(), bytes.size());
    }
}

} // namespace skycast::crypto
