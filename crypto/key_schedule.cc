#include "crypto/key_schedule.h"

#include "crypto/openssl_util.h"
#include "crypto/prf.h"
#include "crypto/random.h"

#include <cstring>
#include <openssl/evp.h>

namespace skycast::crypto {
namespace {

result<key_block> derive_block(const suite& s, std::span<const std::uint8_t> secret,
                               std::span<const std::uint8_t> seed) {
    auto bytes = secure_bytes::allocate(key_block_size(s));
    if (!bytes) {
        return bytes.error();
    }
    if (auto e = uftp_prf(s.hash.type, secret, "key expansion", seed, bytes->span());
        e != crypto_error::ok) {
        return e;
    }
    return key_block::from_bytes(s, bytes->span());
}

} // namespace

result<key_block> key_block::from_bytes(const suite& s, std::span<const std::uint8_t> bytes) {
    if (bytes.size() != key_block_size(s)) {
        return crypto_error::buffer_too_small;
    }
    auto copy = secure_bytes::copy_of(bytes);
    if (!copy) {
        return copy.error();
    }
    return key_block(std::move(copy).value(), s.hash.len, s.cipher.key_len);
}

result<key_block> key_block::clone() const {
    auto copy = secure_bytes::copy_of(_bytes.span());
    if (!copy) {
        return copy.error();
    }
    return key_block(std::move(copy).value(), _hmac_len, _key_len);
}

result<secure_bytes> derive_master_secret(protocol::hash_type hash,
                                          std::span<const std::uint8_t> premaster,
                                          const hello_random& rand1, const hello_random& rand2) {
    std::array<std::uint8_t, 2 * hello_random_len> seed;
    std::memcpy(seed.data(), rand1.data(), rand1.size());
    std::memcpy(seed.data() + rand1.size(), rand2.data(), rand2.size());
    auto master = secure_bytes::allocate(master_secret_len);
    if (!master) {
        return master.error();
    }
    if (auto e = uftp_prf(hash, premaster, "master secret", seed, master->span());
        e != crypto_error::ok) {
        return e;
    }
    return master;
}

result<key_block> derive_client_key_block(const suite& s, std::span<const std::uint8_t> master,
                                          const hello_random& rand1, const hello_random& rand2) {
    std::array<std::uint8_t, 2 * hello_random_len> seed;
    std::memcpy(seed.data(), rand1.data(), rand1.size());
    std::memcpy(seed.data() + rand1.size(), rand2.data(), rand2.size());
    return derive_block(s, master, seed);
}

result<secure_bytes> make_group_master() {
    auto gm = secure_bytes::allocate(group_master_len);
    if (!gm) {
        return gm.error();
    }
    if (auto e = random_bytes(gm->span().subspan(1)); e != crypto_error::ok) {
        return e;
    }
    (*gm)[0] = protocol::uftp_version;
    return gm;
}

result<key_block> derive_group_key_block(const suite& s, std::span<const std::uint8_t> group_master,
                                         const hello_random& rand1) {
    return derive_block(s, group_master, rand1);
}

result<secure_bytes> build_verify_data_1(const verify_data_1_inputs& in) {
    if ((in.private_addr.size() != 4 && in.private_addr.size() != 16) || in.rand1 == nullptr ||
        in.rand2 == nullptr || in.premaster.empty()) {
        return crypto_error::buffer_too_small;
    }
    const std::size_t size =
        4 + in.private_addr.size() + 2 * hello_random_len + in.premaster.size();
    auto vd = secure_bytes::allocate(size);
    if (!vd) {
        return vd.error();
    }
    std::uint8_t* p = vd->data();
    p[0] = static_cast<std::uint8_t>(in.group_id >> 24);
    p[1] = static_cast<std::uint8_t>(in.group_id >> 16);
    p[2] = static_cast<std::uint8_t>(in.group_id >> 8);
    p[3] = static_cast<std::uint8_t>(in.group_id);
    p += 4;
    std::memcpy(p, in.private_addr.data(), in.private_addr.size());
    p += in.private_addr.size();
    std::memcpy(p, in.rand1->data(), hello_random_len);
    p += hello_random_len;
    std::memcpy(p, in.rand2->data(), hello_random_len);
    p += hello_random_len;
    std::memcpy(p, in.premaster.data(), in.premaster.size());
    return vd;
}

result<std::array<std::uint8_t, verify_data_len>>
keyinfo_ack_verify_data(protocol::hash_type hash, std::span<const std::uint8_t> verify_data_1,
                        std::span<const std::uint8_t> client_key_blob,
                        std::span<const std::uint8_t> group_master) {
    auto spec = hash_for(hash);
    if (!spec) {
        return spec.error();
    }
    detail::md_ptr md(EVP_MD_fetch(nullptr, spec->evp_name, nullptr));
    detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_len = 0;
    if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md.get(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), verify_data_1.data(), verify_data_1.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), client_key_blob.data(), client_key_blob.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), group_master.data(), group_master.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest.data(), &digest_len) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    std::array<std::uint8_t, verify_data_len> out{};
    if (auto e = uftp_prf(hash, group_master, "client finished",
                          std::span(digest.data(), digest_len), out);
        e != crypto_error::ok) {
        return e;
    }
    return out;
}

crypto_error check_keyinfo_ack_verify_data(protocol::hash_type hash,
                                           std::span<const std::uint8_t> verify_data_1,
                                           std::span<const std::uint8_t> client_key_blob,
                                           std::span<const std::uint8_t> group_master,
                                           std::span<const std::uint8_t> received) {
    auto expected = keyinfo_ack_verify_data(hash, verify_data_1, client_key_blob, group_master);
    if (!expected) {
        return expected.error();
    }
    return constant_time_equal(*expected, received) ? crypto_error::ok
                                                    : crypto_error::verify_data_mismatch;
}

} // namespace skycast::crypto
