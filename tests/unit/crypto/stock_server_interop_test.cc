// System test (suite 'system'): crypto/ against the stock `uftp` 4.10.2
// server, live over loopback. A minimal receiver built from crypto/ and the
// protocol codec registers, does the key exchange, decrypts KEYINFO, answers
// KEYINFO_ACK (sealed by us, verified by uftp), then opens FILEINFO, FILESEG,
// DONE and DONE_CONF (sealed by uftp) and seals FILEINFO_ACK and COMPLETE,
// until the file has arrived byte for byte and uftp reports the group complete.
// One case per key exchange, cipher family and signature type:
//   RSA-512 (PKCS#1 v1.5) / RSA-1024 (OAEP), ECDH_RSA, ECDH_ECDSA (P-256, P-384);
//   AES-GCM, AES-CCM, AES-CBC + HMAC, 3DES + HMAC, KEYEX with RSA and UFTP-ECDSA;
//   client authentication (CLIENT_KEY signature, VD2 with the blob); ANNOUNCE
//   signatures verified in the ECDH modes.
// Skipped (GTEST_SKIP) when `uftp` is not installed. Only the uftp process
// started here is stopped, by PID; every wait is bounded.
#include "crypto/datagram_signature.h"
#include "crypto/encrypted_message.h"
#include "crypto/key_exchange.h"
#include "crypto/key_file.h"
#include "crypto/keyinfo.h"
#include "crypto/random.h"
#include "crypto/signature.h"
#include "protocol/codec.h"
#include "tests/unit/crypto/interop_util.h"
#include "tests/unit/crypto/key_fixtures.h"
#include "tests/unit/crypto/test_util.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace skycast;
using namespace skycast::crypto;
using interop::clock_type;

namespace {

using interop::client_uid;
using interop::server_uid;

struct case_params {
    std::string name;
    std::vector<std::string> uftp_options; // -Y, -h, -e, -w, -c, -k ...
    std::string_view client_key_pem;       // our long-term key (CLIENT_KEY, KEYEX)
    std::string_view server_key_pem;       // "" = uftp generates its own
};

class receiver {
public:
    receiver(int sock, const private_key& own) : _sock(sock), _own(own) {}

    // Runs until DONE_CONF for us; returns "" or what went wrong.
    std::string run(std::vector<std::uint8_t>& file_out, std::chrono::seconds limit) {
        const auto deadline = clock_type::now() + limit;
        std::vector<std::uint8_t> buf(10000);
        while (clock_type::now() < deadline) {
            pollfd p{_sock, POLLIN, 0};
            if (::poll(&p, 1, 200) <= 0) {
                continue;
            }
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            const ssize_t n = ::recvfrom(_sock, buf.data(), buf.size(), 0,
                                         reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n <= 0) {
                continue;
            }
            _server = from;
            const std::span<const std::uint8_t> d(buf.data(), static_cast<std::size_t>(n));
            if (auto err = handle(d, file_out); !err.empty()) {
                return err;
            }
            if (_finished) {
                return "";
            }
        }
        return "timed out (state: " + _state + ")";
    }

    int verified_announce_signatures = 0;
    int opened_count = 0; // ENCRYPTED datagrams from uftp that opened

private:
    std::string handle(std::span<const std::uint8_t> d, std::vector<std::uint8_t>& file_out) {
        protocol::uftp_header h;
        protocol::message_type type{};
        if (protocol::decode_header(d, h, type) != protocol::wire_error::ok) {
            return "undecodable datagram from uftp";
        }
        if (type == protocol::message_type::encrypted) {
            return handle_encrypted(d, file_out);
        }
        protocol::datagram dg;
        if (protocol::decode(d, dg) != protocol::wire_error::ok) {
            return "undecodable " + std::string(protocol::name(type));
        }
        if (auto* a = std::get_if<protocol::announce_msg>(&dg.body)) {
            return handle_announce(dg.header, *a, d);
        }
        if (auto* k = std::get_if<protocol::keyinfo_msg>(&dg.body)) {
            return handle_keyinfo(dg.header, *k);
        }
        if (auto* ab = std::get_if<protocol::abort_msg>(&dg.body)) {
            return "uftp sent ABORT: " + ab->message;
        }
        return "";
    }

    std::string handle_announce(const protocol::uftp_header& h, const protocol::announce_msg& a,
                                std::span<const std::uint8_t> raw) {
        if (_registered) {
            return ""; // a repeat
        }
        if (!a.enc_info) {
            return "ANNOUNCE without encryption";
        }
        const auto& e = *a.enc_info;
        _enc = e;
        _group_id = h.group_id;
        _group_inst = h.group_inst;
        if (h.src_id != server_uid) {
            return "ANNOUNCE from an unexpected UID";
        }
        _client_auth = (e.flags & protocol::flags::enc_info_client_auth) != 0;
        auto s = make_suite(e.keytype, e.hashtype, e.sigtype);
        if (!s) {
            return "suite: " + std::string(name(s.error()));
        }
        _suite = *s;
        auto server_key = public_key::from_blob(e.key_blob);
        if (!server_key) {
            return "server key blob: " + std::string(name(server_key.error()));
        }
        _server_key.emplace(std::move(server_key).value());
        const std::size_t addr_len = a.ipv6() ? 16 : 4;
        _private_addr.assign(a.private_addr.bytes.begin(),
                             a.private_addr.bytes.begin() + static_cast<std::ptrdiff_t>(addr_len));

        protocol::register_msg reg;
        reg.tstamp = a.tstamp;
        if (make_hello_random(0x5eed0001, reg.rand2) != crypto_error::ok) {
            return "random";
        }
        _rand1 = e.rand1;
        _rand2 = reg.rand2;
        if (e.keyextype == protocol::keyexchange_type::rsa) {
            auto pm = make_rsa_premaster();
            auto ct = encrypt_rsa_premaster(*_server_key, pm->span());
            if (!ct) {
                return "RSA premaster: " + std::string(name(ct.error()));
            }
            reg.key_info = *ct;
            _premaster = std::move(pm).value();
        } else {
            // ECDH modes: the ANNOUNCE is signed by the server key over the whole
            // datagram with the signature field zeroed (§5.6).
            if (auto v = verify_datagram(*_server_key, e.hashtype, raw,
                                         skycast::protocol::announce_signature_offset(a),
                                         e.signature.size());
                v != crypto_error::ok) {
                return "ANNOUNCE signature: " + std::string(name(v));
            }
            ++verified_announce_signatures;
            auto dh = public_key::from_blob(e.dh_blob);
            if (!dh) {
                return "server ECDH blob: " + std::string(name(dh.error()));
            }
            auto eph = make_ecdh_key(*dh);
            if (!eph) {
                return "ECDH key: " + std::string(name(eph.error()));
            }
            auto pm = ecdh_premaster(*eph, *dh);
            if (!pm) {
                return "ECDH premaster: " + std::string(name(pm.error()));
            }
            reg.key_info = eph->blob();
            _premaster = std::move(pm).value();
        }
        auto master = derive_master_secret(_suite.hash.type, _premaster.span(), _rand1, _rand2);
        auto client_block = derive_client_key_block(_suite, master->span(), _rand1, _rand2);
        if (!client_block) {
            return "client key block";
        }
        _client_block = std::move(client_block).value();
        auto vd1 =
            build_verify_data_1({_group_id, _private_addr, &_rand1, &_rand2, _premaster.span()});
        _vd1 = std::move(vd1).value();

        send_plain(reg);
        if (_client_auth) {
            protocol::client_key_msg ck;
            ck.key_blob = _own.blob();
            ck.verify.resize(_own.signature_size());
            const std::span<const std::uint8_t> parts[] = {_vd1.span()};
            if (!sign(_own, _suite.hash.type, parts, ck.verify).ok()) {
                return "CLIENT_KEY signature";
            }
            send_plain(ck);
        }
        _registered = true;
        _state = "registered";
        return "";
    }

    std::string handle_keyinfo(const protocol::uftp_header& h, const protocol::keyinfo_msg& k) {
        for (const auto& entry : k.entries) {
            if (entry.dest_id != client_uid) {
                continue;
            }
            if (!_cipher) {
                auto gm = decrypt_group_master(_suite, _client_block, h.src_id, k.iv_ctr,
                                               entry.group_master);
                if (!gm) {
                    return "KEYINFO: " + std::string(name(gm.error()));
                }
                _group_master = std::move(gm).value();
                auto group = derive_group_key_block(_suite, _group_master.span(), _rand1);
                auto pc = packet_cipher::create(
                    _suite, *group,
                    _suite.sigtype == protocol::signature_type::keyex ? &_own : nullptr);
                if (!pc) {
                    return "packet cipher: " + std::string(name(pc.error()));
                }
                _cipher.emplace(std::move(pc).value());
            }
            const std::span<const std::uint8_t> blob =
                _client_auth ? std::span<const std::uint8_t>(_own.blob())
                             : std::span<const std::uint8_t>();
            auto vd =
                keyinfo_ack_verify_data(_suite.hash.type, _vd1.span(), blob, _group_master.span());
            protocol::keyinfo_ack_msg ack;
            ack.verify_data = *vd;
            _state = "keyinfo acked";
            return send_sealed(ack);
        }
        return "";
    }

    std::string handle_encrypted(std::span<const std::uint8_t> d,
                                 std::vector<std::uint8_t>& file_out) {
        if (!_cipher) {
            return "";
        }
        std::vector<std::uint8_t> plain(d.size());
        auto opened = open_message(*_cipher, d, plain,
                                   _suite.sigtype == protocol::signature_type::keyex ? &*_server_key
                                                                                     : nullptr);
        if (!opened) {
            return "opening " + std::string(protocol::name(protocol::message_type::encrypted)) +
                   ": " + std::string(name(opened.error()));
        }
        ++opened_count;
        auto& body = opened->body;
        auto for_us = [](const protocol::client_id_list& ids) {
            return std::find(ids.begin(), ids.end(), client_uid) != ids.end();
        };
        if (auto* fi = std::get_if<protocol::fileinfo_msg>(&body)) {
            if (!for_us(fi->client_ids)) {
                return "";
            }
            _file_id = fi->file_id;
            file_out.assign(fi->size, 0);
            _have.assign((fi->size + _block_size - 1) / _block_size, false);
            _state = "fileinfo";
            protocol::fileinfo_ack_msg ack;
            ack.file_id = fi->file_id;
            ack.tstamp = fi->tstamp;
            return send_sealed(ack);
        }
        if (auto* fs = std::get_if<protocol::fileseg_msg>(&body)) {
            const std::size_t block = fs->sec_block; // one section in this test
            if (fs->file_id == _file_id && block < _have.size()) {
                std::copy(fs->data.begin(), fs->data.end(),
                          file_out.begin() + static_cast<std::ptrdiff_t>(block * _block_size));
                _have[block] = true;
            }
            _state = "receiving";
            return "";
        }
        if (auto* done = std::get_if<protocol::done_msg>(&body)) {
            if (!for_us(done->client_ids)) {
                return "";
            }
            if (done->file_id != 0 && std::find(_have.begin(), _have.end(), false) != _have.end()) {
                return "blocks missing at DONE (loopback should not lose any)";
            }
            protocol::complete_msg c;
            c.file_id = done->file_id;
            _state = "complete " + std::to_string(done->file_id);
            return send_sealed(c);
        }
        if (auto* conf = std::get_if<protocol::done_conf_msg>(&body)) {
            if (for_us(conf->client_ids)) {
                _finished = true;
            }
        }
        return "";
    }

    protocol::uftp_header next_header() {
        return {_seq++, client_uid, _group_id, _group_inst, 0, 0};
    }

    void send_raw(std::span<const std::uint8_t> d) {
        ::sendto(_sock, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&_server),
                 sizeof _server);
    }

    void send_plain(const protocol::message& m) {
        std::vector<std::uint8_t> out(9000);
        auto n = protocol::encode(next_header(), m, out);
        if (n.ok()) {
            send_raw(std::span(out).first(*n));
        }
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

    int _sock;
    const private_key& _own;
    sockaddr_in _server{};
    std::uint16_t _seq = 0;
    std::uint64_t _iv_ctr = 0;
    bool _registered = false;
    bool _client_auth = false;
    bool _finished = false;
    std::string _state = "waiting for ANNOUNCE";
    protocol::enc_info_ext _enc;
    std::uint32_t _group_id = 0;
    std::uint8_t _group_inst = 0;
    suite _suite;
    std::optional<public_key> _server_key;
    std::vector<std::uint8_t> _private_addr;
    hello_random _rand1{}, _rand2{};
    secure_bytes _premaster;
    secure_bytes _vd1;
    key_block _client_block;
    secure_bytes _group_master;
    std::optional<packet_cipher> _cipher;
    std::uint16_t _file_id = 0;
    std::size_t _block_size = 1300;
    std::vector<bool> _have;
};

void run_case(const case_params& c) {
    if (!interop::have_tool("uftp")) {
        GTEST_SKIP() << "stock uftp not installed";
    }
    const std::string dir = interop::temp_dir();
    const std::string file = dir + "/payload.bin";
    std::vector<std::uint8_t> payload(5000);
    std::mt19937 rng(std::random_device{}());
    for (auto& b : payload) {
        b = static_cast<std::uint8_t>(rng());
    }
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(payload.data()),
               static_cast<std::streamsize>(payload.size()));

    // Our socket on a random high port of 127.0.0.1: uftp sends there (-M, -p).
    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock, 0);
    const std::uint16_t port = interop::bind_random_loopback(sock, rng);
    ASSERT_NE(port, 0);

    const auto own = test_util::load_pem(c.client_key_pem);
    std::vector<std::string> args{"uftp",  "-M",         "127.0.0.1", "-p", std::to_string(port),
                                  "-U",    "0x01020304", "-x",        "2",  "-R",
                                  "100000"};
    if (!c.server_key_pem.empty()) {
        const std::string key_path = dir + "/server.pem";
        std::ofstream(key_path) << c.server_key_pem;
        args.insert(args.end(), {"-k", key_path});
    }
    args.insert(args.end(), c.uftp_options.begin(), c.uftp_options.end());
    args.push_back(file);
    const std::string log = dir + "/uftp.log";
    interop::process server(args, log);
    ASSERT_TRUE(server.started());

    receiver r(sock, own);
    std::vector<std::uint8_t> received;
    const std::string err = r.run(received, std::chrono::seconds(60));
    const auto status = server.wait_exit(std::chrono::seconds(30));
    ::close(sock);
    const std::string log_text = interop::read_file(log);
    EXPECT_EQ(err, "") << c.name << "\n--- uftp log:\n" << log_text;
    EXPECT_EQ(received, payload) << c.name;
    EXPECT_EQ(status, std::optional<int>(0)) << c.name << "\n--- uftp log:\n" << log_text;
    EXPECT_NE(log_text.find("Group complete"), std::string::npos) << log_text;
    EXPECT_GT(r.opened_count, 3);
    const bool ecdh =
        std::find(c.uftp_options.begin(), c.uftp_options.end(), "-e") != c.uftp_options.end();
    EXPECT_EQ(r.verified_announce_signatures, ecdh ? 1 : 0);
    std::filesystem::remove_all(dir);
}

} // namespace

TEST(stock_uftp_server, rsa512_pkcs1_aes256_gcm_sha256) {
    run_case({"rsa512", {"-Y", "aes256-gcm", "-h", "sha256"}, fixtures::rsa_512_pem, ""});
}

TEST(stock_uftp_server, rsa1024_oaep_aes128_cbc_hmac_sha1_client_auth) {
    run_case({"rsa1024",
              {"-Y", "aes128-cbc", "-h", "sha1", "-c"},
              fixtures::rsa_512_pem,
              fixtures::rsa_1024_pem});
}

TEST(stock_uftp_server, rsa_3des_hmac_sha512) {
    run_case({"3des", {"-Y", "3des", "-h", "sha512"}, fixtures::rsa_512_pem, ""});
}

TEST(stock_uftp_server, ecdh_ecdsa_p256_aes128_ccm_sha384_client_auth) {
    run_case({"ecdsa-ccm",
              {"-e", "ecdh_ecdsa", "-Y", "aes128-ccm", "-h", "sha384", "-c"},
              fixtures::ec_prime256v1_pem,
              fixtures::ec_prime256v1_pem});
}

TEST(stock_uftp_server, ecdh_rsa_aes256_cbc_keyex_rsa_signatures) {
    run_case({"ecdh-rsa-keyex",
              {"-e", "ecdh_rsa", "-Y", "aes256-cbc", "-h", "sha256", "-w", "keyex"},
              fixtures::rsa_512_pem,
              fixtures::rsa_1024_pem});
}

TEST(stock_uftp_server, ecdh_ecdsa_p384_aes256_cbc_keyex_ecdsa_signatures) {
    run_case({"ecdsa-keyex",
              {"-e", "ecdh_ecdsa:secp384r1", "-Y", "aes256-cbc", "-h", "sha384", "-w", "keyex"},
              fixtures::ec_secp384r1_pem,
              fixtures::ec_secp384r1_pem});
}

TEST(stock_uftp_server, ecdh_ecdsa_aes256_ccm_sha512) {
    run_case({"ecdsa-ccm256",
              {"-e", "ecdh_ecdsa", "-Y", "aes256-ccm", "-h", "sha512"},
              fixtures::ec_prime256v1_pem,
              fixtures::ec_prime256v1_pem});
}
