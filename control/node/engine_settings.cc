#include "control/node/engine_settings.h"

#include "crypto/curves.h"
#include "crypto/key_file.h"

#include <memory>

namespace skycast::control::node {
namespace {

std::shared_ptr<const crypto::private_key> load_key(const std::string& path, std::string& error) {
    auto key = crypto::load_private_key_file(path);
    if (!key.ok()) {
        error =
            "cannot load private key " + path + ": " + std::string(crypto::describe(key.error()));
        return nullptr;
    }
    return std::make_shared<const crypto::private_key>(std::move(key).value());
}

engine::host_key host_of(const config::peer_config& p) {
    engine::host_key h{.uid = p.uid, .pinned = p.fingerprint.has_value()};
    if (p.fingerprint) {
        std::copy(p.fingerprint->begin(), p.fingerprint->end(), h.fp.begin());
    }
    return h;
}

} // namespace

engine::sender_config sender_settings(const config::control_config& c, std::uint32_t group_id,
                                      std::string& error) {
    const config::sender_config& s = *c.sender;
    engine::sender_config e;
    e.sender_id = c.uid;
    e.group_id = group_id;
    e.public_group = {.address = c.public_group, .port = c.port};
    e.private_group = {.address = s.private_group, .port = c.port};
    e.block_size = s.block_size;
    e.rate_bps = s.rate_bps;
    e.robust = s.robustness;
    e.grtt_init = s.grtt.initial;
    e.grtt_min = s.grtt.min;
    e.grtt_max = s.grtt.max;
    e.announce_rounds = s.announce_rounds;
    e.early_data_after = s.early_data ? engine::seconds_to_ns(*s.early_data) : engine::no_deadline;
    e.fast_start = s.fast_start;
    for (const auto& client : s.clients) {
        e.host_list.push_back(client.uid);
        if (client.fingerprint) {
            e.client_keys.push_back(host_of(client));
        }
    }
    for (const auto& proxy : s.proxies) {
        e.proxies.push_back(host_of(proxy));
    }
    e.fec = {.group_blocks = s.fec.group_blocks,
             .proactive = s.fec.proactive,
             .expected_loss = s.fec.expected_loss,
             .adaptive = s.fec.adaptive,
             .parity_port = s.fec.parity_port,
             .interleave_bytes = std::uint64_t{s.fec.interleave_mib} << 20,
             .repair_margin = s.fec.repair_margin};
    e.max_passes = s.max_passes;
    e.control_copies = c.control_copies;
    e.copy_spacing = engine::seconds_to_ns(c.copy_spacing);
    e.max_nak_pct = s.max_nak_pct;
    e.max_nak_count = s.max_nak_count;
    const auto& enc = s.encryption;
    if (enc.enabled()) {
        e.encryption.keyex = static_cast<protocol::keyexchange_type>(enc.keyex);
        e.encryption.cipher = static_cast<protocol::key_type>(enc.cipher);
        e.encryption.hash = static_cast<protocol::hash_type>(enc.hash);
        e.encryption.sigtype = static_cast<protocol::signature_type>(enc.signature);
        e.encryption.client_auth = enc.client_auth;
        e.encryption.key = load_key(enc.private_key, error);
        if (!enc.ecdh_curve.empty()) {
            e.encryption.ecdh_curve = crypto::curve_by_name(enc.ecdh_curve);
        }
    }
    return e;
}

engine::receiver_config receiver_settings(const config::control_config& c, std::string& error) {
    const config::receiver_config& r = *c.receiver;
    engine::receiver_config e;
    e.client_id = c.uid;
    e.public_group = {.address = c.public_group, .port = c.port};
    e.destination = r.destination;
    e.temp_dir = r.temp_dir;
    e.max_grtt = r.max_grtt;
    e.control_copies = c.control_copies;
    e.copy_spacing = engine::seconds_to_ns(c.copy_spacing);
    e.max_robust = r.max_robust;
    e.register_timeout = engine::seconds_to_ns(r.register_timeout);
    for (const auto& path : r.private_keys) {
        if (auto key = load_key(path, error)) {
            e.encryption.keys.push_back(std::move(key));
        }
    }
    e.encryption.require = r.require_encryption;
    if (r.response_proxy) {
        e.response_proxy =
            engine::endpoint{.address = r.response_proxy->address,
                             .port = r.response_proxy->port != 0 ? r.response_proxy->port : c.port};
    }
    for (const auto& server : r.servers) {
        e.encryption.servers.push_back(host_of(server));
    }
    return e;
}

heartbeat_settings heartbeat_settings_of(const config::control_config& c, std::string& error) {
    heartbeat_settings h;
    if (!c.heartbeats) {
        return h;
    }
    for (const auto address : c.heartbeats->to) {
        h.to.push_back({.address = address, .port = c.port});
    }
    h.interval = engine::seconds_to_ns(c.heartbeats->interval);
    if (!c.heartbeats->private_key.empty()) {
        h.key = load_key(c.heartbeats->private_key, error);
    }
    return h;
}

engine::response_proxy_config response_proxy_settings(const config::control_config& c,
                                                      std::string& error) {
    engine::response_proxy_config e{.proxy_id = c.uid,
                                    .control_copies = c.control_copies,
                                    .copy_spacing = engine::seconds_to_ns(c.copy_spacing),
                                    .port = c.port};
    if (!c.proxy_keys) {
        return e;
    }
    e.key = load_key(c.proxy_keys->private_key, error);
    const auto* curve = crypto::curve_by_name(c.proxy_keys->ecdh_curve);
    if (curve == nullptr) {
        error = "unknown ECDH curve " + c.proxy_keys->ecdh_curve;
        return e;
    }
    // Long-lived, as stock's -e key: clients learn it once, from PROXY_KEY.
    auto dh = crypto::generate_ec_key(*curve);
    if (!dh) {
        error = "cannot make the proxy's ECDH key: " + std::string(crypto::describe(dh.error()));
        return e;
    }
    e.ecdh_key = std::make_shared<const crypto::private_key>(std::move(dh).value());
    return e;
}

} // namespace skycast::control::node
