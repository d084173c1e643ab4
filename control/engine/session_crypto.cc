#include "control/engine/session_crypto.h"

#include <algorithm>

namespace skycast::control::engine {

protocol::signature_type default_sigtype(protocol::key_type cipher) {
    switch (cipher) {
    case protocol::key_type::aes128_gcm:
    case protocol::key_type::aes256_gcm:
    case protocol::key_type::aes128_ccm:
    case protocol::key_type::aes256_ccm:
        return protocol::signature_type::authenc;
    default:
        return protocol::signature_type::hmac;
    }
}

crypto::result<crypto::suite> sender_suite(const sender_encryption& e) {
    const auto sigtype =
        e.sigtype == protocol::signature_type::none ? default_sigtype(e.cipher) : e.sigtype;
    auto s = crypto::make_suite(e.cipher, e.hash, sigtype);
    if (!s) {
        return s.error();
    }
    if (!e.key) {
        return crypto::crypto_error::signer_key_missing;
    }
    const auto want = e.keyex == protocol::keyexchange_type::ecdh_ecdsa ? crypto::key_kind::ec
                                                                        : crypto::key_kind::rsa;
    switch (e.keyex) {
    case protocol::keyexchange_type::rsa:
    case protocol::keyexchange_type::ecdh_rsa:
    case protocol::keyexchange_type::ecdh_ecdsa:
        break;
    default:
        return crypto::crypto_error::unsupported_key_exchange;
    }
    if (e.key->kind() != want) {
        return crypto::crypto_error::key_mismatch;
    }
    return s;
}

const crypto::private_key*
client_key_for(const std::vector<std::shared_ptr<const crypto::private_key>>& keys,
               protocol::keyexchange_type keyex) {
    const auto want = keyex == protocol::keyexchange_type::ecdh_ecdsa ? crypto::key_kind::ec
                                                                      : crypto::key_kind::rsa;
    for (const auto& k : keys) {
        if (k && k->kind() == want) {
            return k.get();
        }
    }
    return nullptr;
}

bool parse_cipher_name(std::string_view text, protocol::key_type& cipher,
                       protocol::signature_type& sigtype) {
    sigtype = protocol::signature_type::none;
    if (const auto plus = text.find('+'); plus != std::string_view::npos) {
        const auto sig = text.substr(plus + 1);
        if (sig == "hmac") {
            sigtype = protocol::signature_type::hmac;
        } else if (sig == "keyex") {
            sigtype = protocol::signature_type::keyex;
        } else {
            return false;
        }
        text = text.substr(0, plus);
    }
    struct named {
        std::string_view name;
        protocol::key_type type;
    };
    static constexpr named table[] = {
        {"3des", protocol::key_type::des_ede3},
        {"aes128-cbc", protocol::key_type::aes128_cbc},
        {"aes256-cbc", protocol::key_type::aes256_cbc},
        {"aes128-gcm", protocol::key_type::aes128_gcm},
        {"aes256-gcm", protocol::key_type::aes256_gcm},
        {"aes128-ccm", protocol::key_type::aes128_ccm},
        {"aes256-ccm", protocol::key_type::aes256_ccm},
    };
    for (const auto& n : table) {
        if (n.name == text) {
            cipher = n.type;
            // "+hmac"/"+keyex" only mean something for CBC ciphers.
            return sigtype == protocol::signature_type::none ||
                   default_sigtype(cipher) == protocol::signature_type::hmac;
        }
    }
    return false;
}

bool parse_keyex_name(std::string_view text, protocol::keyexchange_type& keyex) {
    if (text == "rsa") {
        keyex = protocol::keyexchange_type::rsa;
    } else if (text == "ecdh_rsa") {
        keyex = protocol::keyexchange_type::ecdh_rsa;
    } else if (text == "ecdh_ecdsa") {
        keyex = protocol::keyexchange_type::ecdh_ecdsa;
    } else {
        return false;
    }
    return true;
}

bool parse_hash_name(std::string_view text, protocol::hash_type& hash) {
    if (text == "sha1") {
        hash = protocol::hash_type::sha1;
    } else if (text == "sha256") {
        hash = protocol::hash_type::sha256;
    } else if (text == "sha384") {
        hash = protocol::hash_type::sha384;
    } else if (text == "sha512") {
        hash = protocol::hash_type::sha512;
    } else {
        return false;
    }
    return true;
}

void client_key_store::init(std::size_t key_block_bytes, std::size_t vd1_bytes) {
    _key_block_bytes = key_block_bytes;
    _vd1_bytes = vd1_bytes;
    _stride = key_block_bytes + crypto::verify_data_len + vd1_bytes;
    _slabs.clear();
}

std::span<std::uint8_t> client_key_store::slot(std::uint32_t handle) {
    const std::size_t slab = handle / clients_per_slab;
    if (_stride == 0) {
        return {};
    }
    while (_slabs.size() <= slab) {
        auto bytes = crypto::secure_bytes::allocate(_stride * clients_per_slab);
        if (!bytes) {
            return {};
        }
        _slabs.push_back(std::move(bytes).value());
    }
    return _slabs[slab].span().subspan((handle % clients_per_slab) * _stride, _stride);
}

} // namespace skycast::control::engine
