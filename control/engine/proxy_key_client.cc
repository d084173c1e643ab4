#include "control/engine/proxy_key_client.h"

#include "crypto/secure_memory.h"
#include "crypto/signature.h"
#include "protocol/codec.h"

#include <utility>

namespace skycast::control::engine {

proxy_key_client::proxy_key_client(std::uint32_t own_id, endpoint proxy,
                                   std::optional<crypto::fingerprint> fingerprint,
                                   network_port& network)
    : _own_id(own_id), _proxy(proxy), _fingerprint(fingerprint), _network(network) {}

void proxy_key_client::start(time_ns now) {
    request(now);
}

void proxy_key_client::request(time_ns now) {
    // Only version, function and source are set: KEY_REQ names no session.
    const auto n =
        protocol::encode({.seq = _seq++, .src_id = _own_id}, protocol::key_req_msg{}, _buffer);
    if (n.ok()) {
        _network.send(_proxy, std::span(_buffer).first(*n));
        ++_stats.key_requests_sent;
    }
    _next_request = now + request_interval;
}

void proxy_key_client::on_timer(time_ns now) {
    if (!_keys && now >= _next_request) {
        request(now);
    }
}

void proxy_key_client::on_proxy_key(time_ns /*now*/, endpoint from,
                                    const protocol::proxy_key_msg& m) {
    ++_stats.proxy_keys_in;
    if (from.address != _proxy.address) {
        ++_stats.wrong_source; // every proxy on the public group answers its own clients
        return;
    }
    auto key = crypto::public_key::from_blob(m.key_blob);
    if (!key) {
        ++_stats.malformed_key;
        return;
    }
    if (_fingerprint && !crypto::constant_time_equal(*_fingerprint, key->key_fingerprint())) {
        ++_stats.fingerprint_bad;
        return;
    }
    if (crypto::verify_nonce(*key, m.nonce, m.verify) != crypto::crypto_error::ok) {
        ++_stats.signature_bad;
        return;
    }
    std::optional<crypto::public_key> dh;
    if (!m.dh_blob.empty()) {
        auto d = crypto::public_key::from_blob(m.dh_blob);
        if (!d || d->kind() != crypto::key_kind::ec) {
            ++_stats.malformed_key;
            return;
        }
        dh.emplace(std::move(d).value());
    }
    if (_keys && _keys->key.blob() == key->blob() &&
        (_keys->dh ? _keys->dh->blob() : protocol::bytes{}) == m.dh_blob) {
        return; // the same keys again (it answers every KEY_REQ on the group)
    }
    _keys.emplace(proxy_keys{.key = std::move(key).value(), .dh = std::move(dh)});
    ++_stats.accepted;
}

} // namespace skycast::control::engine
