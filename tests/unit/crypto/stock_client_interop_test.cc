// System test (suite 'system'): crypto/ as a *sender* against the stock
// `uftpd` 4.10.2 receiver, live over loopback. A minimal server built from
// crypto/ and the protocol codec announces (signing the ANNOUNCE in the ECDH
// modes), decrypts the RSA premaster or derives the ECDH one, verifies
// CLIENT_KEY, encrypts the group master into KEYINFO, checks uftpd's
// KEYINFO_ACK verify data, and sends FILEINFO, FILESEGs, DONE and DONE_CONF
// sealed by packet_cipher, opening uftpd's FILEINFO_ACK and COMPLETEs; the
// file must arrive byte for byte in uftpd's directory.
// Skipped when `uftpd` is not installed. Only the uftpd process started here
// is stopped, by PID; every wait is bounded.
#include "crypto/datagram_signature.h"
#include "crypto/encrypted_message.h"
#include "crypto/key_exchange.h"
#include "crypto/key_file.h"
#include "crypto/keyinfo.h"
#include "crypto/random.h"
#include "crypto/signature.h"
#include "protocol/codec.h"
#include "protocol/quantize.h"
#include "tests/unit/crypto/interop_util.h"
#include "tests/unit/crypto/key_fixtures.h"
#include "tests/unit/crypto/test_util.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <iostream>
#include <poll.h>

using namespace skycast;
using namespace skycast::crypto;
using interop::clock_type;

namespace {

using interop::client_uid;
using interop::server_uid;
constexpr std::uint16_t block_size = 1300;

struct case_params {
    protocol::keyexchange_type keyex;
    protocol::key_type cipher;
    protocol::hash_type hash;
    protocol::signature_type sigtype;
    bool client_auth;
    std::string_view server_key_pem; // also uftpd's key: same type and size/curve (§5.9)
};

class sender {
public:
    sender(int sock, std::uint16_t client_port, const private_key& key, const case_params& c)
        : _sock(sock), _key(key), _c(c) {
        _client.sin_family = AF_INET;
        _client.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        _client.sin_port = htons(client_port);
        _group_id = 0x5a000000u | static_cast<std::uint32_t>(::getpid() & 0xffffff);
    }

    // Runs the session; returns "" or what went wrong.
    std::string run(const std::vector<std::uint8_t>& payload) {
        auto s = make_suite(_c.cipher, _c.hash, _c.sigtype);
        if (!s) {
            return "suite";
        }
        _suite = *s;
        if (auto e = announce_and_register(); !e.empty()) {
            return e;
        }
        if (auto e = key_exchange(); !e.empty()) {
            return e;
        }
        if (auto e = send_file(payload); !e.empty()) {
            return e;
        }
        return finish();
    }

    int verified_client_key_signatures = 0;
    int verified_keyinfo_acks = 0;

private:
    // --- Sending -----------------------------------------------------------
    protocol::uftp_header next_header() {
        return {_seq++,
                server_uid,
                _group_id,
                0,
                protocol::quantize_grtt(0.5),
                protocol::quantize_group_size(1)};
    }

    void send_raw(std::span<const std::uint8_t> d) {
        ::sendto(_sock, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&_client),
                 sizeof _client);
    }

    std::string send_sealed(const protocol::message& m) {
        std::vector<std::uint8_t> scratch(9000), out(9400);
        auto n = seal_message(*_cipher, next_header(), m, ++_iv_ctr, scratch, out);
        if (!n) {
            return "sealing: " + std::string(name(n.error()));
        }
        send_raw(std::span(out).first(*n));
        return "";
    }

    static protocol::timestamp now() {
        const auto t = std::chrono::system_clock::now().time_since_epoch();
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t).count();
        return {static_cast<std::uint32_t>(us / 1000000), static_cast<std::uint32_t>(us % 1000000)};
    }

    // --- Receiving ---------------------------------------------------------
    // Waits up to `ms` for a datagram from uftpd; decodes plain messages and
    // opens ENCRYPTED ones. Returns false on timeout; `error` on a failure.
    bool receive(protocol::message& out, std::string& error, int ms) {
        std::vector<std::uint8_t> buf(10000);
        pollfd p{_sock, POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0) {
            return false;
        }
        const ssize_t n = ::recv(_sock, buf.data(), buf.size(), 0);
        if (n <= 0) {
            return false;
        }
        const std::span<const std::uint8_t> d(buf.data(), static_cast<std::size_t>(n));
        protocol::uftp_header h;
        protocol::message_type type{};
        if (protocol::decode_header(d, h, type) != protocol::wire_error::ok) {
            error = "undecodable datagram from uftpd";
            return true;
        }
        if (type == protocol::message_type::encrypted) {
            if (!_cipher) {
                error = "ENCRYPTED before the key exchange";
                return true;
            }
            std::vector<std::uint8_t> plain(d.size());
            auto opened = open_message(*_cipher, d, plain, _client_key ? &*_client_key : nullptr);
            if (!opened) {
                error = "opening uftpd's datagram: " + std::string(name(opened.error()));
                return true;
            }
            out = opened->body;
            return true;
        }
        protocol::datagram dg;
        if (protocol::decode(d, dg) != protocol::wire_error::ok) {
            error = "undecodable " + std::string(protocol::name(type));
            return true;
        }
        out = dg.body;
        return true;
    }

    // Sends with `send` every 300 ms until `done` accepts a received message.
    std::string exchange(const std::string& what, const std::function<std::string()>& send,
                         const std::function<std::string(protocol::message&, bool&)>& handle) {
        const auto deadline = clock_type::now() + std::chrono::seconds(15);
        while (clock_type::now() < deadline) {
            if (auto e = send(); !e.empty()) {
                return e;
            }
            const auto resend = clock_type::now() + std::chrono::milliseconds(300);
            while (clock_type::now() < resend) {
                protocol::message m;
                std::string error;
                if (!receive(m, error, 50)) {
                    continue;
                }
                if (!error.empty()) {
                    return error;
                }
                if (auto* ab = std::get_if<protocol::abort_msg>(&m)) {
                    return "uftpd sent ABORT: " + ab->message;
                }
                bool done = false;
                if (auto e = handle(m, done); !e.empty()) {
                    return e;
                }
                if (done) {
                    return "";
                }
            }
        }
        return "timed out waiting for " + what;
    }

    // --- Phases ------------------------------------------------------------
    std::string announce_and_register() {
        if (make_hello_random(static_cast<std::uint32_t>(now().sec), _rand1) != crypto_error::ok) {
            return "random";
        }
        const bool ecdh = _c.keyex != protocol::keyexchange_type::rsa;
        if (ecdh) {
            auto eph = make_ecdh_key(*curve_by_id(default_curve_id));
            if (!eph) {
                return "ECDH key";
            }
            _ecdh.emplace(std::move(eph).value());
        }
        bool got_register = false;
        bool got_client_key = !_c.client_auth;
        return exchange(
            "REGISTER",
            [&]() -> std::string {
                protocol::announce_msg a;
                a.tstamp = now();
                a.client_ids = {client_uid};
                auto& e = a.enc_info.emplace();
                e.flags = _c.client_auth ? protocol::flags::enc_info_client_auth : 0;
                e.keyextype = _c.keyex;
                e.sigtype = _c.sigtype;
                e.keytype = _c.cipher;
                e.hashtype = _c.hash;
                e.rand1 = _rand1;
                e.key_blob = _key.blob();
                if (ecdh) {
                    e.dh_blob = _ecdh->blob();
                    e.signature.assign(_key.signature_size(), 0);
                }
                std::vector<std::uint8_t> out(2000);
                auto n = protocol::encode(next_header(), a, out);
                if (!n) {
                    return "encoding ANNOUNCE";
                }
                out.resize(*n);
                if (ecdh) {
                    if (auto err = sign_datagram(_key, _c.hash, out,
                                                 skycast::protocol::announce_signature_offset(a),
                                                 e.signature.size());
                        err != crypto_error::ok) {
                        return "signing ANNOUNCE: " + std::string(name(err));
                    }
                }
                send_raw(out);
                return "";
            },
            [&](protocol::message& m, bool& done) -> std::string {
                if (auto* reg = std::get_if<protocol::register_msg>(&m); reg && !got_register) {
                    _rand2 = reg->rand2;
                    if (ecdh) {
                        auto peer = public_key::from_blob(reg->key_info);
                        if (!peer) {
                            return "client ECDH blob: " + std::string(name(peer.error()));
                        }
                        auto pm = ecdh_premaster(*_ecdh, *peer);
                        if (!pm) {
                            return "ECDH premaster: " + std::string(name(pm.error()));
                        }
                        _premaster = std::move(pm).value();
                    } else {
                        auto pm = decrypt_rsa_premaster_or_random(_key, reg->key_info);
                        if (!pm) {
                            return "RSA premaster: " + std::string(name(pm.error()));
                        }
                        _premaster = std::move(pm).value();
                    }
                    const std::uint8_t unicast_addr[4] = {0, 0, 0, 0};
                    auto vd1 = build_verify_data_1(
                        {_group_id, unicast_addr, &_rand1, &_rand2, _premaster.span()});
                    _vd1 = std::move(vd1).value();
                    got_register = true;
                }
                if (auto* ck = std::get_if<protocol::client_key_msg>(&m); ck && !_client_key) {
                    auto pub = public_key::from_blob(ck->key_blob);
                    if (!pub) {
                        return "client key blob: " + std::string(name(pub.error()));
                    }
                    _client_key.emplace(std::move(pub).value());
                    _client_verify = ck->verify;
                    got_client_key = true;
                }
                // CLIENT_KEY may arrive before REGISTER: check once both are in.
                if (got_register && got_client_key) {
                    if (_c.client_auth) {
                        const std::span<const std::uint8_t> parts[] = {_vd1.span()};
                        if (auto v = verify(*_client_key, _c.hash, parts, _client_verify);
                            v != crypto_error::ok) {
                            return "CLIENT_KEY signature: " + std::string(name(v));
                        }
                        ++verified_client_key_signatures;
                    }
                    done = true;
                }
                return "";
            });
    }

    std::string key_exchange() {
        auto master = derive_master_secret(_c.hash, _premaster.span(), _rand1, _rand2);
        auto client_block = derive_client_key_block(_suite, master->span(), _rand1, _rand2);
        auto gm = make_group_master();
        auto group = derive_group_key_block(_suite, gm->span(), _rand1);
        if (!client_block || !gm || !group) {
            return "key schedule";
        }
        _group_master = std::move(gm).value();
        auto pc = packet_cipher::create(
            _suite, *group, _c.sigtype == protocol::signature_type::keyex ? &_key : nullptr);
        if (!pc) {
            return "packet cipher: " + std::string(name(pc.error()));
        }
        _cipher.emplace(std::move(pc).value());
        return exchange(
            "KEYINFO_ACK",
            [&]() -> std::string {
                protocol::keyinfo_msg k;
                k.iv_ctr = ++_iv_ctr; // the server's one counter, shared with ENCRYPTED
                auto entry = encrypt_group_master(_suite, *client_block, server_uid, k.iv_ctr,
                                                  _group_master.span());
                if (!entry) {
                    return "KEYINFO: " + std::string(name(entry.error()));
                }
                k.entries.push_back({client_uid, *entry});
                std::vector<std::uint8_t> out(200);
                auto n = protocol::encode(next_header(), k, out);
                send_raw(std::span(out).first(*n));
                return "";
            },
            [&](protocol::message& m, bool& done) -> std::string {
                auto* ack = std::get_if<protocol::keyinfo_ack_msg>(&m);
                if (ack == nullptr) {
                    return "";
                }
                const std::span<const std::uint8_t> blob =
                    client_blob_in_verify_data()
                        ? std::span<const std::uint8_t>(_client_key->blob())
                        : std::span<const std::uint8_t>();
                if (auto v = check_keyinfo_ack_verify_data(_c.hash, _vd1.span(), blob,
                                                           _group_master.span(), ack->verify_data);
                    v != crypto_error::ok) {
                    return "KEYINFO_ACK: " + std::string(name(v));
                }
                ++verified_keyinfo_acks;
                done = true;
                return "";
            });
    }

    bool client_blob_in_verify_data() const { return _c.client_auth && _client_key.has_value(); }

    std::string send_file(const std::vector<std::uint8_t>& payload) {
        protocol::fileinfo_msg fi;
        fi.file_id = 1;
        fi.size = payload.size();
        fi.ftstamp = now().sec;
        fi.name = "payload.bin";
        fi.client_ids = {client_uid};
        auto e = exchange(
            "FILEINFO_ACK",
            [&] {
                fi.tstamp = now();
                return send_sealed(fi);
            },
            [&](protocol::message& m, bool& done) -> std::string {
                if (auto* ack = std::get_if<protocol::fileinfo_ack_msg>(&m)) {
                    done = ack->file_id == 1;
                }
                return "";
            });
        if (!e.empty()) {
            return e;
        }
        for (std::size_t off = 0, block = 0; off < payload.size(); off += block_size, ++block) {
            protocol::fileseg_msg seg;
            seg.file_id = 1;
            seg.sec_block = static_cast<std::uint16_t>(block);
            seg.data = std::span(payload).subspan(
                off, std::min<std::size_t>(block_size, payload.size() - off));
            if (auto err = send_sealed(seg); !err.empty()) {
                return err;
            }
        }
        return exchange(
            "COMPLETE(1)",
            [&] {
                return send_sealed(protocol::done_msg{1, 0, {client_uid}});
            },
            [&](protocol::message& m, bool& done) -> std::string {
                if (std::holds_alternative<protocol::status_msg>(m)) {
                    return "uftpd NAKed blocks on loopback";
                }
                if (auto* c = std::get_if<protocol::complete_msg>(&m)) {
                    done = c->file_id == 1;
                }
                return "";
            });
    }

    std::string finish() {
        auto e = exchange(
            "COMPLETE(0)",
            [&] {
                return send_sealed(protocol::done_msg{0, 0, {client_uid}});
            },
            [&](protocol::message& m, bool& done) -> std::string {
                if (auto* c = std::get_if<protocol::complete_msg>(&m)) {
                    done = c->file_id == 0;
                }
                return "";
            });
        if (!e.empty()) {
            return e;
        }
        return send_sealed(protocol::done_conf_msg{{client_uid}});
    }

    int _sock;
    const private_key& _key;
    case_params _c;
    sockaddr_in _client{};
    std::uint32_t _group_id = 0;
    std::uint16_t _seq = 0;
    std::uint64_t _iv_ctr = 0;
    suite _suite;
    hello_random _rand1{}, _rand2{};
    std::optional<private_key> _ecdh;
    secure_bytes _premaster;
    secure_bytes _vd1;
    secure_bytes _group_master;
    std::optional<public_key> _client_key;
    protocol::bytes _client_verify;
    std::optional<packet_cipher> _cipher;
};

void run_case(const case_params& c) {
    if (!interop::have_tool("uftpd")) {
        GTEST_SKIP() << "stock uftpd not installed";
    }
    std::mt19937 rng(std::random_device{}());
    const std::string dir = interop::temp_dir();
    const std::string dest = dir + "/dest";
    std::filesystem::create_directory(dest);
    const std::string key_path = dir + "/key.pem";
    std::ofstream(key_path) << c.server_key_pem;
    std::vector<std::uint8_t> payload(5000);
    for (auto& b : payload) {
        b = static_cast<std::uint8_t>(rng());
    }

    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock, 0);
    ASSERT_NE(interop::bind_random_loopback(sock, rng), 0);
    const std::uint16_t client_port = interop::random_port(rng);
    const std::string log = dir + "/uftpd.log";
    interop::process uftpd({"uftpd", "-d", "-p", std::to_string(client_port), "-U", "0x11223344",
                            "-D", dest, "-x", "3", "-k", key_path, "-E"},
                           log);
    ASSERT_TRUE(uftpd.started());
    ::usleep(300000); // let uftpd bind its port

    const auto key = test_util::load_pem(c.server_key_pem);
    sender s(sock, client_port, key, c);
    const std::string err = s.run(payload);
    // uftpd writes the file when it gets DONE_CONF; give it a moment.
    std::vector<std::uint8_t> received;
    for (int i = 0; i < 50; ++i) {
        const auto text = interop::read_file(dest + "/payload.bin");
        received.assign(text.begin(), text.end());
        if (received == payload) {
            break;
        }
        ::usleep(100000);
    }
    uftpd.stop();
    ::close(sock);
    const std::string log_text = interop::read_file(log);
    if (std::getenv("SKYCAST_SHOW_LOG") != nullptr) {
        std::cout << "--- uftpd log:\n" << log_text;
    }
    EXPECT_EQ(err, "") << "\n--- uftpd log:\n" << log_text;
    EXPECT_EQ(received, payload) << "\n--- uftpd log:\n" << log_text;
    EXPECT_EQ(s.verified_keyinfo_acks, 1);
    EXPECT_EQ(s.verified_client_key_signatures, c.client_auth ? 1 : 0);
    std::filesystem::remove_all(dir);
}

using protocol::hash_type;
using protocol::key_type;
using protocol::keyexchange_type;
using protocol::signature_type;

} // namespace

TEST(stock_uftpd_client, rsa512_aes256_gcm_sha256) {
    run_case({keyexchange_type::rsa, key_type::aes256_gcm, hash_type::sha256,
              signature_type::authenc, false, fixtures::rsa_512_pem});
}

TEST(stock_uftpd_client, rsa1024_oaep_aes128_cbc_hmac_sha1_client_auth) {
    run_case({keyexchange_type::rsa, key_type::aes128_cbc, hash_type::sha1, signature_type::hmac,
              true, fixtures::rsa_1024_pem});
}

TEST(stock_uftpd_client, rsa_3des_hmac_sha384) {
    run_case({keyexchange_type::rsa, key_type::des_ede3, hash_type::sha384, signature_type::hmac,
              false, fixtures::rsa_512_pem});
}

TEST(stock_uftpd_client, ecdh_ecdsa_p256_aes128_ccm_sha256_client_auth) {
    run_case({keyexchange_type::ecdh_ecdsa, key_type::aes128_ccm, hash_type::sha256,
              signature_type::authenc, true, fixtures::ec_prime256v1_pem});
}

TEST(stock_uftpd_client, ecdh_rsa_aes256_cbc_keyex_rsa_signatures) {
    run_case({keyexchange_type::ecdh_rsa, key_type::aes256_cbc, hash_type::sha256,
              signature_type::keyex, true, fixtures::rsa_1024_pem});
}

TEST(stock_uftpd_client, ecdh_ecdsa_aes256_gcm_sha512) {
    run_case({keyexchange_type::ecdh_ecdsa, key_type::aes256_gcm, hash_type::sha512,
              signature_type::authenc, false, fixtures::ec_prime256v1_pem});
}

TEST(stock_uftpd_client, ecdh_ecdsa_p256_aes256_cbc_keyex_ecdsa_signatures) {
    run_case({keyexchange_type::ecdh_ecdsa, key_type::aes256_cbc, hash_type::sha256,
              signature_type::keyex, true, fixtures::ec_prime256v1_pem});
}
