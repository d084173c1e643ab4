#include "crypto/keyinfo.h"

#include "crypto/iv.h"
#include "crypto/openssl_util.h"

#include <algorithm>
#include <openssl/evp.h>

namespace skycast::crypto {
namespace {

// Runs the forced-CBC cipher over `in` into `out` (which holds in + one block).
result<std::size_t> run_cbc(const suite& s, const key_block& keys, std::uint32_t server_uid,
                            std::uint64_t iv_ctr, bool encrypt, std::span<const std::uint8_t> in,
                            std::uint8_t* out) {
    const cipher_spec cbc = keyinfo_cipher(s.cipher);
    if (keys.key().size() != cbc.key_len) {
        return crypto_error::key_mismatch;
    }
    std::array<std::uint8_t, max_iv_len> iv{};
    build_iv(cbc, keys.salt(), server_uid, iv_ctr, iv);
    detail::cipher_ptr cipher(EVP_CIPHER_fetch(nullptr, cbc.evp_name, nullptr));
    detail::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    int fin = 0;
    if (!cipher || !ctx ||
        EVP_CipherInit_ex2(ctx.get(), cipher.get(), keys.key().data(), iv.data(), encrypt ? 1 : 0,
                           nullptr) != 1 ||
        EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    if (EVP_CipherFinal_ex(ctx.get(), out + len, &fin) != 1) {
        detail::clear_openssl_errors();
        return encrypt ? crypto_error::internal_error : crypto_error::keyinfo_length_wrong;
    }
    return static_cast<std::size_t>(len + fin);
}

} // namespace

result<keyinfo_ciphertext> encrypt_group_master(const suite& s, const key_block& client_keys,
                                                std::uint32_t server_uid, std::uint64_t iv_ctr,
                                                std::span<const std::uint8_t> group_master) {
    if (group_master.size() != group_master_len) {
        return crypto_error::keyinfo_length_wrong;
    }
    std::array<std::uint8_t, keyinfo_entry_len + 16> out{};
    auto n = run_cbc(s, client_keys, server_uid, iv_ctr, true, group_master.subspan(1), out.data());
    if (!n) {
        return n.error();
    }
    if (*n != keyinfo_entry_len) {
        return crypto_error::internal_error;
    }
    keyinfo_ciphertext entry{};
    std::copy_n(out.begin(), keyinfo_entry_len, entry.begin());
    return entry;
}

result<secure_bytes> decrypt_group_master(const suite& s, const key_block& client_keys,
                                          std::uint32_t server_uid, std::uint64_t iv_ctr,
                                          const keyinfo_ciphertext& entry, std::uint8_t version) {
    auto plain = secure_bytes::allocate(keyinfo_entry_len + 16);
    if (!plain) {
        return plain.error();
    }
    auto n = run_cbc(s, client_keys, server_uid, iv_ctr, false, entry, plain->data() + 1);
    if (!n) {
        return n.error();
    }
    if (*n != group_master_len - 1) {
        return crypto_error::keyinfo_length_wrong;
    }
    (*plain)[0] = version;
    return secure_bytes::copy_of(plain->span().first(group_master_len));
}

} // namespace skycast::crypto
