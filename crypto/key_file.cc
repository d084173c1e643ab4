#include "crypto/key_file.h"

#include "crypto/openssl_util.h"
#include "crypto/secure_memory.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

namespace skycast::crypto {
namespace {

// A key file is a few kilobytes at most; anything much larger is not one.
constexpr std::size_t max_key_file_size = 64 * 1024;

// Never let OpenSSL prompt on the terminal for a passphrase.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

bool contains(std::span<const std::uint8_t> bytes, std::string_view needle) {
    return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

class fd_guard {
public:
    explicit fd_guard(int fd) : _fd(fd) {}
    ~fd_guard() {
        if (_fd >= 0) {
            ::close(_fd);
        }
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return _fd; }
    int release() { return std::exchange(_fd, -1); }

private:
    int _fd;
};

} // namespace

result<private_key> load_private_key_pem(std::span<const std::uint8_t> pem) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return e;
    }
    if (contains(pem, "ENCRYPTED")) {
        return crypto_error::key_file_encrypted;
    }
    // A read-only memory BIO points at the guarded buffer: no copy.
    detail::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return crypto_error::internal_error;
    }
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
    detail::clear_openssl_errors();
    if (pkey == nullptr) {
        return crypto_error::key_file_corrupt;
    }
    return private_key::adopt(detail::pkey_ptr(pkey));
}

result<private_key> load_private_key_file(const std::string& path) {
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return crypto_error::key_file_unreadable;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return crypto_error::key_file_unreadable;
    }
    if (st.st_size <= 0 || static_cast<std::size_t>(st.st_size) > max_key_file_size) {
        return crypto_error::key_file_corrupt;
    }
    auto buffer = secure_bytes::allocate(static_cast<std::size_t>(st.st_size));
    if (!buffer) {
        return buffer.error();
    }
    std::size_t got = 0;
    while (got < buffer->size()) {
        const ssize_t n = ::read(fd.get(), buffer->data() + got, buffer->size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return crypto_error::key_file_unreadable;
        }
        got += static_cast<std::size_t>(n);
    }
    return load_private_key_pem(buffer->span());
}

result<private_key> generate_rsa_key(int bits) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return e;
    }
    if (bits < 512 || bits > 2048) {
        return crypto_error::unsupported_key_size;
    }
    EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits));
    if (pkey == nullptr) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    return private_key::adopt(detail::pkey_ptr(pkey));
}

result<private_key> generate_ec_key(const curve_info& curve) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return e;
    }
    const std::string name(curve.name);
    EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", name.c_str());
    if (pkey == nullptr) {
        detail::clear_openssl_errors();
        return crypto_error::unsupported_curve;
    }
    return private_key::adopt(detail::pkey_ptr(pkey));
}

result<key_spec> parse_key_spec(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return crypto_error::unsupported_key_type;
    }
    const std::string_view type = text.substr(0, colon);
    const std::string_view arg = text.substr(colon + 1);
    key_spec spec;
    if (type == "rsa") {
        int bits = 0;
        const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), bits);
        if (ec != std::errc{} || end != arg.data() + arg.size() || bits < 512 || bits > 2048) {
            return crypto_error::unsupported_key_size;
        }
        spec.kind = key_kind::rsa;
        spec.bits = bits;
        return spec;
    }
    if (type == "ec") {
        spec.kind = key_kind::ec;
        spec.curve = curve_by_name(arg);
        if (spec.curve == nullptr) {
            return crypto_error::unsupported_curve;
        }
        return spec;
    }
    return crypto_error::unsupported_key_type;
}

result<private_key> generate_key(const key_spec& spec) {
    if (spec.kind == key_kind::rsa) {
        return generate_rsa_key(spec.bits);
    }
    if (spec.curve == nullptr) {
        return crypto_error::unsupported_curve;
    }
    return generate_ec_key(*spec.curve);
}

crypto_error write_private_key_file(const private_key& key, const std::string& path) {
    detail::bio_ptr bio(BIO_new(BIO_s_mem())); // BIO_free clears its buffer
    if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key.native(), nullptr, nullptr, 0,
                                                     nullptr, nullptr) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    char* pem = nullptr;
    const long pem_len = BIO_get_mem_data(bio.get(), &pem);
    if (pem_len <= 0 || pem == nullptr) {
        return crypto_error::internal_error;
    }
    // O_EXCL: never replace an existing key (uftp_keymgt refuses too); 0600
    // because the file holds a private key.
    fd_guard fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        return errno == EEXIST ? crypto_error::key_file_exists
                               : crypto_error::key_file_write_failed;
    }
    std::size_t done = 0;
    const auto total = static_cast<std::size_t>(pem_len);
    bool ok = true;
    while (ok && done < total) {
        const ssize_t n = ::write(fd.get(), pem + done, total - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += ok ? static_cast<std::size_t>(n) : 0;
    }
    ok = ok && ::fsync(fd.get()) == 0;
    ok = ::close(fd.release()) == 0 && ok;
    if (!ok) {
        ::unlink(path.c_str());
        return crypto_error::key_file_write_failed;
    }
    return crypto_error::ok;
}

} // namespace skycast::crypto
