#include "control/engine/key_exchange.h"

#include "crypto/key_exchange.h"
#include "crypto/random.h"

#include <algorithm>

namespace skycast::control::engine {

std::string begin_client_handshake(const client_handshake_inputs& in, client_handshake& out) {
    const crypto::suite& s = *in.suite;
    crypto::result<crypto::secure_bytes> premaster = crypto::crypto_error::internal_error;
    if (protocol::is_ecdh(in.keyex)) {
        auto own = crypto::make_ecdh_key(*in.peer);
        if (!own) {
            return "Unsupported ECDH curve";
        }
        premaster = crypto::ecdh_premaster(*own, *in.peer);
        out.key_info = own->blob();
    } else if (in.keyex == protocol::keyexchange_type::rsa) {
        premaster = crypto::make_rsa_premaster();
        if (premaster) {
            auto info = crypto::encrypt_rsa_premaster(*in.peer, premaster->span());
            if (!info) {
                return "Cannot encrypt the premaster to the server key";
            }
            out.key_info = std::move(info).value();
        }
    } else {
        return "Unsupported key exchange";
    }
    if (!premaster) {
        return "Key exchange failed: " + std::string(crypto::describe(premaster.error()));
    }
    if (in.rand1.size() != out.rand1.size()) {
        return "Invalid server random";
    }
    std::copy(in.rand1.begin(), in.rand1.end(), out.rand1.begin());
    if (crypto::make_hello_random(in.unix_time, out.rand2) != crypto::crypto_error::ok) {
        return "No randomness";
    }
    auto master =
        crypto::derive_master_secret(s.hash.type, premaster->span(), out.rand1, out.rand2);
    if (!master) {
        return "Key derivation failed";
    }
    auto block = crypto::derive_client_key_block(s, master->span(), out.rand1, out.rand2);
    auto vd1 = crypto::build_verify_data_1({.group_id = in.group_id,
                                            .private_addr = in.private_addr,
                                            .rand1 = &out.rand1,
                                            .rand2 = &out.rand2,
                                            .premaster = premaster->span()});
    if (!block || !vd1) {
        return "Key derivation failed";
    }
    out.client_block = std::move(block).value();
    out.vd1 = std::move(vd1).value();
    return {};
}

crypto::result<client_keyed> open_keyinfo_entry(const crypto::suite& s, const client_handshake& h,
                                                std::uint32_t server_uid, std::uint64_t iv_ctr,
                                                const crypto::keyinfo_ciphertext& entry,
                                                std::span<const std::uint8_t> own_blob) {
    auto gm = crypto::decrypt_group_master(s, h.client_block, server_uid, iv_ctr, entry);
    if (!gm) {
        return gm.error();
    }
    auto group = crypto::derive_group_key_block(s, gm->span(), h.rand1);
    if (!group) {
        return group.error();
    }
    auto ack = crypto::keyinfo_ack_verify_data(s.hash.type, h.vd1.span(), own_blob, gm->span());
    if (!ack) {
        return ack.error();
    }
    return client_keyed{.group_master = std::move(gm).value(),
                        .group_block = std::move(group).value(),
                        .ack_verify = *ack};
}

crypto::result<client_secrets> accept_client_handshake(const server_handshake_inputs& in) {
    const crypto::suite& s = *in.suite;
    crypto::result<crypto::secure_bytes> premaster = crypto::crypto_error::internal_error;
    if (in.ecdh_key != nullptr) {
        auto peer = crypto::public_key::from_blob(in.key_info);
        if (!peer) {
            return peer.error();
        }
        premaster = crypto::ecdh_premaster(*in.ecdh_key, *peer);
    } else if (in.rsa_key != nullptr) {
        premaster = crypto::decrypt_rsa_premaster_or_random(*in.rsa_key, in.key_info);
    }
    if (!premaster) {
        return premaster.error();
    }
    crypto::hello_random rand2{};
    if (in.rand2.size() != rand2.size()) {
        return crypto::crypto_error::internal_error;
    }
    std::copy(in.rand2.begin(), in.rand2.end(), rand2.begin());
    auto master = crypto::derive_master_secret(s.hash.type, premaster->span(), *in.rand1, rand2);
    if (!master) {
        return master.error();
    }
    auto block = crypto::derive_client_key_block(s, master->span(), *in.rand1, rand2);
    if (!block) {
        return block.error();
    }
    auto vd1 = crypto::build_verify_data_1({.group_id = in.group_id,
                                            .private_addr = in.private_addr,
                                            .rand1 = in.rand1,
                                            .rand2 = &rand2,
                                            .premaster = premaster->span()});
    if (!vd1) {
        return vd1.error();
    }
    return client_secrets{.block = std::move(block).value(), .vd1 = std::move(vd1).value()};
}

crypto::result<protocol::keyinfo_entry>
keyinfo_entry_for(const crypto::suite& s, std::uint32_t client_uid,
                  std::span<const std::uint8_t> client_block_bytes, std::uint32_t server_uid,
                  std::uint64_t iv_ctr, std::span<const std::uint8_t> group_master) {
    auto block = crypto::key_block::from_bytes(s, client_block_bytes);
    if (!block) {
        return block.error();
    }
    auto entry = crypto::encrypt_group_master(s, *block, server_uid, iv_ctr, group_master);
    if (!entry) {
        return entry.error();
    }
    return protocol::keyinfo_entry{.dest_id = client_uid, .group_master = *entry};
}

} // namespace skycast::control::engine
