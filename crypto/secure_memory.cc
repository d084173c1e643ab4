#include "crypto/secure_memory.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
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
bool g_openssl_frees_zeroed = false;

// OpenSSL's PEM/DER decoders copy a private key through ordinary heap buffers
// before the key reaches the secure heap, and free them without clearing, so
// the private exponent would linger in freed memory. These allocation hooks
// clear every block OpenSSL frees or moves. Its per-packet paths do not
// allocate, so the cost falls on key loading and handshakes only.
void zeroing_free(void* p, const char*, int) {
    if (p != nullptr) {
        sodium_memzero(p, malloc_usable_size(p));
        std::free(p);
    }
}

void* zeroing_malloc(std::size_t n, const char*, int) {
    return std::malloc(n);
}

void* zeroing_realloc(void* p, std::size_t n, const char* file, int line) {
    if (p == nullptr) {
        return std::malloc(n);
    }
    if (n == 0) {
        zeroing_free(p, file, line);
        return nullptr;
    }
    void* moved = std::malloc(n);
    if (moved == nullptr) {
        return nullptr; // the old block stays valid, as realloc() promises
    }
    std::memcpy(moved, p, std::min(n, malloc_usable_size(p)));
    zeroing_free(p, file, line);
    return moved;
}

} // namespace

crypto_error initialize() {
    std::call_once(g_init_once, [] {
        // Only possible before OpenSSL's first allocation: skycast's main()
        // calls initialize() first; a library user who touched OpenSSL
        // earlier loses only the clearing (openssl_frees_are_zeroed()).
        // A program that installed its own allocator (a test counting
        // allocations) keeps it.
        CRYPTO_malloc_fn current_malloc = nullptr;
        CRYPTO_get_mem_functions(&current_malloc, nullptr, nullptr);
        if (current_malloc == CRYPTO_malloc) {
            g_openssl_frees_zeroed =
                CRYPTO_set_mem_functions(zeroing_malloc, zeroing_realloc, zeroing_free) == 1;
        }
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

bool openssl_frees_are_zeroed() {
    return g_openssl_frees_zeroed;
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
