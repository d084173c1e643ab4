// The OpenSSL backend: one crypto::packet_cipher per session, called job by
// job. Bursts buy nothing here (each EVP call is synchronous); the interface
// is the burst one so the lcore code does not care which backend it has.
#include "dataplane/seal/backends.h"

#include <optional>
#include <vector>

namespace skycast::dataplane::seal {
namespace {

using crypto::crypto_error;

bool is_auth_failure(crypto_error e) {
    return e == crypto_error::tag_mismatch || e == crypto_error::hmac_mismatch ||
           e == crypto_error::signature_invalid;
}

class openssl_engine final : public seal_engine {
public:
    openssl_engine(std::uint16_t max_sessions, seal_error fallback_reason)
        : _sessions(max_sessions) {
        _fallback_reason = fallback_reason;
    }

    backend_kind backend() const override { return backend_kind::openssl; }

    seal_result<session_id> add_session(const crypto::suite& s, const crypto::key_block& keys,
                                        const crypto::private_key* signer) override {
        for (std::size_t i = 0; i < _sessions.size(); ++i) {
            if (_sessions[i]) {
                continue;
            }
            auto pc = crypto::packet_cipher::create(s, keys, signer);
            if (!pc) {
                return seal_error::key_setup_failed;
            }
            _sessions[i].emplace(std::move(pc).value());
            return static_cast<session_id>(i);
        }
        return seal_error::session_table_full;
    }

    void remove_session(session_id id) override {
        if (id < _sessions.size()) {
            _sessions[id].reset();
        }
    }

    std::size_t payload_offset(session_id id) const override {
        return id < _sessions.size() && _sessions[id] ? _sessions[id]->payload_offset() : 0;
    }
    std::size_t sealed_size(session_id id, std::size_t n) const override {
        return id < _sessions.size() && _sessions[id] ? _sessions[id]->sealed_size(n) : 0;
    }

    std::size_t seal_burst(std::span<seal_job> jobs) override {
        std::size_t ok = 0;
        for (auto& j : jobs) {
            j.size = 0;
            auto* pc = find(j.session);
            if (pc == nullptr) {
                refuse_seal(j, crypto_error::key_mismatch);
                ++_counters.unknown_session;
                continue;
            }
            auto r = pc->seal(j.header, j.plaintext, j.iv_ctr, j.out);
            if (!r) {
                refuse_seal(j, r.error());
                continue;
            }
            j.status = crypto_error::ok;
            j.size = *r;
            ++_counters.sealed;
            ++ok;
        }
        return ok;
    }

    std::size_t open_burst(std::span<open_job> jobs) override {
        std::size_t ok = 0;
        for (auto& j : jobs) {
            j.opened = {};
            auto* pc = find(j.session);
            if (pc == nullptr) {
                j.status = crypto_error::key_mismatch;
                ++_counters.unknown_session;
                ++_counters.open_refused;
                continue;
            }
            auto r = pc->open(j.datagram, j.plaintext_out, j.sender);
            if (!r) {
                j.status = r.error();
                _counters.auth_failures += is_auth_failure(r.error()) ? 1 : 0;
                ++_counters.open_refused;
                continue;
            }
            j.status = crypto_error::ok;
            j.opened = *r;
            ++_counters.opened;
            ++ok;
        }
        return ok;
    }

private:
    crypto::packet_cipher* find(session_id id) {
        return id < _sessions.size() && _sessions[id] ? &*_sessions[id] : nullptr;
    }
    void refuse_seal(seal_job& j, crypto_error e) {
        j.status = e;
        ++_counters.seal_refused;
        _counters.iv_refused += e == crypto_error::iv_counter_not_increasing ? 1 : 0;
    }

    // Sized once at set-up; a slot is empty when its session was removed.
    std::vector<std::optional<crypto::packet_cipher>> _sessions;
};

} // namespace

seal_result<std::unique_ptr<seal_engine>> create_openssl_engine(const seal_options& options,
                                                                seal_error fallback_reason) {
    if (options.max_sessions == 0) {
        return seal_error::options_invalid;
    }
    return std::unique_ptr<seal_engine>(new openssl_engine(options.max_sessions, fallback_reason));
}

} // namespace skycast::dataplane::seal
