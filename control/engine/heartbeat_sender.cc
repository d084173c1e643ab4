#include "control/engine/heartbeat_sender.h"

#include "crypto/signature.h"
#include "protocol/codec.h"

#include <algorithm>
#include <utility>

namespace skycast::control::engine {

heartbeat_sender::heartbeat_sender(std::uint32_t own_id, std::vector<endpoint> proxies,
                                   time_ns interval, std::shared_ptr<const crypto::private_key> key,
                                   network_port& network)
    : _own_id(own_id), _interval(std::max<time_ns>(interval, ns_per_second)), _key(std::move(key)),
      _network(network) {
    for (const auto& p : proxies) {
        _proxies.push_back({.at = p});
    }
}

std::size_t heartbeat_sender::accepted() const {
    return static_cast<std::size_t>(std::count_if(_proxies.begin(), _proxies.end(),
                                                  [](const target& t) { return t.accepted; }));
}

void heartbeat_sender::start(time_ns now) {
    send_all(now);
}

void heartbeat_sender::on_timer(time_ns now) {
    if (now >= _next) {
        send_all(now);
    }
}

void heartbeat_sender::send_all(time_ns now) {
    for (auto& t : _proxies) {
        send(t);
    }
    _next = now + _interval;
}

void heartbeat_sender::on_response(time_ns /*now*/, endpoint from, const protocol::hb_resp_msg& m) {
    auto it = std::find_if(_proxies.begin(), _proxies.end(),
                           [&](const target& t) { return t.at.address == from.address; });
    if (it == _proxies.end()) {
        ++_stats.from_unknown;
        return;
    }
    switch (m.authenticated) {
    case protocol::hb_auth::ok:
        ++_stats.ok;
        it->accepted = true;
        break;
    case protocol::hb_auth::failed:
        ++_stats.failed;
        it->accepted = false;
        break;
    case protocol::hb_auth::challenge:
        ++_stats.challenges;
        it->accepted = false;
        if (!_key || m.nonce == 0) {
            ++_stats.unanswerable;
            break;
        }
        if (it->nonce == m.nonce) {
            // Our signature over this very nonce was not taken (or crossed
            // the answer): the next interval tries again, no storm.
            break;
        }
        it->nonce = m.nonce;
        send(*it);
        break;
    }
}

void heartbeat_sender::send(target& t) {
    protocol::hb_req_msg body;
    if (_key && t.nonce != 0) {
        auto signature = crypto::sign_nonce(*_key, t.nonce);
        if (!signature.ok()) {
            ++_stats.sign_failures;
            return;
        }
        body.nonce = t.nonce;
        body.key_blob = _key->blob();
        body.verify = std::move(signature).value();
        ++_stats.signed_sent;
    }
    const auto n =
        protocol::encode({.seq = _seq++, .src_id = _own_id}, protocol::message(body), _buffer);
    if (n.ok()) {
        _network.send(t.at, std::span(_buffer).first(*n));
        ++_stats.sent;
    }
}

} // namespace skycast::control::engine
